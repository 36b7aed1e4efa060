import { type VerdictReason, WEBHOOK_SCHEMA_VERSION, type WebhookPayload } from "@seqpulse/types";
import { describe, expect, it } from "vitest";
import { MAX_RETRY_DELAY_MS, retryDelayMs } from "../../server/src/notifications/deliver.js";
import { topReasons } from "../../server/src/notifications/payload.js";
import { parseRetryAfter } from "../../server/src/notifications/send.js";
import { signatureHeaders } from "../../server/src/notifications/signing.js";
import { slackMessage } from "../../server/src/notifications/slack.js";
import { BlockKitMessage, signatureProblem } from "./receiver.js";

const payload = (overrides: Partial<WebhookPayload> = {}): WebhookPayload => ({
  schema_version: WEBHOOK_SCHEMA_VERSION,
  event: "verdict",
  delivery_id: "5f0b8a3e-2c1d-4e5f-8a9b-0c1d2e3f4a5b",
  occurred_at: "2026-12-01T10:00:00.000Z",
  message: "Rollback recommended: shop production #7 (3f2a9c1)",
  project: { id: "0b8a3e5f-2c1d-4e5f-8a9b-0c1d2e3f4a5b", name: "shop" },
  deployment: {
    id: "8a3e5f0b-2c1d-4e5f-8a9b-0c1d2e3f4a5b",
    number: 7,
    env: "production",
    state: "analyzed",
    state_reason: null,
    pipeline_result: "success",
    branch: "main",
    commit_sha: "3f2a9c1d",
    repository: "acme/shop",
    run_url: null,
    started_at: "2026-12-01T09:50:00.000Z",
    finished_at: "2026-12-01T09:55:00.000Z",
    url: "https://seqpulse.example.test/deployments/8a3e5f0b-2c1d-4e5f-8a9b-0c1d2e3f4a5b",
  },
  verdict: {
    verdict: "rollback_recommended",
    confidence: 0.92,
    summary: "error_rate <!channel> & friends > limit",
    dry_run: false,
    top_reasons: [
      { metric: "latency_p95", rule: "regression", severity: "warning", message: "latency up" },
      { metric: "error_rate", rule: "regression", severity: "critical", message: "errors <@U123> up" },
    ],
  },
  decision: null,
  ...overrides,
});

describe("Slack messages", () => {
  it("escapes Slack's control characters, so a summary cannot mention @channel or forge a link", () => {
    const text = JSON.stringify(slackMessage(payload()).blocks);
    expect(text).toContain("error_rate &lt;!channel&gt; &amp; friends &gt; limit");
    expect(text).toContain("errors &lt;@U123&gt; up");
    expect(text).not.toContain("<!channel>");
  });

  it("stays within Block Kit's limits however long the texts are", () => {
    const long = "x".repeat(5000);
    const message = slackMessage(
      payload({
        message: long,
        project: { id: "0b8a3e5f-2c1d-4e5f-8a9b-0c1d2e3f4a5b", name: "p".repeat(200) },
        verdict: { ...(payload().verdict as NonNullable<WebhookPayload["verdict"]>), summary: long },
      }),
    );
    expect(BlockKitMessage.safeParse(message).error?.issues).toBeUndefined();
    expect(message.blocks[0]).toMatchObject({ type: "header" });
  });

  it("marks a rollback's button as dangerous, and has no button without a public URL", () => {
    const withUrl = slackMessage(payload()).blocks.find((block) => block.type === "actions");
    expect(withUrl).toMatchObject({ elements: [{ style: "danger" }] });
    const deployment = payload().deployment as NonNullable<WebhookPayload["deployment"]>;
    const withoutUrl = slackMessage(payload({ deployment: { ...deployment, url: null } }));
    expect(withoutUrl.blocks.some((block) => block.type === "actions")).toBe(false);
    expect(BlockKitMessage.safeParse(withoutUrl).success).toBe(true);
  });

  it("keeps the webhook's top reasons critical first, then in the engine's order, at most five", () => {
    const reason = (message: string, severity: "warning" | "critical"): VerdictReason => ({
      metric: null,
      rule: "regression",
      baseline: null,
      observed: null,
      threshold: null,
      exceed_ratio: null,
      tolerance: null,
      severity,
      message,
    });
    const reasons = ["w1", "c1", "w2", "c2", "w3", "w4"].map((name) =>
      reason(name, name.startsWith("c") ? "critical" : "warning"),
    );
    expect(topReasons(reasons).map((r) => r.message)).toEqual(["c1", "c2", "w1", "w2", "w3"]);
  });
});

describe("signatures and retry timing", () => {
  it("signs timestamp.body so that the README's check accepts it, and refuses it for another body or secret", () => {
    const body = JSON.stringify(payload());
    const headers = Object.fromEntries(
      Object.entries(signatureHeaders("whsec_test", body, new Date())).map(([name, value]) => [
        name.toLowerCase(),
        value,
      ]),
    );
    expect(signatureProblem(headers, body, "whsec_test")).toBeNull();
    expect(signatureProblem(headers, body, "whsec_other")).toBe("bad signature");
    expect(signatureProblem(headers, body.replace("shop", "shap"), "whsec_test")).toBe("bad signature");
    const old = Object.fromEntries(
      Object.entries(signatureHeaders("whsec_test", body, new Date(Date.now() - 600_000))).map(([n, v]) => [
        n.toLowerCase(),
        v,
      ]),
    );
    expect(signatureProblem(old, body, "whsec_test")).toBe("timestamp too old");
  });

  it("doubles the retry delay per attempt up to an hour, with at most 20 % jitter", () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 1000, () => 0))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect(retryDelayMs(3, 1000, () => 1)).toBe(4800);
    expect(retryDelayMs(40, 10_000, () => 0)).toBe(MAX_RETRY_DELAY_MS);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-12-01T10:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Tue, 01 Dec 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
