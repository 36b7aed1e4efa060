import type {
  BaselineObservation,
  Deployment,
  DeploymentDecision,
  DeploymentDetail,
  ObservationSource,
  SampleMetrics,
  TriggerResponse,
} from "@seqpulse/types";
import { and, asc, eq, ne } from "drizzle-orm";
import type { Database } from "../db/client.js";
import {
  type CollectionFailureRow,
  collectionFailures,
  type DeploymentDecisionRow,
  type DeploymentRow,
  deployments,
  lastKnownGood,
  type MetricSampleRow,
  metricSamples,
  projects,
  type VerdictRow,
} from "../db/schema/index.js";
import type { Observation } from "../verdict/engine.js";

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
  /** Baseline samples and the history buckets before the trigger. */
  baseline: MetricSampleRow[];
  post: MetricSampleRow[];
  failures: CollectionFailureRow[];
  /** When the baseline is empty: the post samples of the environment's last `ok` deployment. */
  lastKnownGood: MetricSampleRow[];
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
  const baseline = samples.filter((sample) => sample.phase === "baseline");
  return {
    baseline,
    post: samples.filter((sample) => sample.phase === "post"),
    failures,
    lastKnownGood: baseline.length === 0 ? await loadLastKnownGood(db, deploymentId) : [],
  };
}

/** The post samples of the last `ok` deployment in the same project and environment (not this one). */
async function loadLastKnownGood(db: Reader, deploymentId: string): Promise<MetricSampleRow[]> {
  const rows = await db
    .select({ sample: metricSamples })
    .from(deployments)
    .innerJoin(
      lastKnownGood,
      and(eq(lastKnownGood.projectId, deployments.projectId), eq(lastKnownGood.env, deployments.env)),
    )
    .innerJoin(
      metricSamples,
      and(eq(metricSamples.deploymentId, lastKnownGood.deploymentId), eq(metricSamples.phase, "post")),
    )
    .where(and(eq(deployments.id, deploymentId), ne(lastKnownGood.deploymentId, deploymentId)))
    .orderBy(asc(metricSamples.collectedAt));
  return rows.map((row) => row.sample);
}

/** The five metrics (null when not measured) and the custom ones of a stored sample. */
export function toSampleMetrics(sample: MetricSampleRow): SampleMetrics {
  return {
    ...sample.customMetrics,
    requests_per_sec: sample.requestsPerSec,
    latency_p95: sample.latencyP95,
    error_rate: sample.errorRate,
    cpu_usage: sample.cpuUsage,
    memory_usage: sample.memoryUsage,
  };
}

/**
 * A stored sample as the verdict engine reads it: the span its counts cover (a point sample
 * without counts covers the interval before it) and its metrics.
 */
export function toObservation(
  sample: MetricSampleRow,
  source: ObservationSource,
  intervalSeconds: number,
): Observation {
  const end = sample.collectedAt.getTime();
  return {
    start: sample.periodStart?.getTime() ?? end - intervalSeconds * 1000,
    end,
    source,
    requests: sample.requests,
    errors: sample.errors,
    metrics: toSampleMetrics(sample),
  };
}

/** Every observation the verdict compares the post samples with, in the API's shape. */
function baselineObservations(evidence: Evidence, intervalSeconds: number): BaselineObservation[] {
  const observations = [
    ...evidence.baseline.map((sample) => toObservation(sample, sample.source, intervalSeconds)),
    ...evidence.lastKnownGood.map((sample) => toObservation(sample, "last_known_good", intervalSeconds)),
  ];
  return observations.map((observation) => ({
    source: observation.source,
    start: new Date(observation.start).toISOString(),
    end: new Date(observation.end).toISOString(),
    requests: observation.requests,
    errors: observation.errors,
    metrics: observation.metrics as SampleMetrics,
  }));
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
    samples: [...evidence.baseline, ...evidence.post]
      .filter((sample) => sample.source === "sample")
      .map((sample) => ({
        phase: sample.phase,
        sequence: sample.sequence,
        collected_at: sample.collectedAt.toISOString(),
        fetched_at: sample.fetchedAt.toISOString(),
        period_start: sample.periodStart?.toISOString() ?? null,
        requests: sample.requests,
        errors: sample.errors,
        metrics: toSampleMetrics(sample),
      })),
    // A point sample without counts is shown as the point it is (start = end).
    baseline_observations: baselineObservations(evidence, 0),
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
