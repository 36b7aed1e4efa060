import type {
  CreateDestinationRequest,
  CreateDestinationResponse,
  Delivery,
  Destination,
  RotateDestinationSecretResponse,
  TestDeliveryResponse,
  UpdateDestinationRequest,
} from "@seqpulse/types";
import { and, desc, eq, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.js";
import {
  type NotificationDestinationRow,
  notificationAttempts,
  notificationDeliveries,
  notificationDestinations,
  projects,
} from "../db/schema/index.js";
import { AppError } from "../errors.js";
import { checkLiteralHost } from "../sampling/address-guard.js";
import { recordTestDelivery } from "./outbox.js";
import { generateWebhookSecret } from "./signing.js";

export const MAX_DESTINATIONS_PER_PROJECT = 20;

/**
 * The one place a destination's signing secret is read, so that encrypting it at rest changes
 * only this function and the writes in createDestination and rotateDestinationSecret.
 */
export function signingSecret(destination: NotificationDestinationRow): string {
  if (destination.secret === null) throw new Error(`destination ${destination.id} has no signing secret`);
  return destination.secret;
}

/** Scheme, host and port only: the path of a Slack webhook URL is the credential. */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname === "/" && parsed.search === "" ? parsed.origin : `${parsed.origin}/…`;
}

export function toDestination(row: NotificationDestinationRow): Destination {
  return {
    id: row.id,
    project_id: row.projectId,
    name: row.name,
    kind: row.kind,
    url_display: displayUrl(row.url),
    events: row.events,
    min_verdict: row.minVerdict,
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
  };
}

/**
 * The SSRF guard metrics endpoints pass, applied when a destination is saved: an IP literal in a
 * private or reserved range is refused at once; a host name is checked on every delivery, on the
 * address actually connected to.
 */
export function assertDeliverableUrl(url: string, allowPrivate: boolean): void {
  const forbidden = checkLiteralHost(new URL(url).hostname, allowPrivate);
  if (forbidden) {
    throw new AppError(
      "validation_error",
      `invalid request body: url: ${forbidden.message}; SeqPulse does not post to private addresses unless SEQPULSE_ALLOW_PRIVATE_ENDPOINTS=true`,
      { errors: [{ path: "url", message: "is a private or reserved address" }] },
    );
  }
  if (new URL(url).username || new URL(url).password) {
    throw new AppError(
      "validation_error",
      "invalid request body: url: must not carry a user name or password",
      {
        errors: [{ path: "url", message: "must not carry credentials" }],
      },
    );
  }
}

/** The error of a delivery dropped unsent because its destination was disabled. */
export const DROPPED_DISABLED = "not sent: the destination was disabled";

/**
 * Drops what a disabled destination still owes: pending deliveries (tests excepted, which are sent
 * on request) become failed, with a log line saying why. One being sent right now is left to
 * finish; the worker drops it if it needs a retry.
 */
export async function dropOwedDeliveries(
  tx: Pick<Transaction, "update" | "insert">,
  destinationId: string,
  now = new Date(),
): Promise<number> {
  const dropped = await tx
    .update(notificationDeliveries)
    .set({ state: "failed", attempts: sql`${notificationDeliveries.attempts} + 1`, leasedUntil: null })
    .where(
      and(
        eq(notificationDeliveries.destinationId, destinationId),
        eq(notificationDeliveries.state, "pending"),
        ne(notificationDeliveries.event, "test"),
        or(isNull(notificationDeliveries.leasedUntil), lt(notificationDeliveries.leasedUntil, sql`now()`)),
      ),
    )
    .returning({ id: notificationDeliveries.id, attempts: notificationDeliveries.attempts });
  if (dropped.length > 0) {
    await tx
      .insert(notificationAttempts)
      .values(
        dropped.map((delivery) => ({
          deliveryId: delivery.id,
          attempt: delivery.attempts,
          attemptedAt: now,
          statusCode: null,
          error: DROPPED_DISABLED,
          durationMs: 0,
        })),
      )
      .onConflictDoNothing();
  }
  return dropped.length;
}

