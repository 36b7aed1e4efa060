import type {
  Deployment,
  DeploymentDecision,
  DeploymentDetail,
  MetricValues,
  TriggerResponse,
} from "@seqpulse/types";
import { asc, eq } from "drizzle-orm";
import type { Database } from "../db/client.js";
import {
  type CollectionFailureRow,
  collectionFailures,
  type DeploymentDecisionRow,
  type DeploymentRow,
  deployments,
  type MetricSampleRow,
  metricSamples,
  projects,
  type VerdictRow,
} from "../db/schema/index.js";

type Reader = Pick<Database, "select">;

/** The deployment with its project; `lockForUpdate` also locks the deployment row until the transaction ends. */
export async function loadTarget(db: Reader, deploymentId: string, { lockForUpdate = false } = {}) {
  const query = db
    .select({ deployment: deployments, project: projects })
    .from(deployments)
    .innerJoin(projects, eq(projects.id, deployments.projectId))
    .where(eq(deployments.id, deploymentId));
  const [row] = lockForUpdate ? await query.for("update", { of: deployments }) : await query;
  return row;
}

export type Target = NonNullable<Awaited<ReturnType<typeof loadTarget>>>;

/** What a deployment's slots produced so far, split by phase, oldest first. */
export interface Evidence {
  baseline: MetricSampleRow[];
  post: MetricSampleRow[];
  failures: CollectionFailureRow[];
}

export async function loadEvidence(db: Reader, deploymentId: string): Promise<Evidence> {
  const [samples, failures] = await Promise.all([
    db
      .select()
      .from(metricSamples)
      .where(eq(metricSamples.deploymentId, deploymentId))
      .orderBy(asc(metricSamples.collectedAt), asc(metricSamples.sequence)),
    db
      .select()
      .from(collectionFailures)
      .where(eq(collectionFailures.deploymentId, deploymentId))
      .orderBy(asc(collectionFailures.attemptedAt)),
  ]);
  return {
    baseline: samples.filter((sample) => sample.phase === "baseline"),
    post: samples.filter((sample) => sample.phase === "post"),
    failures,
  };
}

export function toMetricValues(sample: MetricSampleRow): MetricValues {
  return {
    requests_per_sec: sample.requestsPerSec,
    latency_p95: sample.latencyP95,
    error_rate: sample.errorRate,
    cpu_usage: sample.cpuUsage,
    memory_usage: sample.memoryUsage,
  };
}

/** `verdict`: the deployment's verdict row when it has one (a list shows its summary). */
export function toDeployment(row: DeploymentRow, verdict?: VerdictRow | null): Deployment {
  return {
    id: row.id,
    project_id: row.projectId,
    deployment_number: row.deploymentNumber,
    env: row.env,
    state: row.state,
    state_reason: row.stateReason,
    pipeline_result: row.pipelineResult,
    idempotency_key: row.idempotencyKey,
    branch: row.branch,
    commit_sha: row.commitSha,
    metrics_endpoint: row.metricsEndpoint,
    ci: row.ci,
    started_at: row.startedAt.toISOString(),
    finished_at: row.finishedAt?.toISOString() ?? null,
    duration_ms: row.durationMs,
    abandoned_at: row.abandonedAt?.toISOString() ?? null,
    analyzed_at: row.analyzedAt?.toISOString() ?? null,
    cancelled_at: row.cancelledAt?.toISOString() ?? null,
    cancelled_by: row.cancelledBy,
    cancel_reason: row.cancelReason,
    verdict: verdict
      ? {
          verdict: verdict.verdict,
          confidence: verdict.confidence,
          summary: verdict.summary,
          created_at: verdict.createdAt.toISOString(),
        }
      : null,
  };
}

export function toDecision(row: DeploymentDecisionRow): DeploymentDecision {
  return {
    decision: row.decision,
    note: row.note,
    decided_by: row.decidedBy,
    decided_at: row.decidedAt.toISOString(),
  };
}

export function toDeploymentDetail(
  row: DeploymentRow,
  evidence: Evidence,
  verdict: VerdictRow | undefined,
  decision: DeploymentDecisionRow | undefined,
): DeploymentDetail {
  return {
    ...toDeployment(row),
    samples: [...evidence.baseline, ...evidence.post].map((sample) => ({
      phase: sample.phase,
      sequence: sample.sequence,
      collected_at: sample.collectedAt.toISOString(),
      fetched_at: sample.fetchedAt.toISOString(),
      metrics: toMetricValues(sample),
    })),
    collection_failures: evidence.failures.map((failure) => ({
      phase: failure.phase,
      sequence: failure.sequence,
      attempted_at: failure.attemptedAt.toISOString(),
      kind: failure.kind,
      reason: failure.reason,
      http_status: failure.httpStatus,
    })),
    verdict: verdict
      ? {
          verdict: verdict.verdict,
          confidence: verdict.confidence,
          summary: verdict.summary,
          reasons: verdict.reasons,
          data_quality: verdict.dataQuality,
          created_at: verdict.createdAt.toISOString(),
        }
      : null,
    decision: decision ? toDecision(decision) : null,
  };
}

export function toTriggerResponse(
  row: Pick<DeploymentRow, "id" | "deploymentNumber" | "env" | "state" | "startedAt" | "idempotencyKey">,
  status: TriggerResponse["status"],
  reason?: TriggerResponse["reason"],
): TriggerResponse {
  return {
    deployment_id: row.id,
    deployment_number: row.deploymentNumber,
    status,
    ...(reason ? { reason } : {}),
    env: row.env,
    state: row.state,
    started_at: row.startedAt.toISOString(),
    idempotency_key: row.idempotencyKey,
  };
}
