import { type ServerType, serve } from "@hono/node-server";
import { createApp, createOperationsApp } from "./app.js";
import { loadSessionSecret } from "./console/session.js";
import { locateDatabase } from "./db/bootstrap.js";
import { connectDatabase } from "./db/client.js";
import { assertSecretsReadable, setUpEncryption } from "./db/encryption-key.js";
import { runMigrations } from "./db/migrate.js";
import { waitForDatabase } from "./db/wait.js";
import { sweepExpiredData } from "./deployments/retention.js";
import { abandonStaleRunning, requeueOverdueAnalyses } from "./deployments/sweep.js";
import type { Config } from "./env.js";
import { pruneBuckets, type RateLimits } from "./http/rate-limit.js";
import { JobQueue } from "./jobs/queue.js";
import { startTasks } from "./jobs/tasks/index.js";
import { errorFields, type Logger } from "./logger.js";
import { startNotificationDispatcher } from "./notifications/dispatcher.js";
import { createServerMetrics } from "./observability/metrics.js";
import { SEQPULSE_VERSION } from "./version.js";

export interface RunningServer {
  /** Base URL of the HTTP API, when this process serves it. */
  url?: string;
  stop: () => Promise<void>;
}

/** Starts SeqPulse for a role: the API, the workers, or both, on one PostgreSQL. */
export async function startSeqPulse(config: Config, logger: Logger): Promise<RunningServer> {
  const database = await locateDatabase(config, logger);
  const stops: Array<() => Promise<void>> = [database.stop];
  const stopAll = async () => {
    // Last started, first stopped: HTTP, workers, database pool, then PostgreSQL.
    for (const stop of [...stops].reverse()) {
      await stop().catch((error) => logger.error("shutdown step failed", errorFields(error)));
    }
  };
  try {
    // After locateDatabase: an installation that cannot find its database leaves no key file behind.
    await setUpEncryption(config, logger);
    await waitForDatabase(database.url, {
      timeoutMs: config.SEQPULSE_DB_STARTUP_TIMEOUT_SECONDS * 1000,
      connectTimeoutMs: config.SEQPULSE_DB_CONNECT_TIMEOUT_MS,
      logger,
    });
    const { applied } = await runMigrations(database.url);
    logger.info("database ready", { embedded: database.embedded, migrations_applied: applied });
    const handle = connectDatabase(database.url, {
      max: config.SEQPULSE_DB_POOL_SIZE,
      timeouts: {
        connectMs: config.SEQPULSE_DB_CONNECT_TIMEOUT_MS,
        statementMs: config.SEQPULSE_DB_STATEMENT_TIMEOUT_MS,
        idleInTransactionMs: config.SEQPULSE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      },
    });
    stops.push(handle.close);
    await assertSecretsReadable(handle.db);
    const queue = new JobQueue({
      executor: handle.executor,
      pool: handle.pool,
      logger,
      retentionDays: config.SEQPULSE_RETENTION_DAYS,
    });
    const metrics = createServerMetrics(handle.db);

    if (config.SEQPULSE_ROLE !== "api") {
      await queue.startMaintenance();
      startTasks(
        queue,
        { database: handle, logger, metrics },
        {
          collectConcurrency: config.SEQPULSE_WORKER_CONCURRENCY,
          analyzeConcurrency: Math.max(2, Math.ceil(config.SEQPULSE_WORKER_CONCURRENCY / 8)),
          idlePollMs: config.SEQPULSE_QUEUE_POLL_MS,
          collector: {
            allowPrivateEndpoints: config.SEQPULSE_ALLOW_PRIVATE_ENDPOINTS,
            timeoutMs: config.SEQPULSE_METRICS_TIMEOUT_MS,
            maxBodyBytes: 64 * 1024,
            userAgent: `SeqPulse/${SEQPULSE_VERSION}`,
          },
          notifications: {
            publicUrl: config.SEQPULSE_PUBLIC_URL,
            allowPrivateEndpoints: config.SEQPULSE_ALLOW_PRIVATE_ENDPOINTS,
            retryBaseMs: config.SEQPULSE_NOTIFY_RETRY_BASE_MS,
            userAgent: `SeqPulse/${SEQPULSE_VERSION}`,
          },
        },
      );
      stops.push(() => queue.stop());
      stops.push(startSweep(config, handle, queue, logger));
      stops.push(startNotificationDispatcher({ database: handle, queue, logger }));
      logger.info("SeqPulse workers started", {
        concurrency: config.SEQPULSE_WORKER_CONCURRENCY,
        private_endpoints_allowed: config.SEQPULSE_ALLOW_PRIVATE_ENDPOINTS,
      });
    }

    // What the API and a worker's health and metrics listener both serve.
    const operationsDeps = {
      db: handle.db,
      queue,
      logger,
      runningTimeoutSeconds: config.SEQPULSE_RUNNING_TIMEOUT_SECONDS,
      readinessChecks: [() => queue.readiness()],
      metrics,
      metricsToken: config.SEQPULSE_METRICS_TOKEN,
    };
    let url: string | undefined;
    if (config.SEQPULSE_ROLE !== "worker") {
      const app = createApp({
        ...operationsDeps,
        adminToken: config.SEQPULSE_ADMIN_TOKEN,
        rateLimits: rateLimitsOf(config),
        trustedProxies: config.SEQPULSE_TRUSTED_PROXIES,
        sessionSecret: await loadSessionSecret(config.SEQPULSE_SESSION_SECRET, config.SEQPULSE_DATA_DIR),
        allowPrivateEndpoints: config.SEQPULSE_ALLOW_PRIVATE_ENDPOINTS,
      });
      const listening = await listen(app.fetch, config);
      url = listening.url;
      stops.push(listening.close);
      logger.info("SeqPulse API listening", { url, admin_api: Boolean(config.SEQPULSE_ADMIN_TOKEN) });
    } else {
      const listening = await listen(createOperationsApp(operationsDeps).fetch, config);
      stops.push(listening.close);
      logger.info("worker health and metrics listening", {
        url: listening.url,
        paths: ["/healthz", "/readyz", "/metrics"],
      });
    }
    logger.info("SeqPulse started", { role: config.SEQPULSE_ROLE, url, version: SEQPULSE_VERSION });
    return { url, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

const RETENTION_INTERVAL_MS = 24 * 3600 * 1000;

function rateLimitsOf(config: Config): RateLimits {
  return {
    perKey:
      config.SEQPULSE_RATE_LIMIT_PER_SECOND > 0
        ? { perSecond: config.SEQPULSE_RATE_LIMIT_PER_SECOND, burst: config.SEQPULSE_RATE_LIMIT_BURST }
        : undefined,
    authFailures:
      config.SEQPULSE_AUTH_FAILURES_PER_MINUTE > 0
        ? {
            perSecond: config.SEQPULSE_AUTH_FAILURES_PER_MINUTE / 60,
            burst: config.SEQPULSE_AUTH_FAILURES_PER_MINUTE,
          }
        : undefined,
    console:
      config.SEQPULSE_CONSOLE_RATE_LIMIT_PER_SECOND > 0
        ? {
            perSecond: config.SEQPULSE_CONSOLE_RATE_LIMIT_PER_SECOND,
            burst: config.SEQPULSE_CONSOLE_RATE_LIMIT_BURST,
          }
        : undefined,
  };
}

/**
 * Abandons stale running deployments and re-queues overdue analyses, every sweep interval; once a
 * day, deletes what outlived the retention.
 */
function startSweep(
  config: Config,
  handle: ReturnType<typeof connectDatabase>,
  queue: JobQueue,
  logger: Logger,
): () => Promise<void> {
  let sweeping = false;
  // The first sweep after start runs the retention too; then once a day.
  let lastRetention = 0;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const abandoned = await abandonStaleRunning({
        db: handle.db,
        runningTimeoutSeconds: config.SEQPULSE_RUNNING_TIMEOUT_SECONDS,
      });
      for (const row of abandoned) {
        logger.warn("deployment abandoned: still running after the timeout", {
          deployment_id: row.id,
          env: row.env,
          timeout_seconds: config.SEQPULSE_RUNNING_TIMEOUT_SECONDS,
        });
      }
      const requeued = await requeueOverdueAnalyses({ db: handle.db, executor: handle.executor, queue });
      await pruneBuckets(handle.db);
      if (Date.now() - lastRetention >= RETENTION_INTERVAL_MS) {
        lastRetention = Date.now();
        const removed = await sweepExpiredData(handle.db, {
          defaultRetentionDays: config.SEQPULSE_RETENTION_DAYS,
          deleteDeployments: config.SEQPULSE_RETENTION_DELETE_DEPLOYMENTS,
          batchSize: 500,
          pauseMs: 200,
        });
        logger.info("retention sweep done", { ...removed, retention_days: config.SEQPULSE_RETENTION_DAYS });
      }
      if (requeued.length > 0) {
        logger.warn("analyses overdue: queued again", { count: requeued.length, deployment_ids: requeued });
      }
    } catch (error) {
      logger.warn("deployment sweep failed; retrying at the next interval", errorFields(error));
    } finally {
      sweeping = false;
    }
  };
  const timer = setInterval(sweep, config.SEQPULSE_SWEEP_INTERVAL_SECONDS * 1000);
  timer.unref();
  return async () => clearInterval(timer);
}

/** Serves `fetch` on PORT and HOST; the URL names the port actually bound (PORT=0 picks one). */
function listen(
  fetch: Parameters<typeof serve>[0]["fetch"],
  config: Pick<Config, "PORT" | "HOST">,
): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server: ServerType = serve({ fetch, port: config.PORT, hostname: config.HOST }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : config.PORT;
      resolve({
        url: `http://${config.HOST === "0.0.0.0" ? "127.0.0.1" : config.HOST}:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    server.once("error", reject);
  });
}
