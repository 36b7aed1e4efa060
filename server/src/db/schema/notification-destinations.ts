import {
  type DestinationKind,
  destinationKinds,
  type NotificationEvent,
  notificationEvents,
  type VerdictValue,
  verdictValues,
} from "@seqpulse/types";
import { sql } from "drizzle-orm";
import { boolean, check, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { encryptedText } from "../secret-box.js";
import { oneOf } from "./checks.js";
import { projects } from "./projects.js";

/** Where a project's notifications go: a Slack incoming webhook or a generic signed webhook. */
export const notificationDestinations = pgTable(
  "notification_destinations",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind").$type<DestinationKind>().notNull(),
    /** Kept in clear: a Slack webhook URL is its own credential, and the worker posts to it. */
    /** Encrypted at rest: a Slack webhook URL is itself a credential. */
    url: encryptedText("url").notNull(),
    /** HMAC key of generic webhooks, kept so the worker can sign; read only through signingSecret(). */
    secret: encryptedText("secret"),
    events: text("events").array().$type<NotificationEvent[]>().notNull(),
    minVerdict: text("min_verdict").$type<VerdictValue>().notNull().default("ok"),
    enabled: boolean("enabled").notNull().default(true),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index("idx_notification_destinations_project").on(table.projectId),
    check("ck_notification_destinations_kind", oneOf(table.kind, destinationKinds)),
    check("ck_notification_destinations_min_verdict", oneOf(table.minVerdict, verdictValues)),
    check(
      "ck_notification_destinations_events",
      sql`${table.events} <@ array[${sql.raw(notificationEvents.map((event) => `'${event}'`).join(", "))}]::text[]`,
    ),
    check(
      "ck_notification_destinations_secret",
      sql`(${table.kind} = 'webhook') = (${table.secret} is not null)`,
    ),
  ],
);

export type NotificationDestinationRow = typeof notificationDestinations.$inferSelect;
