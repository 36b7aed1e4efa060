import { type AnalysisSettings, type RunningConflict, runningConflictModes } from "@seqpulse/types";
import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { oneOf } from "./checks.js";

export const projects = pgTable(
  "projects",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    /** Public part of the API key, used to find the project before the constant-time hash comparison. */
    apiKeyId: text("api_key_id").notNull(),
    /** SHA-256 (hex) of the whole API key; the key itself is never stored. */
    apiKeyHash: text("api_key_hash").notNull(),
    /** Kept in clear: the worker needs it to sign metrics requests. */
    hmacSecret: text("hmac_secret").notNull(),
    hmacEnabled: boolean("hmac_enabled").notNull().default(false),
    envs: text("envs").array().notNull().default(sql`'{}'::text[]`),
    metricsEndpoint: text("metrics_endpoint"),
    observationWindowSeconds: integer("observation_window_seconds").notNull().default(300),
    sampleIntervalSeconds: integer("sample_interval_seconds").notNull().default(60),
    warmupSeconds: integer("warmup_seconds").notNull().default(0),
    runningConflict: text("running_conflict").$type<RunningConflict>().notNull().default("join"),
    analysis: jsonb("analysis").$type<AnalysisSettings>().notNull(),
    /** Last deployment number handed out; bumped under the row lock when a deployment is created. */
    deploymentCounter: integer("deployment_counter").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex("uq_projects_api_key_id").on(table.apiKeyId),
    check("ck_projects_running_conflict", oneOf(table.runningConflict, runningConflictModes)),
    check("ck_projects_sample_interval", sql`${table.sampleIntervalSeconds} >= 1`),
    check("ck_projects_observation_window", sql`${table.observationWindowSeconds} >= 1`),
    check("ck_projects_warmup", sql`${table.warmupSeconds} >= 0`),
  ],
);

export type Project = typeof projects.$inferSelect;