async function projectOf(db: Database, projectId: string) {
  const [project] = await db
    .select({ id: projects.id, name: projects.name })
    .from(projects)
    .where(eq(projects.id, projectId));
  if (!project) throw new AppError("not_found", `no project ${projectId}`);
  return project;
}

export async function createDestination({
  db,
  projectId,
  input,
  allowPrivateEndpoints,
}: {
  db: Database;
  projectId: string;
  input: CreateDestinationRequest;
  allowPrivateEndpoints: boolean;
}): Promise<CreateDestinationResponse> {
  await projectOf(db, projectId);
  assertDeliverableUrl(input.url, allowPrivateEndpoints);
  const existing = await db
    .select({ id: notificationDestinations.id })
    .from(notificationDestinations)
    .where(eq(notificationDestinations.projectId, projectId));
  if (existing.length >= MAX_DESTINATIONS_PER_PROJECT) {
    throw new AppError(
      "validation_error",
      `a project has at most ${MAX_DESTINATIONS_PER_PROJECT} destinations; delete one first`,
      { errors: [{ path: "(root)", message: `at most ${MAX_DESTINATIONS_PER_PROJECT} destinations` }] },
    );
  }
  const secret = input.kind === "webhook" ? generateWebhookSecret() : null;
  const [row] = await db
    .insert(notificationDestinations)
    .values({
      projectId,
      name: input.name,
      kind: input.kind,
      url: input.url,
      secret,
      events: [...new Set(input.events)],
      minVerdict: input.min_verdict,
      enabled: input.enabled,
    })
    .returning();
  if (!row) throw new Error("the destination was not written");
  return { ...toDestination(row), secret };
}

export async function listDestinations({
  db,
  projectId,
}: {
  db: Database;
  projectId: string;
}): Promise<Destination[]> {
  await projectOf(db, projectId);
  const rows = await db
    .select()
    .from(notificationDestinations)
    .where(eq(notificationDestinations.projectId, projectId))
    .orderBy(notificationDestinations.createdAt);
  return rows.map(toDestination);
}

/** A destination, when it exists and (for a project session) belongs to the project. */
export async function findDestination(
  db: Database,
  destinationId: string,
): Promise<NotificationDestinationRow | undefined> {
  const [row] = await db
    .select()
    .from(notificationDestinations)
    .where(eq(notificationDestinations.id, destinationId));
  return row;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The id of a destination given by id, or by name (regardless of case) within a project. A name
 * two destinations of the project share is refused: the id tells them apart.
 */
export async function findDestinationId({
  db,
  nameOrId,
  projectId,
}: {
  db: Database;
  nameOrId: string;
  projectId?: string;
}): Promise<string> {
  if (UUID.test(nameOrId)) {
    const row = await findDestination(db, nameOrId);
    if (!row || (projectId !== undefined && row.projectId !== projectId)) throw destinationNotFound(nameOrId);
    return row.id;
  }
  if (projectId === undefined) {
    throw new AppError("not_found", `no notification destination with id "${nameOrId}" (ids are UUIDs)`);
  }
  const rows = await db
    .select({ id: notificationDestinations.id })
    .from(notificationDestinations)
    .where(
      and(
        eq(notificationDestinations.projectId, projectId),
        sql`lower(${notificationDestinations.name}) = lower(${nameOrId})`,
      ),
    );
  if (rows.length === 0)
    throw new AppError("not_found", `no notification destination named "${nameOrId}" in this project`);
  if (rows.length > 1) {
    throw new AppError(
      "validation_error",
      `${rows.length} destinations of the project are named "${nameOrId}"; give the id of one: ${rows.map((row) => row.id).join(", ")}`,
      { errors: [{ path: "destination", message: "names more than one destination" }] },
    );
  }
  return (rows[0] as { id: string }).id;
}

function destinationNotFound(destinationId: string): AppError {
  return new AppError("not_found", `no notification destination ${destinationId}`);
}

export async function deleteDestination({ db, destinationId }: { db: Database; destinationId: string }) {
  const deleted = await db
    .delete(notificationDestinations)
    .where(eq(notificationDestinations.id, destinationId))
    .returning({ id: notificationDestinations.id });
  if (deleted.length === 0) throw destinationNotFound(destinationId);
}

/**
 * Changes the fields sent, validated as at creation (the URL passes the same guard). Disabling
 * drops the deliveries still owed (dropOwedDeliveries); a new URL or secret applies to every
 * attempt from now on, retries of earlier events included.
 */
export async function updateDestination({
  db,
  destinationId,
  input,
  allowPrivateEndpoints,
}: {
  db: Database;
  destinationId: string;
  input: UpdateDestinationRequest;
  allowPrivateEndpoints: boolean;
}): Promise<Destination> {
  if (input.url !== undefined) assertDeliverableUrl(input.url, allowPrivateEndpoints);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(notificationDestinations)
      .set({
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.url === undefined ? {} : { url: input.url }),
        ...(input.events === undefined ? {} : { events: [...new Set(input.events)] }),
        ...(input.min_verdict === undefined ? {} : { minVerdict: input.min_verdict }),
        ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
      })
      .where(eq(notificationDestinations.id, destinationId))
      .returning();
    if (!row) throw destinationNotFound(destinationId);
    if (!row.enabled) await dropOwedDeliveries(tx, destinationId);
    return toDestination(row);
  });
}

