import {
  analyzedRollback,
  DEPLOYMENT_ID,
  deploymentDetail,
  rollbackVerdict,
  sample,
} from "@seqpulse/client/testing";
import type { DeploymentDetail, VerdictReason } from "@seqpulse/types";
import { describe, expect, it } from "vitest";
import { chartSamples, MAX_CHART_POINTS, MAX_SUMMARY_BYTES, renderSummary } from "../src/summary.js";

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
    expect(lines).toContain("| Deployment | #12 |");
    // People get a link to the console's page; the API's JSON address is shown as a request to make.
    expect(lines).toContain(
      `| Page | [Open in SeqPulse](<https://seqpulse.example.com/deployments/${DEPLOYMENT_ID}>) |`,
    );
    expect(lines).toContain(`| API | \`GET https://seqpulse.example.com/deployments/${DEPLOYMENT_ID}\` |`);
    expect(markdown.match(/\]\(/g)).toHaveLength(1);
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
    expect(lines).toContain("| Requests/s | 50 req/s | 50 req/s | 0 % | — |");

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

  it("links the page at the public URL when people open the console elsewhere than the API", () => {
    const markdown = renderSummary({
      apiUrl: "http://seqpulse.internal:3000",
      publicUrl: "https://deploys.example.com/seqpulse/",
      deploymentId: DEPLOYMENT_ID,
      deployment: analyzedRollback(),
      known: {},
    });
    expect(markdown).toContain(
      `| Page | [Open in SeqPulse](<https://deploys.example.com/seqpulse/deployments/${DEPLOYMENT_ID}>) |`,
    );
    expect(markdown).toContain(
      `| API | \`GET http://seqpulse.internal:3000/deployments/${DEPLOYMENT_ID}\` |`,
    );
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
    expect(markdown).toContain("| Deployment | #7 |");
    expect(markdown).toContain(`| API | \`GET https://seqpulse.example.com/deployments/${DEPLOYMENT_ID}\` |`);
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

  it("shows the id when the number is not known", () => {
    const markdown = renderSummary({
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: undefined,
      known: {},
    });
    expect(markdown).toContain(`| Deployment | \`${DEPLOYMENT_ID}\` |`);
  });

  it(`charts at most ${MAX_CHART_POINTS} points, each phase keeping its share`, () => {
    const long = {
      ...analyzedRollback(),
      samples: [
        ...Array.from({ length: 3 }, (_, index) => sample("baseline", index + 1)),
        ...Array.from({ length: 2000 }, (_, index) => sample("post", index + 1, { error_rate: 0.2 })),
      ],
    };
    const markdown = renderSummary({
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: long,
      known: {},
    });
    const axis = /x-axis \[(.*)\]/.exec(markdown)?.[1]?.split(", ") ?? [];
    expect(axis).toHaveLength(MAX_CHART_POINTS);
    // The short baseline stays whole; the post phase is thinned out evenly, its ends kept.
    expect(axis.slice(0, 4)).toEqual(["B1", "B2", "B3", "P1"]);
    expect(axis.at(-1)).toBe("P2000");
    for (const line of markdown.split("\n").filter((text) => text.startsWith("  line ["))) {
      expect(line.split(",")).toHaveLength(MAX_CHART_POINTS);
    }
    expect(markdown).toContain(
      `(B = baseline, P = post; ${MAX_CHART_POINTS} of 2003 samples, evenly spaced)`,
    );
    // The medians still use every sample.
    expect(markdown).toContain("Median of the samples in each phase (3 baseline, 2000 post).");

    const even = chartSamples([
      ...Array.from({ length: 500 }, (_, index) => sample("baseline", index + 1)),
      ...Array.from({ length: 500 }, (_, index) => sample("post", index + 1)),
    ]);
    expect(even.filter((entry) => entry.phase === "baseline")).toHaveLength(50);
    expect(even.filter((entry) => entry.phase === "post")).toHaveLength(50);
    const fewPost = chartSamples([
      ...Array.from({ length: 1000 }, (_, index) => sample("baseline", index + 1)),
      ...Array.from({ length: 4 }, (_, index) => sample("post", index + 1)),
    ]);
    expect(fewPost).toHaveLength(MAX_CHART_POINTS);
    expect(fewPost.filter((entry) => entry.phase === "post")).toHaveLength(4);
  });

  it("stays well under GitHub's 1 MiB, cutting long lists and saying so", () => {
    const reason = (metric: VerdictReason["metric"], index: number): VerdictReason => ({
      ...(rollbackVerdict().reasons[0] as VerdictReason),
      metric,
      message: `finding ${index} ${"x".repeat(5_000)}`,
    });
    const verdict = {
      ...rollbackVerdict(),
      summary: "s".repeat(100_000),
      reasons: [
        ...Array.from({ length: 300 }, (_, index) => reason("error_rate", index)),
        ...Array.from({ length: 300 }, (_, index) => reason(null, index)),
      ],
      data_quality: { score: 0.5, issues: Array.from({ length: 500 }, () => "i".repeat(10_000)) },
    };
    const huge: DeploymentDetail = {
      ...analyzedRollback(),
      state_reason: "r".repeat(100_000),
      verdict,
    };
    const markdown = renderSummary({
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: huge,
      known: {},
    });
    expect(Buffer.byteLength(markdown)).toBeLessThan(MAX_SUMMARY_BYTES);
    expect(MAX_SUMMARY_BYTES).toBeLessThanOrEqual(256 * 1024);
    expect(markdown).toContain("… and 295 more");
    expect(markdown).toContain("- … and 280 more");
    expect(markdown).toContain("; … and 490 more");
    // Each cell is cut short too.
    expect(markdown).not.toContain("x".repeat(600));
  });

  it("cuts a summary that is still too long at a table row, never inside a chart, with a note", () => {
    const input = {
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: analyzedRollback(),
      known: {},
    };
    const whole = renderSummary(input);
    const tableEnd = whole.indexOf("| Latency p95 |");
    // A budget (closing note's room included) that ends inside the metrics table.
    const cut = renderSummary({ ...input, maxBytes: Buffer.byteLength(whole.slice(0, tableEnd)) + 4096 });
    expect(Buffer.byteLength(cut)).toBeLessThan(Buffer.byteLength(whole.slice(0, tableEnd)) + 4096);
    expect(cut).toContain("| Requests/s |");
    expect(cut).not.toContain("| Latency p95 |");
    expect(cut).not.toContain("mermaid");
    expect(cut.trimEnd().split("\n").at(-1)).toBe(
      `_The summary was cut here to stay under GitHub's size limit for job summaries; \`GET https://seqpulse.example.com/deployments/${DEPLOYMENT_ID}\` (SeqPulse API, needs the API key) returns the whole deployment._`,
    );

    // A budget ending inside the chart leaves the chart out whole: no open code fence.
    const chartCut = renderSummary({ ...input, maxBytes: Buffer.byteLength(whole) + 4096 - 50 });
    expect(chartCut).toContain("| Memory |");
    expect(chartCut.split("```")).toHaveLength(1);
    expect(chartCut).toContain("The summary was cut here");
    expect(whole).not.toContain("The summary was cut here");
  });

  it("leaves samples without a value for a metric out of its median and chart", () => {
    const markdown = renderSummary({
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: deploymentDetail({
        samples: [
          sample("baseline", 1, { latency_p95: 100, cpu_usage: null }),
          sample("baseline", 2, { latency_p95: null, cpu_usage: null }),
          sample("post", 1, { latency_p95: 300, cpu_usage: null }),
          sample("post", 2, { latency_p95: 200, cpu_usage: null }),
        ],
      }),
      known: {},
    });
    expect(markdown).toContain("| Latency p95 | 100 ms | 250 ms | +150 % | — |");
    expect(markdown).toContain("| CPU | — | — | — | — |");
    expect(markdown).toContain(
      "#### Latency p95 per sample (B = baseline, P = post; 1 without a value left out)",
    );
    expect(markdown).toContain("x-axis [B1, P1, P2]");
    expect(markdown).toContain("line [100, 300, 200]");
  });

  it("shows each phase's median (the mean of the middle two for an even count) in the metric's unit", () => {
    const markdown = renderSummary({
      apiUrl: "https://seqpulse.example.com",
      deploymentId: DEPLOYMENT_ID,
      deployment: deploymentDetail({
        samples: [
          sample("baseline", 1, { latency_p95: 4, cpu_usage: 0.4, requests_per_sec: 41.25 }),
          sample("baseline", 2, { latency_p95: 4.5, cpu_usage: 0.512, requests_per_sec: 41.25 }),
          sample("post", 1, { latency_p95: 300, cpu_usage: 0.3, requests_per_sec: 12 }),
          sample("post", 2, { latency_p95: 100, cpu_usage: 0.2, requests_per_sec: 10 }),
          sample("post", 3, { latency_p95: 200, cpu_usage: 0.9, requests_per_sec: 11 }),
        ],
      }),
      known: {},
    });
    expect(markdown).toContain("| Latency p95 | 4.25 ms | 200 ms | +4606 % | — |");
    expect(markdown).toContain("| CPU | 45.6 % | 30.0 % | -34 % | — |");
    expect(markdown).toContain("| Requests/s | 41.25 req/s | 11 req/s | -73 % | — |");
  });
});
