import { type ObservationSource, observationSources, type SamplePhase, samplePhases } from "@seqpulse/types";
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  doublePrecision,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { oneOf } from "./checks.js";
import { deployments } from "./deployments.js";

export const metricSamples = pgTable(
  "metric_samples",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deploymentId: uuid("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    phase: text("phase").$type<SamplePhase>().notNull(),
    /** The slot (0… for samples taken by SeqPulse); history buckets count down from −1, the newest. */
    sequence: integer("sequence").notNull(),
    /** `sample`: taken by SeqPulse at a slot; `history`: a closed bucket the application reported. */
    source: text("source").$type<Exclude<ObservationSource, "last_known_good">>().notNull().default("sample"),
    /** The sample's scheduled slot time (a bucket's end), so a retried collection lands on the same row. */
    collectedAt: timestamp("collected_at", { withTimezone: true }).notNull(),
    /** When the endpoint actually answered. */
    fetchedAt: timestamp("fetched_at", { withTimezone: true }).notNull().defaultNow(),
    /** Start of the span `requests` and `errors` cover (a bucket's start, or the previous sample). */
    periodStart: timestamp("period_start", { withTimezone: true }),
    /** Requests and errors over [period_start, collected_at], when counters or history gave them. */
    requests: bigint("requests", { mode: "number" }),
    errors: bigint("errors", { mode: "number" }),
    /** The application's cumulative counters as read, to compute the next sample's increase. */
    requestsTotal: bigint("requests_total", { mode: "number" }),
    errorsTotal: bigint("errors_total", { mode: "number" }),
    /** Null when the payload did not measure it (contract v2 makes each of the five optional). */
    requestsPerSec: doublePrecision("requests_per_sec"),
    latencyP95: doublePrecision("latency_p95"),
    errorRate: doublePrecision("error_rate"),
    cpuUsage: doublePrecision("cpu_usage"),
    memoryUsage: doublePrecision("memory_usage"),
    /** Custom metrics by name. */
    customMetrics: jsonb("custom_metrics").$type<Record<string, number>>(),
  },
  (table) => [
    uniqueIndex("uq_metric_sample").on(table.deploymentId, table.phase, table.collectedAt),
    check("ck_metric_samples_phase", oneOf(table.phase, samplePhases)),
    check(
      "ck_metric_samples_source",
      oneOf(
        table.source,
        observationSources.filter((source) => source !== "last_known_good"),
      ),
    ),
    check("ck_metric_samples_counts", sql`${table.errors} is null or ${table.errors} <= ${table.requests}`),
  ],
);

export type MetricSampleRow = typeof metricSamples.$inferSelect;
