import { sql } from "drizzle-orm";
import PgBoss from "pg-boss";
import type { Database } from "../db/client.js";
import { collectionFailures, type DeploymentRow, deployments, metricSamples } from "../db/schema/index.js";
import type { DeploymentEvents } from "../http/context.js";
import { errorFields, type Logger } from "../logger.js";
import { analyzeDeployment } from "./analyze.js";
import {
  type CollectorOptions,
  collectSample,
  loadTarget,
  observationPlan,
  type SampleJob,
} from "./collect.js";
import { jobId, plannedPostSamples, postSlotTime } from "./schedule.js";

const COLLECT_QUEUE = "seqpulse.collect-sample";
const ANALYZE_QUEUE = "seqpulse.analyze";
/** Job rows live in their own schema of the same database. */
export const QUEUE_SCHEMA = "pgboss";

// A sample job retries its endpoint for at most ~45 s; past this it is presumed lost with its worker.
const JOB_EXPIRE_SECONDS = 120;
// Extra time after the last post slot before the analysis runs anyway, whatever the endpoint did.
// Longer than a job's expiry plus pg-boss's maintenance interval, so that a sample job lost with a
// crashed worker has been retried by then.
const MAINTENANCE_INTERVAL_SECONDS = 30;
const ANALYSIS_GRACE_SECONDS = JOB_EXPIRE_SECONDS + MAINTENANCE_INTERVAL_SECONDS + 30;

const deadlineJobId = (deploymentId: string) => jobId("analyze-deadline", deploymentId, "analysis");

interface AnalyzeJob {
  deploymentId: string;
  /** Set on the job that runs when the window's time is up, whatever settled. */
  deadline?: boolean;
}

export interface JobQueue {
  events: DeploymentEvents;
  startWorkers(options: WorkerOptions): Promise<void>;
  readiness(): Promise<string | undefined>;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  collector: CollectorOptions;
  concurrency: number;
  reconcileIntervalSeconds: number;
}

