import type { MetricValues, SamplePhase } from "@seqpulse/types";
import { asc, eq, sql } from "drizzle-orm";
import { shouldFailFast } from "../analysis/engine.js";
import { type FetchOutcome, fetchMetrics } from "../collector/fetch-metrics.js";
import type { Database } from "../db/client.js";
import { collectionFailures, deployments, metricSamples, projects } from "../db/schema/index.js";
import type { Logger } from "../logger.js";
import { plannedPostSamples, postSlotTime } from "./schedule.js";

export interface SampleJob {
  deploymentId: string;
  phase: SamplePhase;
  /** 0 for the baseline; 1..n for post samples. */
  sequence: number;
}

export interface CollectorOptions {
  allowPrivateEndpoints: boolean;
  timeoutMs: number;
  maxBodyBytes: number;
  userAgent: string;
}

export interface CollectDeps {
  db: Database;
  logger: Logger;
  collector: CollectorOptions;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export type CollectResult =
  | { status: "skipped"; why: string }
  | { status: "recorded"; sample: boolean; analysisDue: "window_complete" | "fail_fast" | null };

const BASELINE_RETRY_SECONDS = 30;
const MAX_POST_RETRY_SECONDS = 45;

/**
 * Takes one scheduled sample. Idempotent: a slot that already has a sample or a recorded
 * failure is left alone, and inserts ignore a row another worker wrote first.
 */
export async function collectSample(deps: CollectDeps, job: SampleJob): Promise<CollectResult> {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));

  const target = await loadTarget(db, job.deploymentId);
  if (!target) return { status: "skipped", why: "deployment not found" };
  if (await slotSettled(db, job))
    return { status: "recorded", sample: false, analysisDue: await analysisDue(db, target) };

  const expectedState = job.phase === "baseline" ? "running" : "finished";
  if (target.deployment.state !== expectedState) {
    if (job.phase === "post") return { status: "skipped", why: `deployment is ${target.deployment.state}` };
    await recordFailure(db, job, {
      kind: "permanent",
      reason: "the deploy finished before the baseline sample could be taken",
      httpStatus: null,
    });
    return { status: "recorded", sample: false, analysisDue: await analysisDue(db, target) };
  }

  const slotTime =
    job.phase === "baseline"
      ? target.deployment.startedAt
      : postSlotTime(observationPlan(target), job.sequence);
  const retryUntil =
    job.phase === "baseline"
      ? now().getTime() + BASELINE_RETRY_SECONDS * 1000
      : slotTime.getTime() +
        Math.min(MAX_POST_RETRY_SECONDS, Math.max(2, target.project.sampleIntervalSeconds)) * 1000;

  let outcome: FetchOutcome;
  for (let attempt = 1; ; attempt++) {
    outcome = await fetchMetrics({
      url: target.deployment.metricsEndpoint,
      timeoutMs: deps.collector.timeoutMs,
      maxBodyBytes: deps.collector.maxBodyBytes,
      allowPrivate: deps.collector.allowPrivateEndpoints,
      userAgent: deps.collector.userAgent,
      ...(target.project.hmacEnabled
        ? { hmac: { secret: target.project.hmacSecret, projectId: target.project.id } }
        : {}),
      now,
    });
    if (outcome.ok || outcome.kind !== "transient") break;
    const delay = Math.random() * Math.min(8000, 500 * 2 ** attempt);
    if (now().getTime() + delay > retryUntil) {
      outcome = { ...outcome, reason: `${outcome.reason} (gave up after ${attempt} attempts)` };
      break;
    }
    deps.logger.debug("metrics endpoint failed, retrying", { ...job, reason: outcome.reason, attempt });
    await sleep(delay);
    if (job.phase === "baseline" && (await loadTarget(db, job.deploymentId))?.deployment.state !== "running")
      break;
  }

  if (outcome.ok) {
    await db
      .insert(metricSamples)
      .values({
        deploymentId: job.deploymentId,
        phase: job.phase,
        sequence: job.sequence,
        collectedAt: slotTime,
        requestsPerSec: outcome.metrics.requests_per_sec,
        latencyP95: outcome.metrics.latency_p95,
        errorRate: outcome.metrics.error_rate,
        cpuUsage: outcome.metrics.cpu_usage,
        memoryUsage: outcome.metrics.memory_usage,
      })
      .onConflictDoNothing();
  } else {
    deps.logger.warn("metrics sample failed", { ...job, kind: outcome.kind, reason: outcome.reason });
    await recordFailure(db, job, {
      kind: outcome.kind,
      reason: outcome.reason,
      httpStatus: outcome.httpStatus,
    });
  }
  // A baseline that settles after the deploy finished may be the last outcome the window waited for.
  const current = job.phase === "baseline" ? await loadTarget(db, job.deploymentId) : target;
  return {
    status: "recorded",
    sample: outcome.ok,
    analysisDue: current ? await analysisDue(db, current) : null,
  };
}

