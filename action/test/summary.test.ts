import { analyzedRollback, DEPLOYMENT_ID, deploymentDetail, sample } from "@seqpulse/client/testing";
import { describe, expect, it } from "vitest";
import { formatValue, median, renderSummary } from "../src/summary.js";

describe("job summary", () => {
  it("shows the deployment, the verdict, a metrics table of medians with the rule that fired, and charts", () => {
    const markdown = renderSummary({
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: analyzedRollback(),
      known: {},
    });
    const lines = markdown.split("\n");
    expect(lines[0]).toBe("## SeqPulse · deployment #12 · 🛑 rollback recommended");
    expect(lines).toContain(
      `| Deployment | [#12](https://seqpulse.example.com/deployments/${DEPLOYMENT_ID}) |`,
    );
    expect(lines).toContain("| Environment | `production` |");
    expect(lines).toContain("| Branch | `main` |");
    expect(lines).toContain("| Commit | `0123456789ab` |");
    expect(lines).toContain("| Verdict | 🛑 **rollback_recommended** (confidence 90 %) |");
    expect(lines).toContain("> error_rate rose to 20 % (limit 1 %)");
    expect(lines).toContain("Median of the samples in each phase (3 baseline, 3 post).");
    expect(lines).toContain("| Latency p95 | 120 ms | 220 ms | +83 % | — |");
    expect(lines).toContain(
      "| Error rate | 0.10 % | 20.00 % | +19900 % | 🛑 absolute limit: error_rate 20 % is above the limit 0.9 % in 100 % of post samples |",
    );
    expect(lines).toContain("| Requests/s | 50.0 req/s | 50.0 req/s | 0 % | — |");

    // A chart of the metric whose rule fired, with its threshold as a flat line.
    const charts = markdown.split("```mermaid").slice(1);
    expect(charts).toHaveLength(1);
    expect(charts[0]).toContain('title "Error rate (%), flat line = threshold 0.90 %"');
    expect(charts[0]).toContain("x-axis [B1, B2, B3, P1, P2, P3]");
    expect(charts[0]).toContain("line [0.1, 0.1, 0.1, 20, 25, 15]");
    expect(charts[0]).toContain("line [0.9, 0.9, 0.9, 0.9, 0.9, 0.9]");

    // Without findings, latency is charted.
    const quiet = renderSummary({
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: { ...analyzedRollback(), verdict: null, state: "finished" },
      known: {},
    });
    expect(quiet.split("```mermaid")).toHaveLength(2);
    expect(quiet).toContain('title "Latency p95 (ms)"');
    expect(quiet).toContain("line [110, 130, 120, 200, 220, 240]");
  });

  it("shows what the main step knew when the deployment could not be read", () => {
    const markdown = renderSummary({
      apiUrl: "https://seqpulse.example.com/",
      deploymentId: DEPLOYMENT_ID,
      deployment: undefined,
      known: { number: "7", env: "staging", branch: "feat|x", commitSha: "abc1234" },
      pipelineResult: "failed",
      note: "⚠️ SeqPulse could not be reached.",
    });
    expect(markdown).toContain("## SeqPulse · deployment #7 · status unknown");
    expect(markdown).toContain(`[#7](https://seqpulse.example.com/deployments/${DEPLOYMENT_ID})`);
    expect(markdown).toContain("| Branch | `feat\\|x` |");
    expect(markdown).toContain("| Pipeline result | failed |");
    expect(markdown).toContain("| Verdict | none yet |");
    expect(markdown).toContain("⚠️ SeqPulse could not be reached.");
    expect(markdown).not.toContain("mermaid");
  });

  it("says the analysis is pending for a finished deployment, and keeps text inside table cells", () => {
    const markdown = renderSummary({
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: deploymentDetail({
        state_reason: "a|b\nc",
        samples: [sample("baseline", 1)],
      }),
      known: {},
    });
    expect(markdown).toContain("· ⏳ analysis pending");
    expect(markdown).toContain("| State | finished (a\\|b c) |");
    // One sample is no chart.
    expect(markdown).not.toContain("mermaid");
    expect(markdown).toContain("| Latency p95 | 120 ms | — | — | — |");
  });

  it("takes the median of an even count as the mean of the middle two", () => {
    expect(median([])).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(formatValue("latency_p95", 4.25)).toBe("4.3 ms");
    expect(formatValue("cpu_usage", 0.456)).toBe("45.6 %");
  });
});
