import { and, eq, lt, sql } from "drizzle-orm";
import type { Database, SqlExecutor } from "../db/client.js";
import { type DeploymentRow, deployments, projects } from "../db/schema/index.js";
import { ANALYSIS_GRACE_SECONDS, type JobQueue } from "../jobs/queue.js";
import { recordEvent } from "../notifications/outbox.js";

/** Deployments handled per sweep, so one sweep stays short whatever piled up. */
const SWEEP_BATCH = 100;
/** Past its analysis deadline by this much, a deployment's queued jobs are presumed lost. */
const OVERDUE_MARGIN_SECONDS = 300;

/**
 * Moves running deployments older than the timeout to `abandoned`, so they stop blocking their
 * environment. Scoped to one environment or deployment when found on a request; global for the sweep.
 */
export async function abandonStaleRunning({
  db,
  runningTimeoutSeconds,
  projectId,
  env,
  deploymentId,
}: {
  db: Pick<Database, "transaction">;
  runningTimeoutSeconds: number;
  projectId?: string;
  env?: string;
  deploymentId?: string;
}): Promise<DeploymentRow[]> {
  // The deployment.abandoned notifications commit with the state change.
  return db.transaction(async (tx) => {
    const abandoned = await tx
      .update(deployments)
      .set({ state: "abandoned", abandonedAt: sql`now()`, stateReason: "running_timeout" })
      .where(
        and(
          eq(deployments.state, "running"),
          lt(deployments.startedAt, sql`now() - make_interval(secs => ${runningTimeoutSeconds})`),
          projectId === undefined ? undefined : eq(deployments.projectId, projectId),
          env === undefined ? undefined : eq(deployments.env, env),
          deploymentId === undefined ? undefined : eq(deployments.id, deploymentId),
        ),
      )
      .returning();
    for (const row of abandoned)
      await recordEvent(tx, { event: "deployment.abandoned", deploymentId: row.id });
    return abandoned;
  });
}

/**
 * The safety net under the queue, read from SeqPulse's own tables: a finished deployment still
 * without a verdict well past its analysis deadline (its jobs ran out of retries during an outage)
 * gets a fresh deadline analysis. At most SWEEP_BATCH per call; returns their ids.
 */
export async function requeueOverdueAnalyses({
  db,
  executor,
  queue,
}: {
  db: Database;
  executor: SqlExecutor;
  queue: JobQueue;
}): Promise<string[]> {
  const overdue = await db
    .select({ id: deployments.id })
    .from(deployments)
    .innerJoin(projects, eq(projects.id, deployments.projectId))
    .where(
      and(
        eq(deployments.state, "finished"),
        lt(
          deployments.finishedAt,
          sql`now() - make_interval(secs => ${projects.warmupSeconds} + ${projects.observationWindowSeconds}
                + ${ANALYSIS_GRACE_SECONDS + OVERDUE_MARGIN_SECONDS})`,
        ),
      ),
    )
    .limit(SWEEP_BATCH);
  for (const { id } of overdue) await queue.enqueueAnalysis(executor, id, { deadline: true, once: false });
  return overdue.map(({ id }) => id);
}
