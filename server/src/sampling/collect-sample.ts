import type { DeploymentState } from "@seqpulse/types";
import { eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { collectionFailures, deployments, metricSamples } from "../db/schema/index.js";
import { loadTarget, type Target } from "../deployments/store.js";
import { observationPlan, postSlotTime, type SampleSlot } from "../deployments/window.js";
import type { Logger } from "../logger.js";
import { type FetchOutcome, fetchMetrics } from "./fetch-metrics.js";

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
  /** The deployment's state when the outcome was written (or found written). */
  | { status: "settled"; state: DeploymentState | undefined };

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
export async function collectSample(deps: CollectDeps, job: SampleSlot): Promise<CollectResult> {
  const { db } = deps;
  const target = await loadTarget(db, job.deploymentId);
  if (!target) return { status: "skipped", why: "deployment not found" };
  const { state } = target.deployment;

  if (state !== slotState(job)) {
    if (job.phase === "post" || state === "abandoned")
      return { status: "skipped", why: `deployment is ${state}` };
    return {
      status: "settled",
      state: await recordOutcome(db, job, target.deployment.startedAt, FINISHED_BEFORE_BASELINE, new Date()),
    };
  }
  if (!(await slotSettled(db, job))) {
    const slotTime =
      job.phase === "baseline"
        ? target.deployment.startedAt
        : postSlotTime(observationPlan(target), job.sequence);
    const outcome = await fetchWithRetries(deps, job, target, slotTime);
    if (!outcome.ok)
      deps.logger.warn("metrics sample failed", { ...job, kind: outcome.kind, reason: outcome.reason });
    return { status: "settled", state: await recordOutcome(db, job, slotTime, outcome, new Date()) };
  }
  return { status: "settled", state };
}

/** Baseline slots belong to a running deployment, post slots to a finished one. */
function slotState(job: SampleSlot) {
  return job.phase === "baseline" ? "running" : "finished";
}

async function fetchWithRetries(
  deps: CollectDeps,
  job: SampleSlot,
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
  job: SampleSlot,
  slotTime: Date,
  outcome: FetchOutcome,
  fetchedAt: Date,
): Promise<DeploymentState | undefined> {
  return db.transaction(async (tx) => {
    const [locked] = await tx
      .select({ state: deployments.state })
      .from(deployments)
      .where(eq(deployments.id, job.deploymentId))
      .for("no key update");
    if (!locked) return undefined;
    let write = outcome;
    if (locked.state !== slotState(job)) {
      if (job.phase === "post") return locked.state;
      // The finish committed during the fetch: the values may already show the new version.
      if (write.ok) write = FINISHED_BEFORE_BASELINE;
    }
    if (await slotSettled(tx, job)) return locked.state;
    if (write.ok) {
      await tx.insert(metricSamples).values({
        deploymentId: job.deploymentId,
        phase: job.phase,
        sequence: job.sequence,
        collectedAt: slotTime,
        fetchedAt,
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
    return locked.state;
  });
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
