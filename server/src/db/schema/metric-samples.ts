import { type SamplePhase, samplePhases } from "@seqpulse/types";
import {
  bigserial,
  check,
  doublePrecision,
  integer,
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
    sequence: integer("sequence").notNull(),
    /** The sample's scheduled slot time, so a retried collection lands on the same row. */
    collectedAt: timestamp("collected_at", { withTimezone: true }).notNull(),
    /** When the endpoint actually answered. */
    fetchedAt: timestamp("fetched_at", { withTimezone: true }).notNull().defaultNow(),
    requestsPerSec: doublePrecision("requests_per_sec").notNull(),
    latencyP95: doublePrecision("latency_p95").notNull(),
    errorRate: doublePrecision("error_rate").notNull(),
    cpuUsage: doublePrecision("cpu_usage").notNull(),
    memoryUsage: doublePrecision("memory_usage").notNull(),
  },
  (table) => [
    uniqueIndex("uq_metric_sample").on(table.deploymentId, table.phase, table.collectedAt),
    check("ck_metric_samples_phase", oneOf(table.phase, samplePhases)),
  ],
);

export type MetricSampleRow = typeof metricSamples.$inferSelect;