export async function createJobQueue({
  url,
  db,
  logger,
}: {
  url: string;
  db: Database;
  logger: Logger;
}): Promise<JobQueue> {
  const boss = new PgBoss({
    connectionString: url,
    schema: QUEUE_SCHEMA,
    max: 10,
    maintenanceIntervalSeconds: MAINTENANCE_INTERVAL_SECONDS,
    archiveCompletedAfterSeconds: 3600,
  });
  boss.on("error", (error) => logger.error("job queue error", errorFields(error)));
  await boss.start();
  for (const name of [COLLECT_QUEUE, ANALYZE_QUEUE]) {
    await boss.createQueue(name, { name, retryLimit: 5, retryDelay: 2, retryBackoff: true });
  }
  let reconcileTimer: NodeJS.Timeout | undefined;

  const sendBaseline = (deployment: Pick<DeploymentRow, "id">) =>
    boss.send(
      COLLECT_QUEUE,
      { deploymentId: deployment.id, phase: "baseline", sequence: 0 } satisfies SampleJob,
      { id: jobId("collect", deployment.id, "baseline"), expireInSeconds: JOB_EXPIRE_SECONDS },
    );

  const schedulePostWindow = async (deploymentId: string) => {
    const target = await loadTarget(db, deploymentId);
    if (!target?.deployment.finishedAt) return;
    const plan = observationPlan(target);
    const planned = plannedPostSamples(plan);
    const jobs: PgBoss.JobInsert[] = [];
    for (let sequence = 1; sequence <= planned; sequence++) {
      jobs.push({
        id: jobId("collect", deploymentId, "post", sequence),
        name: COLLECT_QUEUE,
        data: { deploymentId, phase: "post", sequence } satisfies SampleJob,
        startAfter: postSlotTime(plan, sequence),
        expireInSeconds: JOB_EXPIRE_SECONDS,
        retryLimit: 5,
      });
    }
    const lastSlot = postSlotTime(plan, planned);
    // Inserted in the same statement as the sample jobs: its presence proves the window was queued.
    jobs.push({
      id: deadlineJobId(deploymentId),
      name: ANALYZE_QUEUE,
      data: { deploymentId, deadline: true } satisfies AnalyzeJob,
      startAfter: new Date(lastSlot.getTime() + ANALYSIS_GRACE_SECONDS * 1000),
      retryLimit: 10,
    });
    await boss.insert(jobs);
  };

  const requestAnalysis = (deploymentId: string) =>
    boss.send(ANALYZE_QUEUE, { deploymentId } satisfies AnalyzeJob, {
      id: jobId("analyze", deploymentId, "analysis"),
      retryLimit: 10,
    });

  /**
   * Queues the jobs a crash lost between committing a state change and queueing its jobs: the
   * baseline job of a deployment whose baseline slot has no outcome, and the window of a finished
   * deployment that was never queued.
   */
  const reconcile = async () => {
    const { rows: candidates } = await db.execute<{
      id: string;
      state: string;
      baseline_settled: boolean;
    }>(sql`
      select d.id, d.state,
             exists (select 1 from ${metricSamples} s where s.deployment_id = d.id and s.phase = 'baseline')
          or exists (select 1 from ${collectionFailures} f where f.deployment_id = d.id and f.phase = 'baseline')
             as baseline_settled
      from ${deployments} d
      where (d.state = 'running' and d.started_at < now() - interval '5 seconds')
         or (d.state = 'finished' and d.finished_at < now() - interval '5 seconds')`);
    const expected = candidates.flatMap((candidate) => [
      ...(candidate.baseline_settled
        ? []
        : [
            {
              id: jobId("collect", candidate.id, "baseline"),
              what: "baseline",
              deployment: candidate.id,
              queue: () => sendBaseline(candidate),
            },
          ]),
      ...(candidate.state === "finished"
        ? [
            {
              id: deadlineJobId(candidate.id),
              what: "window",
              deployment: candidate.id,
              queue: () => schedulePostWindow(candidate.id),
            },
          ]
        : []),
    ]);
    if (expected.length === 0) return;
    const idList = sql.join(
      expected.map((job) => sql`${job.id}::uuid`),
      sql`, `,
    );
    const { rows } = await db.execute<{ id: string }>(sql`
      select id::text from ${sql.raw(QUEUE_SCHEMA)}.job where id in (${idList})
      union all
      select id::text from ${sql.raw(QUEUE_SCHEMA)}.archive where id in (${idList})`);
    const queued = new Set(rows.map((row) => row.id));
    for (const job of expected.filter((job) => !queued.has(job.id))) {
      logger.warn("queueing jobs lost before they were queued", {
        deployment_id: job.deployment,
        jobs: job.what,
      });
      await job.queue();
    }
  };

  return {
    events: {
      created: async (deployment) => {
        await sendBaseline(deployment);
      },
      finished: (deployment) => schedulePostWindow(deployment.id),
    },

    async startWorkers({ collector, concurrency, reconcileIntervalSeconds }) {
      for (let index = 0; index < concurrency; index++) {
        await boss.work<SampleJob>(
          COLLECT_QUEUE,
          { pollingIntervalSeconds: 0.5, batchSize: 1 },
          async ([job]) => {
            if (!job) return;
            const result = await collectSample({ db, logger, collector }, job.data);
            if (result.status === "settled" && result.analysisDue) {
              logger.info("analysis due", { deployment_id: job.data.deploymentId, why: result.analysisDue });
              await requestAnalysis(job.data.deploymentId);
            }
          },
        );
      }
      await boss.work<AnalyzeJob>(
        ANALYZE_QUEUE,
        { pollingIntervalSeconds: 0.5, batchSize: 1 },
        async ([job]) => {
          if (!job) return;
          const outcome = await analyzeDeployment({
            db,
            deploymentId: job.data.deploymentId,
            deadline: job.data.deadline === true,
          });
          if (outcome === "analyzed")
            logger.info("deployment analyzed", { deployment_id: job.data.deploymentId });
        },
      );
      let reconciling = false;
      const runReconcile = async () => {
        if (reconciling) return;
        reconciling = true;
        await reconcile().catch((error) => logger.error("job reconciliation failed", errorFields(error)));
        reconciling = false;
      };
      await runReconcile();
      reconcileTimer = setInterval(runReconcile, reconcileIntervalSeconds * 1000);
      reconcileTimer.unref();
    },

    async readiness() {
      const { rows } = await db.execute<{ present: boolean }>(
        sql`select to_regclass(${`${QUEUE_SCHEMA}.job`}) is not null as present`,
      );
      return rows[0]?.present ? undefined : "job queue schema missing";
    },

    async stop() {
      clearInterval(reconcileTimer);
      // Well inside the 10 s that `docker stop` waits before SIGKILL.
      await boss.stop({ graceful: true, timeout: 5_000, wait: true });
    },
  };
}
