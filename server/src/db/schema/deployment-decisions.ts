import { type DecisionValue, decisionValues } from "@seqpulse/types";
import { check, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { oneOf } from "./checks.js";
import { deployments } from "./deployments.js";

/** The manual call on a deployment's verdict; a later decision replaces the earlier one. */
export const deploymentDecisions = pgTable(
  "deployment_decisions",
  {
    deploymentId: uuid("deployment_id")
      .primaryKey()
      .references(() => deployments.id, { onDelete: "cascade" }),
    decision: text("decision").$type<DecisionValue>().notNull(),
    note: text("note"),
    decidedBy: text("decided_by").notNull(),
    decidedAt: timestamp("decided_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check("ck_deployment_decisions_decision", oneOf(table.decision, decisionValues))],
);

export type DeploymentDecisionRow = typeof deploymentDecisions.$inferSelect;
