import type { DeploymentDetail, TriggerResponse, Verdict } from "@seqpulse/types";

export const DEPLOYMENT_ID = "7f8a3c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b";
export const PROJECT_ID = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";

export function triggerResponse(overrides: Partial<TriggerResponse> = {}): TriggerResponse {
  return {
    deployment_id: DEPLOYMENT_ID,
    deployment_number: 12,
    status: "created",
    env: "production",
    state: "running",
    started_at: "2026-01-05T10:00:00.000Z",
    idempotency_key: "123-1",
    ...overrides,
  };
}

export function deploymentDetail(overrides: Partial<DeploymentDetail> = {}): DeploymentDetail {
  return {
    id: DEPLOYMENT_ID,
    project_id: PROJECT_ID,
    deployment_number: 12,
    env: "production",
    state: "finished",
    state_reason: null,
    pipeline_result: "success",
    idempotency_key: "123-1",
    branch: "main",
    commit_sha: "0123456789abcdef0123456789abcdef01234567",
    metrics_endpoint: "https://app.example.com/metrics",
    ci: { provider: "github-actions" },
    started_at: "2026-01-05T10:00:00.000Z",
    finished_at: "2026-01-05T10:05:00.000Z",
    duration_ms: 300_000,
    abandoned_at: null,
    analyzed_at: null,
    cancelled_at: null,
    cancelled_by: null,
    cancel_reason: null,
    samples: [],
    baseline_observations: [],
    collection_failures: [],
    verdict: null,
    decision: null,
    ...overrides,
  };
}

export function rollbackVerdict(): Verdict {
  return {
    verdict: "rollback_recommended",
    confidence: 0.9,
    summary: "error_rate rose to 20 % (limit 1 %)",
    reasons: [
      {
        metric: "error_rate",
        rule: "absolute_limit",
        baseline: 0.001,
        observed: 0.2,
        threshold: 0.009,
        exceed_ratio: 1,
        tolerance: 0.05,
        severity: "critical",
        message: "error_rate 20 % is above the limit 0.9 % in 100 % of post samples",
      },
    ],
    data_quality: { score: 1, issues: [] },
    created_at: "2026-01-05T10:10:00.000Z",
  };
}

/** A sample of each phase, in the API's shape. */
export function sample(
  phase: "baseline" | "post",
  sequence: number,
  metrics: Partial<DeploymentDetail["samples"][number]["metrics"]> = {},
): DeploymentDetail["samples"][number] {
  const slotTime = new Date(
    Date.parse("2026-01-05T10:00:00Z") + (phase === "post" ? 60_000 : 0) + sequence * 1000,
  ).toISOString();
  return {
    phase,
    sequence,
    collected_at: slotTime,
    fetched_at: slotTime,
    period_start: null,
    requests: null,
    errors: null,
    metrics: {
      requests_per_sec: 50,
      latency_p95: 120,
      error_rate: 0.001,
      cpu_usage: 0.3,
      memory_usage: 0.5,
      ...metrics,
    },
  };
}

/** An analyzed deployment whose post samples show a high error rate, with a rollback verdict. */
export function analyzedRollback(): DeploymentDetail {
  return deploymentDetail({
    state: "analyzed",
    analyzed_at: "2026-01-05T10:10:00.000Z",
    samples: [
      sample("baseline", 1, { latency_p95: 110 }),
      sample("baseline", 2, { latency_p95: 130 }),
      sample("baseline", 3, { latency_p95: 120 }),
      sample("post", 1, { error_rate: 0.2, latency_p95: 200 }),
      sample("post", 2, { error_rate: 0.25, latency_p95: 220 }),
      sample("post", 3, { error_rate: 0.15, latency_p95: 240 }),
    ],
    verdict: rollbackVerdict(),
  });
}
