import { and, eq, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.js";
import {
  type NotificationDeliveryRow,
  type NotificationDestinationRow,
  notificationAttempts,
  notificationDeliveries,
  notificationDestinations,
} from "../db/schema/index.js";
import type { Logger } from "../logger.js";
import { DROPPED_DISABLED, dropOwedDeliveries, signingSecret } from "./destinations.js";
import { webhookBody } from "./payload.js";
import { type PostOutcome, postJson } from "./send.js";
import { signatureHeaders } from "./signing.js";
import { slackMessage } from "./slack.js";

export interface DeliveryOptions {
  /** Base of the deployment links in messages; without it, messages carry no link. */
  publicUrl: string | undefined;
  allowPrivateEndpoints: boolean;
  /** First retry delay; doubled per attempt up to MAX_RETRY_DELAY_MS. */
  retryBaseMs: number;
  userAgent: string;
}

export const DELIVERY_TIMEOUT_MS = 10_000;
/** Longer than one attempt can take: an attempt still leased past this died with its worker. */
export const DELIVERY_LEASE_SECONDS = Math.ceil(DELIVERY_TIMEOUT_MS / 1000) + 5;
export const MAX_RETRY_DELAY_MS = 3_600_000;
/** A delivery still failing a day after its event is given up. */
export const DELIVERY_GIVE_UP_MS = 24 * 3_600_000;

/** Doubling from the base, capped at an hour, with up to 20 % jitter so retries of many deliveries spread. */
export function retryDelayMs(attempt: number, baseMs: number, random = Math.random): number {
  const exponential = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (1 + 0.2 * random()));
}

export function requestFor(
  delivery: NotificationDeliveryRow,
  destination: NotificationDestinationRow,
  options: Pick<DeliveryOptions, "publicUrl" | "userAgent">,
  now: Date,
): { body: string; headers: Record<string, string> } {
  const payload = webhookBody(delivery.payload, delivery.id, options.publicUrl);
  const common = { "Content-Type": "application/json", "User-Agent": options.userAgent };
  if (destination.kind === "slack") return { body: JSON.stringify(slackMessage(payload)), headers: common };
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      ...common,
      "X-SeqPulse-Event": delivery.event,
      "X-SeqPulse-Delivery": delivery.id,
      ...signatureHeaders(signingSecret(destination), body, now),
    },
  };
}

export type AttemptResult = "delivered" | "retrying" | "failed" | "not_due";

/**
 * One attempt of one delivery. The attempt is claimed first (attempt number bumped, lease taken), so
 * two workers never send the same delivery at once and a delivered one is never sent again.
 */
