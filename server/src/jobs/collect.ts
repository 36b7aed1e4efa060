import type { MetricValues, SamplePhase } from "@seqpulse/types";
import { and, asc, eq } from "drizzle-orm";
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

export type AnalysisTrigger = "window_complete" | "fail_fast";

export type CollectResult =
  | { status: "skipped"; why: string }
  | { status: "settled"; analysisDue: AnalysisTrigger | null };

type Failure = Extract<FetchOutcome, { ok: false }>;

const BASELINE_RETRY_SECONDS = 30;
const MAX_POST_RETRY_SECONDS = 45;

const FINISHED_BEFORE_BASELINE: Failure = {
  ok: false,
  kind: "permanent",
  reason: "the deploy finished before the baseline sample could be taken",
  httpStatus: null,
};

/**
 * Takes one scheduled sample. Idempotent: a slot gets exactly one outcome (a sample or a
 * failure), written under the deployment's row lock and only while the deployment is still in the
 * state the slot belongs to.
 */
export async function collectSample(deps: CollectDeps, job: SampleJob): Promise<CollectResult> {
  const { db } = deps;
  const target = await loadTarget(db, job.deploymentId);
  if (!target) return { status: "skipped", why: "deployment not found" };
  const { state } = target.deployment;

  if (state !== slotState(job)) {
    if (job.phase === "post" || state === "abandoned")
      return { status: "skipped", why: `deployment is ${state}` };
    await recordOutcome(db, job, target.deployment.startedAt, FINISHED_BEFORE_BASELINE);
  } else if (!(await slotSettled(db, job))) {
    const slotTime =
      job.phase === "baseline"
        ? target.deployment.startedAt
        : postSlotTime(observationPlan(target), job.sequence);
    const outcome = await fetchWithRetries(deps, job, target, slotTime);
    if (!outcome.ok)
      deps.logger.warn("metrics sample failed", { ...job, kind: outcome.kind, reason: outcome.reason });
    await recordOutcome(db, job, slotTime, outcome);
  }

  // A baseline settling after the deploy finished may be the last outcome the window waited for.
  const current = await loadTarget(db, job.deploymentId);
  return { status: "settled", analysisDue: current ? await analysisDue(db, current) : null };
}

/** Baseline slots belong to a running deployment, post slots to a finished one. */
function slotState(job: SampleJob) {
  return job.phase === "baseline" ? "running" : "finished";
}

async function fetchWithRetries(
  deps: CollectDeps,
  job: SampleJob,
  target: Target,
  slotTime: Date,
): Promise<FetchOutcome> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const retryUntil =
    job.phase === "baseline"
      ? now().getTime() + BASELINE_RETRY_SECONDS * 1000
      : slotTime.getTime() +
        Math.min(MAX_POST_RETRY_SECONDS, Math.max(2, target.project.sampleIntervalSeconds)) * 1000;

  for (let attempt = 1; ; attempt++) {
    const outcome = await fetchMetrics({
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
    if (outcome.ok || outcome.kind !== "transient") return outcome;
    const delay = Math.random() * Math.min(8000, 500 * 2 ** attempt);
    if (now().getTime() + delay > retryUntil) {
      return { ...outcome, reason: `${outcome.reason} (gave up after ${attempt} attempts)` };
    }
    deps.logger.debug("metrics endpoint failed, retrying", { ...job, reason: outcome.reason, attempt });
    await sleep(delay);
    if (
      job.phase === "baseline" &&
      (await loadTarget(deps.db, job.deploymentId))?.deployment.state !== "running"
    ) {
      return { ...outcome, reason: `${outcome.reason} (the deploy finished while retrying)` };
    }
  }
}

/**
 * Writes the slot's one outcome. The row lock orders it against finish and against the analysis
 * (which locks the row too), so a baseline never lands after finish and a post sample never lands
 * after the verdict.
 */
async function recordOutcome(
  db: Database,
  job: SampleJob,
  slotTime: Date,
  outcome: FetchOutcome,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [locked] = await tx
      .select({ state: deployments.state })
      .from(deployments)
      .where(eq(deployments.id, job.deploymentId))
      .for("no key update");
    if (!locked) return;
    let write = outcome;
    if (locked.state !== slotState(job)) {
      if (job.phase === "post") return;
      // The finish committed during the fetch: the values may already show the new version.
      if (write.ok) write = FINISHED_BEFORE_BASELINE;
    }
    if (await slotSettled(tx, job)) return;
    if (write.ok) {
      await tx.insert(metricSamples).values({
        deploymentId: job.deploymentId,
        phase: job.phase,
        sequence: job.sequence,
        collectedAt: slotTime,
        requestsPerSec: write.metrics.requests_per_sec,
        latencyP95: write.metrics.latency_p95,
        errorRate: write.metrics.error_rate,
        cpuUsage: write.metrics.cpu_usage,
        memoryUsage: write.metrics.memory_usage,
      });
    } else {
      await tx.insert(collectionFailures).values({
        deploymentId: job.deploymentId,
        phase: job.phase,
        sequence: job.sequence,
        kind: write.kind,
        reason: write.reason,
        httpStatus: write.httpStatus,
      });
    }
  });
}

type Target = NonNullable<Awaited<ReturnType<typeof loadTarget>>>;

/** The deployment with its project; `lockForUpdate` also locks the deployment row until the transaction ends. */
export async function loadTarget(
  db: Pick<Database, "select">,
  deploymentId: string,
  { lockForUpdate = false } = {},
) {
  const query = db
    .select({ deployment: deployments, project: projects })
    .from(deployments)
    .innerJoin(projects, eq(projects.id, deployments.projectId))
    .where(eq(deployments.id, deploymentId));
  const [row] = lockForUpdate ? await query.for("update", { of: deployments }) : await query;
  return row;
}

export function observationPlan(target: Pick<Target, "deployment" | "project">) {
  if (!target.deployment.finishedAt) throw new Error(`deployment ${target.deployment.id} has not finished`);
  return {
    finishedAt: target.deployment.finishedAt,
    warmupSeconds: target.project.warmupSeconds,
    sampleIntervalSeconds: target.project.sampleIntervalSeconds,
    observationWindowSeconds: target.project.observationWindowSeconds,
  };
}

async function slotSettled(db: Pick<Database, "select">, job: SampleJob): Promise<boolean> {
  const slot = (table: typeof metricSamples | typeof collectionFailures) =>
    and(
      eq(table.deploymentId, job.deploymentId),
      eq(table.phase, job.phase),
      eq(table.sequence, job.sequence),
    );
  const [sample] = await db.select({ id: metricSamples.id }).from(metricSamples).where(slot(metricSamples));
  if (sample) return true;
  const [failure] = await db
    .select({ id: collectionFailures.id })
    .from(collectionFailures)
    .where(slot(collectionFailures));
  return failure !== undefined;
}

/**
 * Whether the window is over (the baseline and every planned post slot settled) or a critical
 * metric already calls for rollback.
 */
async function analysisDue(db: Database, target: Target): Promise<AnalysisTrigger | null> {
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
