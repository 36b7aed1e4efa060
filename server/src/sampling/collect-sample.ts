import { type DeploymentState, type FailureKind, metricNames } from "@seqpulse/types";
import { and, desc, eq, isNotNull, lt, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.js";
import { collectionFailures, deployments, metricSamples } from "../db/schema/index.js";
import { loadTarget, type Target } from "../deployments/store.js";
import { baselineSlotTime, observationPlan, postSlotTime, type SampleSlot } from "../deployments/window.js";
import type { Logger } from "../logger.js";
import { fetchMetrics } from "./fetch-metrics.js";
import type { SourceFailure } from "./guarded-get.js";
import { type PrometheusObservation, queryPrometheusBaseline, queryPrometheusSample } from "./prometheus.js";

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
  | {
      status: "settled";
      /** The deployment and its project as read before the fetch. */
      target: Target;
      /** The deployment's state when the outcome was written (or found written). */
      state: DeploymentState | undefined;
      /** The next baseline slot, when the baseline is sampled repeatedly and the deploy still runs. */
      nextBaseline: { sequence: number; at: Date } | null;
      /** What this call wrote: a sample (and how late it was fetched) or a failure; null if already settled. */
      written: { outcome: "collected"; latenessMs: number } | { outcome: FailureKind } | null;
    };

/** A closed interval the application (or Prometheus) reported, with its counts. */
export interface HistoryObservation {
  start: Date;
  end: Date;
  requests: number | null;
  errors: number | null;
  metrics: Record<string, number | null>;
}

/** What one read of the metrics source gave for a slot. */
export interface SlotReading {
  metrics: Record<string, number | null>;
  /** Cumulative counters as read from the endpoint (its per-slot counts are their increase). */
  counters?: { requests_total: number; errors_total: number };
  /** Counts over the slot's interval, when the source gives them directly (Prometheus). */
  counts?: { requests: number | null; errors: number | null; periodStart: Date };
  /** Closed buckets before the trigger, for the baseline; read at the trigger slot only. */
  history: HistoryObservation[];
}

type ReadOutcome = { ok: true; reading: SlotReading } | SourceFailure;

const BASELINE_RETRY_SECONDS = 30;
const MAX_POST_RETRY_SECONDS = 45;

const FINISHED_BEFORE_BASELINE: SourceFailure = {
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
export async function collectSample(deps: CollectDeps, job: SampleSlot): Promise<CollectResult> {
  const { db } = deps;
  const target = await loadTarget(db, job.deploymentId);
  if (!target) return { status: "skipped", why: "deployment not found" };
  const { state } = target.deployment;

  if (state !== slotState(job)) {
    // Only the trigger's baseline slot is owed an outcome; later baseline samples end with the deploy.
    if (job.phase === "post" || job.sequence > 0 || (state !== "finished" && state !== "analyzed"))
      return { status: "skipped", why: `deployment is ${state}` };
    const { state: written, wrote } = await recordOutcome(
      db,
      job,
      target,
      target.deployment.startedAt,
      FINISHED_BEFORE_BASELINE,
    );
    return { status: "settled", target, state: written, nextBaseline: null, written: wrote };
  }
  const slotTime =
    job.phase === "baseline"
      ? baselineSlotTime(target, job.sequence)
      : postSlotTime(observationPlan(target), job.sequence);
  const outcome = await readWithRetries(deps, job, target, slotTime);
  if (!outcome.ok)
    deps.logger.warn("metrics sample failed", { ...job, kind: outcome.kind, reason: outcome.reason });
  const { state: written, wrote } = await recordOutcome(db, job, target, slotTime, outcome);
  return {
    status: "settled",
    target,
    state: written,
    nextBaseline: await nextBaselineSlot(db, job, target, written),
    written: wrote,
  };
}

/** Baseline slots belong to a running deployment, post slots to a finished one. */
function slotState(job: SampleSlot) {
  return job.phase === "baseline" ? "running" : "finished";
}

/**
 * Without history, the baseline is sampled again every baseline interval while the deploy runs,
 * up to the project's number of baseline samples.
 */
async function nextBaselineSlot(
  db: Database,
  job: SampleSlot,
  target: Target,
  state: DeploymentState | undefined,
): Promise<{ sequence: number; at: Date } | null> {
  if (job.phase !== "baseline" || state !== "running") return null;
  const next = job.sequence + 1;
  if (next >= target.project.baselineSamples) return null;
  const [history] = await db
    .select({ id: metricSamples.id })
    .from(metricSamples)
    .where(
      and(
        eq(metricSamples.deploymentId, job.deploymentId),
        eq(metricSamples.phase, "baseline"),
        eq(metricSamples.source, "history"),
      ),
    )
    .limit(1);
  return history ? null : { sequence: next, at: baselineSlotTime(target, next) };
}

async function readWithRetries(
  deps: CollectDeps,
  job: SampleSlot,
  target: Target,
  slotTime: Date,
): Promise<ReadOutcome> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const retryUntil =
    job.phase === "baseline" && job.sequence === 0
      ? now().getTime() + BASELINE_RETRY_SECONDS * 1000
      : slotTime.getTime() +
        Math.min(MAX_POST_RETRY_SECONDS, Math.max(2, target.project.sampleIntervalSeconds)) * 1000;

  for (let attempt = 1; ; attempt++) {
    const outcome = await readSource(deps, job, target, slotTime, now);
    if (outcome.ok || outcome.kind !== "transient") return outcome;
    const delay = Math.random() * Math.min(8000, 500 * 2 ** attempt);
    if (now().getTime() + delay > retryUntil) {
      return { ...outcome, reason: `${outcome.reason} (gave up after ${attempt} attempts)` };
    }
    deps.logger.debug("metrics source failed, retrying", { ...job, reason: outcome.reason, attempt });
    await sleep(delay);
    if (
      job.phase === "baseline" &&
      (await loadTarget(deps.db, job.deploymentId))?.deployment.state !== "running"
    ) {
      return { ...outcome, reason: `${outcome.reason} (the deploy finished while retrying)` };
    }
  }
}

/** One read of the project's metrics source: Prometheus when configured, else the JSON endpoint. */
async function readSource(
  deps: CollectDeps,
  job: SampleSlot,
  target: Target,
  slotTime: Date,
  now: () => Date,
): Promise<ReadOutcome> {
  const { project, deployment } = target;
  const atTrigger = job.phase === "baseline" && job.sequence === 0;
  if (project.metricsSource?.type === "prometheus") {
    const options = {
      source: project.metricsSource,
      deployment: { env: deployment.env, commitSha: deployment.commitSha, branch: deployment.branch },
      timeoutMs: deps.collector.timeoutMs,
      maxBodyBytes: deps.collector.maxBodyBytes,
      allowPrivate: deps.collector.allowPrivateEndpoints,
      userAgent: deps.collector.userAgent,
    };
    const sample = await queryPrometheusSample(options, {
      time: slotTime,
      intervalSeconds: project.sampleIntervalSeconds,
    });
    if (!sample.ok) return sample;
    let history: HistoryObservation[] = [];
    if (atTrigger && project.baselineLookbackSeconds >= project.sampleIntervalSeconds) {
      const range = await queryPrometheusBaseline(options, {
        end: deployment.startedAt,
        lookbackSeconds: project.baselineLookbackSeconds,
        stepSeconds: project.sampleIntervalSeconds,
      });
      if (range.ok) history = range.observations;
      else deps.logger.warn("Prometheus baseline range failed", { ...job, reason: range.reason });
    }
    return { ok: true, reading: fromPrometheus(sample.observation, history) };
  }
  const outcome = await fetchMetrics({
    url: deployment.metricsEndpoint,
    timeoutMs: deps.collector.timeoutMs,
    maxBodyBytes: deps.collector.maxBodyBytes,
    allowPrivate: deps.collector.allowPrivateEndpoints,
    userAgent: deps.collector.userAgent,
    ...(project.hmacEnabled ? { hmac: { secret: project.hmacSecret, projectId: project.id } } : {}),
    now,
  });
  if (!outcome.ok) return outcome;
  const { metrics, counters, history } = outcome.reading;
  return {
    ok: true,
    reading: {
      metrics,
      ...(counters ? { counters } : {}),
      history: atTrigger
        ? history.map((bucket) => ({
            start: new Date(bucket.start),
            end: new Date(bucket.end),
            requests: bucket.requests,
            errors: bucket.errors,
            metrics: bucket.metrics ?? {},
          }))
        : [],
    },
  };
}

function fromPrometheus(observation: PrometheusObservation, history: PrometheusObservation[]): SlotReading {
  return {
    metrics: observation.metrics,
    counts: { requests: observation.requests, errors: observation.errors, periodStart: observation.start },
    history,
  };
}

/**
 * Writes the slot's one outcome. The row lock orders it against finish and against the analysis
 * (which locks the row too), so a baseline never lands after finish and a post sample never lands
 * after the verdict.
 */
async function recordOutcome(
  db: Database,
  job: SampleSlot,
  target: Target,
  slotTime: Date,
  outcome: ReadOutcome,
): Promise<{
  state: DeploymentState | undefined;
  wrote: Extract<CollectResult, { status: "settled" }>["written"];
}> {
  const fetchedAt = new Date();
  return db.transaction(async (tx) => {
    const unchanged = (state: DeploymentState | undefined) => ({ state, wrote: null });
    const [locked] = await tx
      .select({ state: deployments.state })
      .from(deployments)
      .where(eq(deployments.id, job.deploymentId))
      .for("no key update");
    if (!locked) return unchanged(undefined);
    let write = outcome;
    if (locked.state !== slotState(job)) {
      // As before the fetch: only a finished deploy owes its trigger slot an outcome, not a cancelled one.
      if (
        job.phase === "post" ||
        job.sequence > 0 ||
        (locked.state !== "finished" && locked.state !== "analyzed")
      )
        return unchanged(locked.state);
      // The finish committed during the fetch: the values may already show the new version.
      if (write.ok) write = FINISHED_BEFORE_BASELINE;
    }
    if (await slotSettled(tx, job)) return unchanged(locked.state);
    if (!write.ok) {
      await tx.insert(collectionFailures).values({
        deploymentId: job.deploymentId,
        phase: job.phase,
        sequence: job.sequence,
        kind: write.kind,
        reason: write.reason,
        httpStatus: write.httpStatus,
      });
      return { state: locked.state, wrote: { outcome: write.kind } };
    }
    const { reading } = write;
    const counts = reading.counts ?? (await countsFromCounters(tx, job.deploymentId, slotTime, reading));
    await tx.insert(metricSamples).values({
      deploymentId: job.deploymentId,
      phase: job.phase,
      sequence: job.sequence,
      source: "sample",
      collectedAt: slotTime,
      fetchedAt,
      periodStart: counts?.periodStart ?? null,
      requests: counts?.requests ?? null,
      errors: counts?.errors ?? null,
      requestsTotal: reading.counters?.requests_total ?? null,
      errorsTotal: reading.counters?.errors_total ?? null,
      ...metricColumns(reading.metrics),
    });
    const history = baselineHistory(reading.history, target);
    if (history.length > 0) {
      await tx
        .insert(metricSamples)
        .values(
          history.map((bucket, index) => ({
            deploymentId: job.deploymentId,
            phase: "baseline" as const,
            // Newest first: −1 is the bucket that ended last before the trigger.
            sequence: -(history.length - index),
            source: "history" as const,
            collectedAt: bucket.end,
            fetchedAt,
            periodStart: bucket.start,
            requests: bucket.requests,
            errors:
              bucket.errors === null || bucket.requests === null
                ? null
                : Math.min(bucket.errors, bucket.requests),
            ...metricColumns(bucket.metrics),
          })),
        )
        .onConflictDoNothing();
    }
    return {
      state: locked.state,
      wrote: { outcome: "collected", latenessMs: fetchedAt.getTime() - slotTime.getTime() },
    };
  });
}

/**
 * The buckets that are baseline evidence: closed before the trigger (a bucket ending later, on
 * a clock ahead of ours, is ignored) and within the project's lookback; oldest first.
 */
function baselineHistory(history: HistoryObservation[], target: Target): HistoryObservation[] {
  const trigger = target.deployment.startedAt.getTime();
  const earliest = trigger - target.project.baselineLookbackSeconds * 1000;
  return history
    .filter((bucket) => bucket.end.getTime() < trigger && bucket.end.getTime() > earliest)
    .sort((a, b) => a.end.getTime() - b.end.getTime());
}

/**
 * Requests and errors since the previous sample of the deployment: the increase of the
 * cumulative counters, where a decrease means the process restarted and the new value is the
 * increase (as Prometheus' increase() reads a reset).
 */
async function countsFromCounters(
  tx: Transaction,
  deploymentId: string,
  slotTime: Date,
  reading: SlotReading,
): Promise<{ requests: number; errors: number; periodStart: Date } | undefined> {
  if (!reading.counters) return undefined;
  const [previous] = await tx
    .select({
      requestsTotal: metricSamples.requestsTotal,
      errorsTotal: metricSamples.errorsTotal,
      collectedAt: metricSamples.collectedAt,
    })
    .from(metricSamples)
    .where(
      and(
        eq(metricSamples.deploymentId, deploymentId),
        isNotNull(metricSamples.requestsTotal),
        lt(metricSamples.collectedAt, slotTime),
      ),
    )
    .orderBy(desc(metricSamples.collectedAt))
    .limit(1);
  if (previous?.requestsTotal == null || previous.errorsTotal == null) return undefined;
  const { requests_total: requestsTotal, errors_total: errorsTotal } = reading.counters;
  const reset = requestsTotal < previous.requestsTotal || errorsTotal < previous.errorsTotal;
  const requests = reset ? requestsTotal : requestsTotal - previous.requestsTotal;
  const errors = reset ? errorsTotal : errorsTotal - previous.errorsTotal;
  return { requests, errors: Math.min(errors, requests), periodStart: previous.collectedAt };
}

/** The five metrics to their columns (null when not measured); the others as custom metrics. */
function metricColumns(metrics: Record<string, number | null>) {
  const custom = Object.fromEntries(
    Object.entries(metrics).filter(
      (entry): entry is [string, number] =>
        !(metricNames as readonly string[]).includes(entry[0]) && typeof entry[1] === "number",
    ),
  );
  return {
    requestsPerSec: metrics.requests_per_sec ?? null,
    latencyP95: metrics.latency_p95 ?? null,
    errorRate: metrics.error_rate ?? null,
    cpuUsage: metrics.cpu_usage ?? null,
    memoryUsage: metrics.memory_usage ?? null,
    customMetrics: Object.keys(custom).length > 0 ? custom : null,
  };
}

/** Whether the slot already has its outcome, a sample or a failure; one round trip. */
async function slotSettled(db: Pick<Database, "execute">, job: SampleSlot): Promise<boolean> {
  const { rows } = await db.execute<{ settled: boolean }>(sql`
    select exists (select 1 from ${metricSamples} where deployment_id = ${job.deploymentId}
                     and phase = ${job.phase} and sequence = ${job.sequence})
        or exists (select 1 from ${collectionFailures} where deployment_id = ${job.deploymentId}
                     and phase = ${job.phase} and sequence = ${job.sequence}) as settled`);
  return rows[0]?.settled === true;
}
