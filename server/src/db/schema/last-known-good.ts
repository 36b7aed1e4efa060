import { pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { deployments } from "./deployments.js";
import { projects } from "./projects.js";

/**
 * Per project and environment, the last deployment whose verdict was `ok`: its post samples are
 * the reference the engine falls back on when a deployment has no baseline of its own.
 */
export const lastKnownGood = pgTable(
  "last_known_good",
  {
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    env: text("env").notNull(),
    deploymentId: uuid("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.projectId, table.env] })],
);
