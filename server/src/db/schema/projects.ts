import {
  type AnalysisSettings,
  type MetricsSource,
  type RunningConflict,
  runningConflictModes,
} from "@seqpulse/types";
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
import { encryptedText, jsonWithEncryptedHeaders } from "../secret-box.js";
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
    /** The key replaced by the last rotation, accepted until its expiry (the rotation's grace). */
    previousApiKeyId: text("previous_api_key_id"),
    previousApiKeyHash: text("previous_api_key_hash"),
    previousApiKeyExpiresAt: timestamp("previous_api_key_expires_at", { withTimezone: true }),
    /** Encrypted at rest (secret-box): the worker needs it in clear to sign metrics requests. */
    hmacSecret: encryptedText("hmac_secret").notNull(),
    /** The secret replaced by the last rotation: endpoints may still accept it until then. */
    previousHmacSecret: encryptedText("previous_hmac_secret"),
    previousHmacSecretExpiresAt: timestamp("previous_hmac_secret_expires_at", { withTimezone: true }),
    hmacEnabled: boolean("hmac_enabled").notNull().default(false),
    envs: text("envs").array().notNull().default(sql`'{}'::text[]`),
    metricsEndpoint: text("metrics_endpoint"),
    observationWindowSeconds: integer("observation_window_seconds").notNull().default(300),
    sampleIntervalSeconds: integer("sample_interval_seconds").notNull().default(60),
    warmupSeconds: integer("warmup_seconds").notNull().default(0),
    /** Without history, the baseline is sampled every this many seconds until finish… */
    baselineIntervalSeconds: integer("baseline_interval_seconds").notNull().default(15),
    /** …up to this many samples. */
    baselineSamples: integer("baseline_samples").notNull().default(10),
    /** With history (SDK, Prometheus), the buckets of this span before the trigger are the baseline. */
    baselineLookbackSeconds: integer("baseline_lookback_seconds").notNull().default(1800),
    /** Where metrics come from instead of the JSON endpoint (Prometheus); header values are secrets. */
    metricsSource: jsonWithEncryptedHeaders<MetricsSource>("metrics_source"),
    /** Overrides SEQPULSE_RETENTION_DAYS for this project's deployments. */
    retentionDays: integer("retention_days"),
    runningConflict: text("running_conflict").$type<RunningConflict>().notNull().default("join"),
    analysis: jsonb("analysis").$type<AnalysisSettings>().notNull(),
    /** Last deployment number handed out; bumped under the row lock when a deployment is created. */
    deploymentCounter: integer("deployment_counter").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** Set while the project is disabled: its API keys are refused with 403 project_disabled. */
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
  },
  (table) => [
    uniqueIndex("uq_projects_api_key_id").on(table.apiKeyId),
    uniqueIndex("uq_projects_previous_api_key_id").on(table.previousApiKeyId),
    // Names are how people and the CLI tell projects apart: unique regardless of case.
    uniqueIndex("uq_projects_name").on(sql`lower(${table.name})`),
    check("ck_projects_running_conflict", oneOf(table.runningConflict, runningConflictModes)),
    check("ck_projects_sample_interval", sql`${table.sampleIntervalSeconds} >= 1`),
    check("ck_projects_observation_window", sql`${table.observationWindowSeconds} >= 1`),
    check("ck_projects_warmup", sql`${table.warmupSeconds} >= 0`),
    check(
      "ck_projects_baseline",
      sql`${table.baselineIntervalSeconds} >= 1 and ${table.baselineSamples} >= 1 and ${table.baselineLookbackSeconds} >= 0`,
    ),
  ],
);

export type Project = typeof projects.$inferSelect;