/**
 * A new signing secret for a generic webhook, answered once. Every attempt from now on is signed
 * with it (retries of earlier events too); the old one signs nothing more.
 */
export async function rotateDestinationSecret({
  db,
  destinationId,
}: {
  db: Database;
  destinationId: string;
}): Promise<RotateDestinationSecretResponse> {
  const destination = await findDestination(db, destinationId);
  if (!destination) throw destinationNotFound(destinationId);
  if (destination.kind !== "webhook") {
    throw new AppError(
      "validation_error",
      "a Slack destination has no signing secret: its URL is the credential; change the url instead",
      { errors: [{ path: "kind", message: "only generic webhooks have a signing secret" }] },
    );
  }
  const secret = generateWebhookSecret();
  const [row] = await db
    .update(notificationDestinations)
    .set({ secret })
    .where(eq(notificationDestinations.id, destinationId))
    .returning();
  if (!row) throw destinationNotFound(destinationId);
  return { ...toDestination(row), secret };
}

export async function sendTest({
  db,
  destinationId,
}: {
  db: Database;
  destinationId: string;
}): Promise<TestDeliveryResponse> {
  const destination = await findDestination(db, destinationId);
  if (!destination) throw destinationNotFound(destinationId);
  const project = await projectOf(db, destination.projectId);
  return { delivery_id: await recordTestDelivery(db, destination, project), state: "pending" };
}

export async function listDeliveries({
  db,
  destinationId,
  limit,
}: {
  db: Database;
  destinationId: string;
  limit: number;
}): Promise<Delivery[]> {
  if (!(await findDestination(db, destinationId))) throw destinationNotFound(destinationId);
  const rows = await db
    .select()
    .from(notificationDeliveries)
    .where(eq(notificationDeliveries.destinationId, destinationId))
    .orderBy(desc(notificationDeliveries.createdAt))
    .limit(limit);
  const attempts =
    rows.length === 0
      ? []
      : await db
          .select()
          .from(notificationAttempts)
          .where(
            inArray(
              notificationAttempts.deliveryId,
              rows.map((row) => row.id),
            ),
          )
          .orderBy(notificationAttempts.attempt);
  return rows.map((row) => ({
    delivery_id: row.id,
    destination_id: row.destinationId,
    event: row.event,
    deployment_id: row.deploymentId,
    state: row.state,
    attempts: row.attempts,
    created_at: row.createdAt.toISOString(),
    next_attempt_at: row.state === "pending" ? row.nextAttemptAt.toISOString() : null,
    delivered_at: row.deliveredAt?.toISOString() ?? null,
    log: attempts
      .filter((attempt) => attempt.deliveryId === row.id)
      .map((attempt) => ({
        attempt: attempt.attempt,
        attempted_at: attempt.attemptedAt.toISOString(),
        status_code: attempt.statusCode,
        error: attempt.error,
        duration_ms: attempt.durationMs,
      })),
  }));
}
