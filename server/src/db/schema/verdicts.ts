import {
  type DataQuality,
  type DiagnosisHint,
  type VerdictReason,
  type VerdictValue,
  verdictValues,
} from "@seqpulse/types";
import { sql } from "drizzle-orm";
import { boolean, check, doublePrecision, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { oneOf } from "./checks.js";
import { deployments } from "./deployments.js";

export const verdicts = pgTable(
  "verdicts",
  {
    deploymentId: uuid("deployment_id")
      .primaryKey()
      .references(() => deployments.id, { onDelete: "cascade" }),
    verdict: text("verdict").$type<VerdictValue>().notNull(),
    confidence: doublePrecision("confidence").notNull(),
    summary: text("summary").notNull(),
    reasons: jsonb("reasons").$type<VerdictReason[]>().notNull(),
    dataQuality: jsonb("data_quality").$type<DataQuality>().notNull(),
    hints: jsonb("hints").$type<DiagnosisHint[]>().notNull().default(sql`'[]'::jsonb`),
    /** The engine that made the verdict; null on verdicts of engine 1. */
    engineVersion: text("engine_version"),
    /** Made while the project was in dry run: recorded, never gating. */
    dryRun: boolean("dry_run").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check("ck_verdicts_verdict", oneOf(table.verdict, verdictValues)),
    check("ck_verdicts_confidence", sql`${table.confidence} >= 0 and ${table.confidence} <= 1`),
  ],
);

export type VerdictRow = typeof verdicts.$inferSelect;
