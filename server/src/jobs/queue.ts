import { createHash, randomUUID } from "node:crypto";
import type { SamplePhase } from "@seqpulse/types";
import type pg from "pg";
import PgBoss from "pg-boss";
import { isDatabaseUnavailable, type SqlExecutor } from "../db/client.js";
import {
  type ObservationPlan,
  plannedPostSamples,
  postSlotTime,
  type SampleSlot,
} from "../deployments/window.js";
import { errorFields, type Logger } from "../logger.js";

/** Job rows live in their own schema of the same database. */
export const QUEUE_SCHEMA = "pgboss";
export const COLLECT_QUEUE = "seqpulse.collect-sample";
export const ANALYZE_QUEUE = "seqpulse.analyze";
export const DELIVER_QUEUE = "seqpulse.deliver-notification";
export const QUEUES = [COLLECT_QUEUE, ANALYZE_QUEUE, DELIVER_QUEUE] as const;
export type QueueName = (typeof QUEUES)[number];

export const QUEUE_DEFAULTS = { retryLimit: 5, retryDelay: 2, retryBackoff: true } as const;

// A sample job retries its endpoint for at most ~45 s; past this it is presumed lost with its worker.
const JOB_EXPIRE_SECONDS = 120;
export const MAINTENANCE_INTERVAL_SECONDS = 30;
// A job waits this long for the database to come back before it gives up its turn; well inside
// its expiry, so no other worker takes it meanwhile.
const OUTAGE_RETRY_SECONDS = 60;
/**
 * Extra time after the last post slot before the analysis runs anyway, whatever the endpoint did.
 * Longer than a job's expiry plus pg-boss's maintenance interval, so that a sample job lost with a
 * crashed worker has been retried by then.
 */
export const ANALYSIS_GRACE_SECONDS = JOB_EXPIRE_SECONDS + MAINTENANCE_INTERVAL_SECONDS + 30;

export type SampleJob = SampleSlot;

export interface AnalyzeJob {
  deploymentId: string;
  /** Set on the job that runs when the window's time is up, whatever settled. */
  deadline?: boolean;
}

/** One attempt of one notification delivery (the outbox row holds the rest). */
export interface DeliveryJob {
  deliveryId: string;
}

export interface QueuedJob<Data> {
  id: string;
  data: Data;
}

export interface WorkOptions {
  /** Jobs of this queue handled at once by this process. */
  concurrency: number;
  /** Sleep between fetches only while the queue is empty. */
  idlePollMs: number;
}

/**
 * The pg-boss queue, written through SeqPulse's own pool: a job is queued with the caller's
 * executor, so a transaction's state change and the jobs it owes commit together.
 */
export class JobQueue {
  readonly #boss: PgBoss;
  readonly #executor: SqlExecutor;
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #consumers: Array<Promise<void>> = [];
  #stopping = false;
  readonly #wakers = new Set<() => void>();
  #lastFetchErrorLog = 0;

