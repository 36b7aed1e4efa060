import { index, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { deployments } from "./deployments.js";
import { projects } from "./projects.js";

/**
 * Every idempotency key a deployment answers to, per project and environment: the key it was
 * created with, and the keys of triggers that joined it while it was running. The primary key is
 * the one place a key is claimed, so a key never points at two deployments.
 */
export const deploymentKeys = pgTable(
  "deployment_keys",
  {
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    env: text("env").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    deploymentId: uuid("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    /** The fingerprint of the request that claimed the key: a replay of the key must match it. */
    requestFingerprint: text("request_fingerprint").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: "pk_deployment_keys", columns: [table.projectId, table.env, table.idempotencyKey] }),
    index("idx_deployment_keys_deployment").on(table.deploymentId),
  ],
);

export type DeploymentKeyRow = typeof deploymentKeys.$inferSelect;
