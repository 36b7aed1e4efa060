import {
  type DeploymentState,
  deploymentStates,
  type PipelineResult,
  pipelineResults,
} from "@seqpulse/types";
import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { oneOf } from "./checks.js";
import { projects } from "./projects.js";

export const deployments = pgTable(
  "deployments",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    deploymentNumber: integer("deployment_number").notNull(),
    env: text("env").notNull(),
    idempotencyKey: text("idempotency_key"),
    /** SHA-256 of the request's branch, commit_sha and metrics_endpoint: a replayed key must match it. */
    requestFingerprint: text("request_fingerprint").notNull(),
    branch: text("branch"),
    commitSha: text("commit_sha"),
    metricsEndpoint: text("metrics_endpoint").notNull(),
    ci: jsonb("ci").$type<Record<string, unknown>>(),
    state: text("state").$type<DeploymentState>().notNull().default("running"),
    /** Why the deployment left the normal path, e.g. 'running_timeout' for an abandoned one. */
    stateReason: text("state_reason"),
    pipelineResult: text("pipeline_result").$type<PipelineResult>(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    durationMs: integer("duration_ms"),
    abandonedAt: timestamp("abandoned_at", { withTimezone: true }),
    analyzedAt: timestamp("analyzed_at", { withTimezone: true }),
    cancelledAt: timestamp("cancelled_at", { withTimezone: true }),
    /** Who cancelled it and why, as the cancel request said; free text. */
    cancelledBy: text("cancelled_by"),
    cancelReason: text("cancel_reason"),
  },
  (table) => [
    uniqueIndex("uq_running_deployment").on(table.projectId, table.env).where(sql`state = 'running'`),
    uniqueIndex("uq_deployments_idempotency_key")
      .on(table.projectId, table.env, table.idempotencyKey)
      .where(sql`idempotency_key IS NOT NULL`),
    uniqueIndex("uq_deployment_number").on(table.projectId, table.deploymentNumber),
    index("idx_deployments_project_env_number").on(table.projectId, table.env, table.deploymentNumber),
    index("idx_deployments_running_started").on(table.startedAt).where(sql`state = 'running'`),
    // Retention finds expired deployments by age.
    index("idx_deployments_started").on(table.startedAt),
    check("ck_deployments_state", oneOf(table.state, deploymentStates)),
    check(
      "ck_deployments_pipeline_result",
      sql`${table.pipelineResult} is null or ${oneOf(table.pipelineResult, pipelineResults)}`,
    ),
    check(
      "ck_deployments_finished_has_result",
      sql`${table.state} not in ('finished', 'analyzed') or (${table.finishedAt} is not null and ${table.pipelineResult} is not null)`,
    ),
  ],
);

export type DeploymentRow = typeof deployments.$inferSelect;
