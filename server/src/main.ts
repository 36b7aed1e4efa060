import { readFileSync } from "node:fs";
import { type ServerType, serve } from "@hono/node-server";
import { createApp } from "./app.js";
import { locateDatabase } from "./db/bootstrap.js";
import { connectDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { abandonStaleRunning } from "./deployments/service.js";
import type { Config } from "./env.js";
import { createJobQueue } from "./jobs/queue.js";
import { errorFields, type Logger } from "./logger.js";

export const SEQPULSE_VERSION: string = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
).version;

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
    const { applied } = await runMigrations(database.url);
    logger.info("database ready", { embedded: database.embedded, migrations_applied: applied });
    const handle = connectDatabase(database.url);
    stops.push(handle.close);

    const sweep = setInterval(() => {
      abandonStaleRunning({ db: handle.db, runningTimeoutSeconds: config.SEQPULSE_RUNNING_TIMEOUT_SECONDS })
        .then((abandoned) => {
          for (const row of abandoned) {
            logger.warn("deployment abandoned: still running after the timeout", {
              deployment_id: row.id,
              env: row.env,
              timeout_seconds: config.SEQPULSE_RUNNING_TIMEOUT_SECONDS,
            });
          }
        })
        .catch((error) => logger.error("running-deployment sweep failed", errorFields(error)));
    }, config.SEQPULSE_SWEEP_INTERVAL_SECONDS * 1000);
    sweep.unref();
    stops.push(async () => clearInterval(sweep));

    const queue = await createJobQueue({ url: database.url, db: handle.db, logger });
    stops.push(queue.stop);
    if (config.SEQPULSE_ROLE !== "api") {
      await queue.startWorkers({
        concurrency: config.SEQPULSE_WORKER_CONCURRENCY,
        reconcileIntervalSeconds: config.SEQPULSE_RECONCILE_INTERVAL_SECONDS,
        collector: {
          allowPrivateEndpoints: config.SEQPULSE_ALLOW_PRIVATE_ENDPOINTS,
          timeoutMs: config.SEQPULSE_METRICS_TIMEOUT_MS,
          maxBodyBytes: 64 * 1024,
          userAgent: `SeqPulse/${SEQPULSE_VERSION}`,
        },
      });
      logger.info("SeqPulse workers started", {
        concurrency: config.SEQPULSE_WORKER_CONCURRENCY,
        private_endpoints_allowed: config.SEQPULSE_ALLOW_PRIVATE_ENDPOINTS,
      });
    }

    let url: string | undefined;
    if (config.SEQPULSE_ROLE !== "worker") {
      const app = createApp({
        db: handle.db,
        logger,
        adminToken: config.SEQPULSE_ADMIN_TOKEN,
        runningTimeoutSeconds: config.SEQPULSE_RUNNING_TIMEOUT_SECONDS,
        events: queue.events,
        readinessChecks: [queue.readiness],
      });
      const server = await listen(app.fetch, config.PORT, config.HOST);
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : config.PORT;
      url = `http://${config.HOST === "0.0.0.0" ? "127.0.0.1" : config.HOST}:${port}`;
      stops.push(() => new Promise<void>((done) => server.close(() => done())));
      logger.info("SeqPulse API listening", { url, admin_api: Boolean(config.SEQPULSE_ADMIN_TOKEN) });
    }
    logger.info("SeqPulse started", { role: config.SEQPULSE_ROLE, url, version: SEQPULSE_VERSION });
    return { url, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function listen(
  fetch: Parameters<typeof serve>[0]["fetch"],
  port: number,
  hostname: string,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, () => resolve(server));
    server.once("error", reject);
  });
}
