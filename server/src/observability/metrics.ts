import { sql } from "drizzle-orm";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../db/client.js";
import { QUEUE_SCHEMA, QUEUES } from "../jobs/queue.js";

/**
 * SeqPulse's own metrics, in Prometheus' text format at GET /metrics. Counters and histograms
 * count what this process did; the gauges read from the database (deployments by state, queue
 * depth and age) are the same in every process, so dashboards take their `max`.
 */
export interface ServerMetrics {
  registry: Registry;
  httpRequests: Histogram<"method" | "route" | "status">;
  triggers: Counter<"outcome">;
  samples: Counter<"phase" | "outcome">;
  sampleLateness: Histogram<"phase">;
  verdicts: Counter<"verdict" | "dry_run">;
  notificationDeliveries: Counter<"outcome">;
}

export type TriggerOutcome = "created" | "replayed" | "joined" | "rejected";

export function createServerMetrics(db: Database): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "seqpulse_" });

  const httpRequests = new Histogram({
    name: "seqpulse_http_request_duration_seconds",
    help: "HTTP requests by method, route template and status, with their duration.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const triggers = new Counter({
    name: "seqpulse_triggers_total",
    help: "Triggers by outcome: created, replayed (same idempotency key), joined (a running deployment), rejected.",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const samples = new Counter({
    name: "seqpulse_samples_total",
    help: "Sample slots settled by this process: outcome is `collected` or the failure kind.",
    labelNames: ["phase", "outcome"] as const,
    registers: [registry],
  });
  const sampleLateness = new Histogram({
    name: "seqpulse_sample_lateness_seconds",
    help: "How long after its slot time a sample was fetched.",
    labelNames: ["phase"] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const verdicts = new Counter({
    name: "seqpulse_verdicts_total",
    help: "Verdicts written by this process.",
    labelNames: ["verdict", "dry_run"] as const,
    registers: [registry],
  });
  const notificationDeliveries = new Counter({
    name: "seqpulse_notification_deliveries_total",
    help: "Notification delivery attempts by outcome: delivered, retrying (will be tried again) or failed (given up).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });

  new Gauge({
    name: "seqpulse_deployments",
    help: "Deployments by state (read from the database at scrape time).",
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      const { rows } = await db.execute<{ state: string; count: number }>(
        sql`select state, count(*)::int as count from deployments group by state`,
      );
      this.reset();
      for (const row of rows) this.set({ state: row.state }, row.count);
    },
  });
  // Both queue gauges come from one query; the registry collects gauges concurrently, so each
  // awaits the same scrape's answer.
  let queueStats: Promise<QueueStats[]> | undefined;
  const loadQueueStats = () => {
    queueStats ??= readQueueStats(db).finally(() => setTimeout(() => (queueStats = undefined), 500).unref());
    return queueStats;
  };
  new Gauge({
    name: "seqpulse_queue_jobs",
    help: "Jobs per queue and state (created and retry are waiting; active are running).",
    labelNames: ["queue", "state"] as const,
    registers: [registry],
    async collect() {
      const stats = await loadQueueStats();
      this.reset();
      for (const row of stats) this.set({ queue: row.name, state: row.state }, row.count);
    },
  });
  new Gauge({
    name: "seqpulse_queue_oldest_due_job_age_seconds",
    help: "Age of the oldest job that is due and not started, per queue: grows when workers fall behind.",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      const stats = await loadQueueStats();
      this.reset();
      for (const queue of QUEUES) {
        const ages = stats.filter((row) => row.name === queue).map((row) => row.oldest ?? 0);
        this.set({ queue }, Math.max(0, ...ages));
      }
    },
  });

  return { registry, httpRequests, triggers, samples, sampleLateness, verdicts, notificationDeliveries };
}

type QueueStats = {
  name: string;
  state: string;
  count: number;
  oldest: number | null;
};

async function readQueueStats(db: Database): Promise<QueueStats[]> {
  const { rows } = await db.execute<QueueStats>(
    sql.raw(`select name, state, count(*)::int as count,
                    extract(epoch from now() - min(start_after) filter (where state in ('created', 'retry')
                      and start_after < now()))::float8 as oldest
             from ${QUEUE_SCHEMA}.job where name in (${QUEUES.map((queue) => `'${queue}'`).join(", ")})
               and state in ('created', 'retry', 'active') group by name, state`),
  );
  return rows;
}