  constructor({
    executor,
    pool,
    logger,
    retentionDays = 90,
  }: {
    executor: SqlExecutor;
    /** Where a consumer takes the connection of each fetch's own transaction. */
    pool: pg.Pool;
    logger: Logger;
    /** pg-boss deletes archived jobs after this many days, like SeqPulse's own retention. */
    retentionDays?: number;
  }) {
    this.#logger = logger;
    this.#executor = executor;
    this.#pool = pool;
    this.#boss = new PgBoss({
      db: executor,
      schema: QUEUE_SCHEMA,
      migrate: false,
      // Maintenance runs only once started, which only workers do.
      supervise: true,
      schedule: false,
      maintenanceIntervalSeconds: MAINTENANCE_INTERVAL_SECONDS,
      archiveCompletedAfterSeconds: 3600,
      deleteAfterDays: retentionDays,
    });
    this.#boss.on("error", (error) => logger.error("job queue error", errorFields(error)));
  }

  /** A baseline sample: at the trigger (sequence 0), or a later one of a repeated baseline. */
  async enqueueBaseline(
    executor: SqlExecutor,
    deploymentId: string,
    { sequence = 0, startAfter }: { sequence?: number; startAfter?: Date } = {},
  ): Promise<void> {
    await this.#boss.send(COLLECT_QUEUE, { deploymentId, phase: "baseline", sequence } satisfies SampleJob, {
      id: jobId("collect", deploymentId, "baseline", sequence),
      expireInSeconds: JOB_EXPIRE_SECONDS,
      ...(startAfter ? { startAfter } : {}),
      db: executor,
    });
  }

  /** The window's sample jobs and the analysis deadline, in one statement. */
  async enqueueWindow(executor: SqlExecutor, deploymentId: string, plan: ObservationPlan): Promise<void> {
    const planned = plannedPostSamples(plan);
    const jobs: PgBoss.JobInsert[] = [];
    for (let sequence = 1; sequence <= planned; sequence++) {
      jobs.push({
        id: jobId("collect", deploymentId, "post", sequence),
        name: COLLECT_QUEUE,
        data: { deploymentId, phase: "post", sequence } satisfies SampleJob,
        startAfter: postSlotTime(plan, sequence),
        expireInSeconds: JOB_EXPIRE_SECONDS,
        ...QUEUE_DEFAULTS,
      });
    }
    jobs.push({
      id: jobId("analyze-deadline", deploymentId, "analysis"),
      name: ANALYZE_QUEUE,
      data: { deploymentId, deadline: true } satisfies AnalyzeJob,
      startAfter: new Date(postSlotTime(plan, planned).getTime() + ANALYSIS_GRACE_SECONDS * 1000),
      retryLimit: 10,
    });
    await this.#boss.insert(jobs, { db: executor });
  }

  /**
   * Asks for the analysis. `once` gives the job a stable id, so that every sample that finds the
   * window complete queues one analysis; the overdue sweep sends fresh ones.
   */
  async enqueueAnalysis(
    executor: SqlExecutor,
    deploymentId: string,
    { deadline = false, once = true } = {},
  ): Promise<void> {
    await this.#boss.send(ANALYZE_QUEUE, { deploymentId, deadline } satisfies AnalyzeJob, {
      id: once ? jobId("analyze", deploymentId, "analysis") : randomUUID(),
      retryLimit: 10,
      db: executor,
    });
  }

  /**
   * Queues the next attempt of due deliveries. The job id is stable per delivery and attempt, so
   * a dispatcher finding the same due delivery twice queues it once.
   */
  async enqueueDeliveries(
    executor: SqlExecutor,
    deliveries: ReadonlyArray<{ id: string; attempts: number }>,
  ): Promise<void> {
    if (deliveries.length === 0) return;
    await this.#boss.insert(
      deliveries.map(({ id, attempts }) => ({
        id: jobId("deliver", id, "delivery", attempts),
        name: DELIVER_QUEUE,
        data: { deliveryId: id } satisfies DeliveryJob,
        // Above one attempt's lease: a lost job's delivery is found due again by the dispatcher.
        expireInSeconds: 60,
        retryLimit: 2,
      })),
      { db: executor },
    );
  }

  async readiness(): Promise<string | undefined> {
    const { rows } = await this.#executor.executeSql(
      `select to_regclass('${QUEUE_SCHEMA}.job') is not null as present`,
    );
    return (rows[0] as { present?: boolean } | undefined)?.present ? undefined : "job queue schema missing";
  }

  /** Starts pg-boss's maintenance (expiry, retries, archiving); the worker role runs it. */
  async startMaintenance(): Promise<void> {
    await this.#boss.start();
  }

  /**
   * Consumes a queue: fetches as many jobs as there are free slots, runs them concurrently, and
   * fetches again at once while jobs keep coming; it sleeps only when the queue is empty. Every
   * completion and failure is awaited, so a database outage fails a call here instead of the
   * process; a job whose completion was lost expires and runs again (handlers are idempotent).
   */
  work<Data>(name: QueueName, handler: (job: QueuedJob<Data>) => Promise<void>, options: WorkOptions): void {
    const inFlight = new Set<Promise<void>>();
    const run = async (job: QueuedJob<Data>) => {
      // The job stays ours (active) while the database is away: run it again once it is back,
      // well before it would expire and be handed to another worker.
      const giveUpAt = Date.now() + OUTAGE_RETRY_SECONDS * 1000;
      const untilDatabaseAnswers = async (step: () => Promise<unknown>) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await step();
          } catch (error) {
            if (!isDatabaseUnavailable(error) || Date.now() > giveUpAt || this.#stopping) throw error;
            if (attempt === 0)
              this.#logger.warn("database unavailable; the job waits for it", {
                queue: name,
                job_id: job.id,
              });
            await sleep(Math.min(5_000, 250 * 2 ** attempt));
          }
        }
      };
      try {
        await untilDatabaseAnswers(() => handler(job));
        await untilDatabaseAnswers(() => this.#boss.complete(name, job.id));
      } catch (error) {
        this.#logger.warn("job failed", { queue: name, job_id: job.id, ...errorFields(error) });
        await this.#boss
          .fail(name, job.id, { message: error instanceof Error ? error.message : String(error) })
          .catch((failError: unknown) =>
            this.#logger.warn("could not record a job failure; it will expire and run again", {
              queue: name,
              job_id: job.id,
              ...errorFields(failError),
            }),
          );
      }
    };
    const consume = async () => {
      while (!this.#stopping) {
        const free = options.concurrency - inFlight.size;
        if (free <= 0) {
          await Promise.race(inFlight);
          continue;
        }
        const jobs = await this.#fetch<Data>(name, free);
        for (const job of jobs) {
          const running = run(job).finally(() => inFlight.delete(running));
          inFlight.add(running);
        }
        if (jobs.length === 0) await this.#idle(options.idlePollMs, inFlight);
      }
      await Promise.allSettled(inFlight);
    };
    this.#consumers.push(consume());
  }

  /**
   * Fetches in a transaction that only this process commits, once it holds the answer. pg-boss
   * marks jobs active in the statement that returns them: in autocommit, a fetch whose answer was
   * lost (a frozen database resuming after the client gave up on it) left its jobs active with
   * nobody running them until they expired, minutes later. Here a lost answer is never committed:
   * the connection is discarded, PostgreSQL rolls the fetch back, and the next poll gets the jobs.
   * No jobs when the fetch fails; the jobs it returned when only the COMMIT's answer is lost.
   */
  async #fetch<Data>(name: QueueName, batchSize: number): Promise<Array<QueuedJob<Data>>> {
    const client = await this.#pool.connect().catch(() => undefined);
    if (!client) return [];
    let failure: Error | undefined;
    try {
      await client.query("begin");
      const jobs = await this.#boss.fetch<Data>(name, {
        batchSize,
        db: {
          // pg-boss swallows a failed fetch and returns no jobs: keep its error to discard the connection.
          executeSql: (text, values) =>
            client.query(text, values).catch((error: Error) => {
              failure = error;
              throw error;
            }),
        },
      });
      if (failure) return [];
      await client.query("commit").catch((error: Error) => {
        // The COMMIT may have reached PostgreSQL (a freeze between its answers): run the jobs
        // anyway. If it rolled back, they are fetched again and run twice, which their handlers
        // allow; if it committed, they are not left claimed by nobody.
        failure = error;
      });
      return jobs ?? [];
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      return [];
    } finally {
      client.release(failure);
      if (failure && !isDatabaseUnavailable(failure)) this.#logFetchError(name, failure);
    }
  }

  /** A fetch that fails for another reason than an outage (a missing schema, say), once a minute at most. */
  #logFetchError(queue: QueueName, error: Error): void {
    if (Date.now() - this.#lastFetchErrorLog < 60_000) return;
    this.#lastFetchErrorLog = Date.now();
    this.#logger.warn("job fetch failed; polling on", { queue, ...errorFields(error) });
  }

  /** Sleeps until the poll interval passes, a running job ends, or the queue stops. */
  #idle(ms: number, inFlight: Set<Promise<void>>): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
      if (inFlight.size > 0) Promise.race(inFlight).then(done, done);
    });
  }

  async stop({ timeoutMs = 5_000 } = {}): Promise<void> {
    this.#stopping = true;
    for (const wake of [...this.#wakers]) wake();
    const drained = Promise.allSettled(this.#consumers);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([drained, deadline]);
    await this.#boss.stop({ graceful: false, wait: true, timeout: 1_000 }).catch(() => {});
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A stable job id per deployment, phase and sequence: sending the same job twice (a retried
 * request, a repeated analysis request) inserts it once.
 */
export function jobId(
  kind: string,
  deploymentId: string,
  phase: SamplePhase | "analysis" | "delivery",
  sequence = 0,
): string {
  const hex = createHash("sha256").update(`${kind}:${deploymentId}:${phase}:${sequence}`).digest("hex");
  // Shape the digest as a version-5-style UUID, which pg-boss requires for ids.
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `5${hex.slice(13, 16)}`,
    ((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16) + hex.slice(18, 20),
    hex.slice(20, 32),
  ].join("-");
}