export async function attemptDelivery(
  deps: { db: Database; logger: Logger; options: DeliveryOptions },
  deliveryId: string,
): Promise<AttemptResult> {
  const { db, options } = deps;
  const [claimed] = await db
    .update(notificationDeliveries)
    .set({
      attempts: sql`${notificationDeliveries.attempts} + 1`,
      leasedUntil: sql`now() + make_interval(secs => ${DELIVERY_LEASE_SECONDS})`,
    })
    .where(
      and(
        eq(notificationDeliveries.id, deliveryId),
        eq(notificationDeliveries.state, "pending"),
        lte(notificationDeliveries.nextAttemptAt, sql`now()`),
        or(isNull(notificationDeliveries.leasedUntil), lt(notificationDeliveries.leasedUntil, sql`now()`)),
      ),
    )
    .returning();
  if (!claimed) return "not_due";
  const [destination] = await db
    .select()
    .from(notificationDestinations)
    .where(eq(notificationDestinations.id, claimed.destinationId));
  if (!destination) return "not_due";
  if (!destination.enabled && claimed.event !== "test") {
    // Disabled after this delivery was owed, while an attempt held it: dropped, not sent.
    await db.transaction(async (tx) => {
      await recordAttempt(tx, claimed, {
        attemptedAt: new Date(),
        statusCode: null,
        error: DROPPED_DISABLED,
        durationMs: 0,
      });
      await tx
        .update(notificationDeliveries)
        .set({ state: "failed", leasedUntil: null })
        .where(eq(notificationDeliveries.id, claimed.id));
      await dropOwedDeliveries(tx, destination.id);
    });
    deps.logger.info("notification dropped: destination disabled", {
      delivery_id: claimed.id,
      destination_id: destination.id,
    });
    return "failed";
  }

  const attemptedAt = new Date();
  const { body, headers } = requestFor(claimed, destination, options, attemptedAt);
  const outcome = await postJson({
    url: destination.url,
    body,
    headers,
    timeoutMs: DELIVERY_TIMEOUT_MS,
    allowPrivate: options.allowPrivateEndpoints,
  });
  const next = nextStep(claimed, outcome, options.retryBaseMs, attemptedAt);

  await db.transaction(async (tx) => {
    await recordAttempt(tx, claimed, {
      attemptedAt,
      statusCode: outcome.status,
      error: next.result === "failed" && next.why ? `${outcome.error}; ${next.why}` : outcome.error,
      durationMs: outcome.durationMs,
    });
    await tx
      .update(notificationDeliveries)
      .set({
        state: next.result === "delivered" ? "delivered" : next.result === "failed" ? "failed" : "pending",
        deliveredAt: next.result === "delivered" ? attemptedAt : null,
        nextAttemptAt: next.retryAt ?? claimed.nextAttemptAt,
        leasedUntil: null,
      })
      .where(eq(notificationDeliveries.id, claimed.id));
  });
  const log = deps.logger.child({
    delivery_id: claimed.id,
    destination_id: destination.id,
    attempt: claimed.attempts,
  });
  if (next.result === "delivered") log.info("notification delivered", { status: outcome.status });
  else
    log.warn(`notification ${next.result === "failed" ? "failed" : "attempt failed"}`, {
      status: outcome.status,
      error: outcome.error,
      retry_at: next.retryAt?.toISOString(),
    });
  return next.result;
}

/** The claimed attempt's row in the delivery log; a repeated write of the same attempt keeps the first. */
async function recordAttempt(
  tx: Pick<Transaction, "insert">,
  claimed: NotificationDeliveryRow,
  outcome: { attemptedAt: Date; statusCode: number | null; error: string | null; durationMs: number },
): Promise<void> {
  await tx
    .insert(notificationAttempts)
    .values({ deliveryId: claimed.id, attempt: claimed.attempts, ...outcome })
    .onConflictDoNothing();
}

function nextStep(
  delivery: NotificationDeliveryRow,
  outcome: PostOutcome,
  retryBaseMs: number,
  now: Date,
): { result: Exclude<AttemptResult, "not_due">; retryAt?: Date; why?: string } {
  if (outcome.error === null) return { result: "delivered" };
  if (outcome.permanent) return { result: "failed", why: "not retried: the receiver refused it" };
  const delay = Math.min(
    MAX_RETRY_DELAY_MS,
    outcome.retryAfterMs ?? retryDelayMs(delivery.attempts, retryBaseMs),
  );
  const retryAt = new Date(now.getTime() + delay);
  if (retryAt.getTime() - delivery.createdAt.getTime() > DELIVERY_GIVE_UP_MS) {
    return { result: "failed", why: "gave up: still failing a day after the event" };
  }
  return { result: "retrying", retryAt };
}

/** Pending deliveries that are due and not held by a live attempt: what the dispatcher queues. */
export async function dueDeliveries(
  db: Database,
  limit: number,
): Promise<Array<{ id: string; attempts: number }>> {
  return db
    .select({ id: notificationDeliveries.id, attempts: notificationDeliveries.attempts })
    .from(notificationDeliveries)
    .where(
      and(
        eq(notificationDeliveries.state, "pending"),
        lte(notificationDeliveries.nextAttemptAt, sql`now()`),
        or(isNull(notificationDeliveries.leasedUntil), lt(notificationDeliveries.leasedUntil, sql`now()`)),
      ),
    )
    .orderBy(notificationDeliveries.nextAttemptAt)
    .limit(limit);
}
