import { type DeliveryEvent, type DeliveryState, deliveryEvents, deliveryStates } from "@seqpulse/types";
import { sql } from "drizzle-orm";
import {
  bigserial,
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
import type { StoredPayload } from "../../notifications/payload.js";
import { oneOf } from "./checks.js";
import { deployments } from "./deployments.js";
import { notificationDestinations } from "./notification-destinations.js";

/**
 * The outbox: one row per notification owed to one destination, written in the transaction of the
 * event itself. Its id is the `delivery_id` receivers see, the same on every attempt.
 */
export const notificationDeliveries = pgTable(
  "notification_deliveries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    destinationId: uuid("destination_id")
      .notNull()
      .references(() => notificationDestinations.id, { onDelete: "cascade" }),
    event: text("event").$type<DeliveryEvent>().notNull(),
    /** One delivery per destination and key: e.g. `verdict:<deployment id>`, so an event is never owed twice. */
    eventKey: text("event_key").notNull(),
    deploymentId: uuid("deployment_id").references(() => deployments.id, { onDelete: "cascade" }),
    /** The webhook body without `delivery_id` and links, frozen when the event happened. */
    payload: jsonb("payload").$type<StoredPayload>().notNull(),
    state: text("state").$type<DeliveryState>().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    /** Set while a worker is sending an attempt; a crashed worker's lease runs out and the attempt is retried. */
    leasedUntil: timestamp("leased_until", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
  },
  (table) => [
    uniqueIndex("uq_notification_delivery_event").on(table.destinationId, table.eventKey),
    index("idx_notification_deliveries_due").on(table.nextAttemptAt).where(sql`state = 'pending'`),
    index("idx_notification_deliveries_destination").on(table.destinationId, table.createdAt),
    check("ck_notification_deliveries_event", oneOf(table.event, deliveryEvents)),
    check("ck_notification_deliveries_state", oneOf(table.state, deliveryStates)),
  ],
);

export type NotificationDeliveryRow = typeof notificationDeliveries.$inferSelect;

/** The delivery log: one row per attempt, with what the receiver answered. */
export const notificationAttempts = pgTable(
  "notification_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => notificationDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    attemptedAt: timestamp("attempted_at", { withTimezone: true }).notNull(),
    statusCode: integer("status_code"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
  },
  (table) => [uniqueIndex("uq_notification_attempt").on(table.deliveryId, table.attempt)],
);

export type NotificationAttemptRow = typeof notificationAttempts.$inferSelect;