type Target = NonNullable<Awaited<ReturnType<typeof loadTarget>>>;

async function loadTarget(db: Database, deploymentId: string) {
  const [row] = await db
    .select({ deployment: deployments, project: projects })
    .from(deployments)
    .innerJoin(projects, eq(projects.id, deployments.projectId))
    .where(eq(deployments.id, deploymentId));
  return row;
}

export function observationPlan(target: Pick<Target, "deployment" | "project">) {
  return {
    finishedAt: target.deployment.finishedAt ?? new Date(),
    warmupSeconds: target.project.warmupSeconds,
    sampleIntervalSeconds: target.project.sampleIntervalSeconds,
    observationWindowSeconds: target.project.observationWindowSeconds,
  };
}

async function slotSettled(db: Database, job: SampleJob): Promise<boolean> {
  const { rows } = await db.execute<{ settled: boolean }>(sql`
    select exists (select 1 from ${metricSamples} where deployment_id = ${job.deploymentId}
                     and phase = ${job.phase} and sequence = ${job.sequence})
        or exists (select 1 from ${collectionFailures} where deployment_id = ${job.deploymentId}
                     and phase = ${job.phase} and sequence = ${job.sequence}) as settled`);
  return Boolean(rows[0]?.settled);
}

async function recordFailure(
  db: Database,
  job: SampleJob,
  failure: { kind: "transient" | "permanent" | "invalid"; reason: string; httpStatus: number | null },
): Promise<void> {
  await db
    .insert(collectionFailures)
    .values({ deploymentId: job.deploymentId, phase: job.phase, sequence: job.sequence, ...failure })
    .onConflictDoNothing();
}

/**
 * Whether the window is over (the baseline and every planned post slot settled) or a critical
 * metric already calls for rollback.
 */
async function analysisDue(db: Database, target: Target): Promise<"window_complete" | "fail_fast" | null> {
  if (target.deployment.state !== "finished") return null;
  const samples = await db
    .select()
    .from(metricSamples)
    .where(eq(metricSamples.deploymentId, target.deployment.id))
    .orderBy(asc(metricSamples.collectedAt));
  const post = samples.filter((sample) => sample.phase === "post").map(toMetricValues);
  const baseline = samples.filter((sample) => sample.phase === "baseline").map(toMetricValues);
  if (shouldFailFast(post, baseline, target.project.analysis)) return "fail_fast";

  const failures = await db
    .select({ phase: collectionFailures.phase })
    .from(collectionFailures)
    .where(eq(collectionFailures.deploymentId, target.deployment.id));
  const baselineSettled =
    baseline.length + failures.filter((failure) => failure.phase === "baseline").length > 0;
  const postSettled = post.length + failures.filter((failure) => failure.phase === "post").length;
  return baselineSettled && postSettled >= plannedPostSamples(observationPlan(target))
    ? "window_complete"
    : null;
}

export function toMetricValues(sample: typeof metricSamples.$inferSelect): MetricValues {
  return {
    requests_per_sec: sample.requestsPerSec,
    latency_p95: sample.latencyP95,
    error_rate: sample.errorRate,
    cpu_usage: sample.cpuUsage,
    memory_usage: sample.memoryUsage,
  };
}
