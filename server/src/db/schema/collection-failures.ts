import { type FailureKind, failureKinds, type SamplePhase, samplePhases } from "@seqpulse/types";
import { bigserial, check, integer, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { oneOf } from "./checks.js";
import { deployments } from "./deployments.js";

/** A sample slot that ended without a valid sample: the endpoint failed or answered invalid data. */
export const collectionFailures = pgTable(
  "collection_failures",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deploymentId: uuid("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    phase: text("phase").$type<SamplePhase>().notNull(),
    sequence: integer("sequence").notNull(),
    attemptedAt: timestamp("attempted_at", { withTimezone: true }).notNull().defaultNow(),
    kind: text("kind").$type<FailureKind>().notNull(),
    reason: text("reason").notNull(),
    httpStatus: integer("http_status"),
  },
  (table) => [
    uniqueIndex("uq_collection_failure").on(table.deploymentId, table.phase, table.sequence),
    check("ck_collection_failures_phase", oneOf(table.phase, samplePhases)),
    check("ck_collection_failures_kind", oneOf(table.kind, failureKinds)),
  ],
);

export type CollectionFailureRow = typeof collectionFailures.$inferSelect;
