import { type NotificationEvent, type VerdictValue, verdictValues } from "@seqpulse/types";
import { and, eq, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.js";
import {
  deploymentDecisions,
  deployments,
  type NotificationDestinationRow,
  notificationDeliveries,
  notificationDestinations,
  projects,
  verdicts,
} from "../db/schema/index.js";
import { eventPayload, testPayload } from "./payload.js";

type Writer = Pick<Transaction, "select" | "insert">;

export interface DeploymentEvent {
  event: NotificationEvent;
  deploymentId: string;
}

const atOrAbove = (verdict: VerdictValue, minimum: VerdictValue) =>
  verdictValues.indexOf(verdict) >= verdictValues.indexOf(minimum);

/**
 * Writes the notifications an event owes, one outbox row per subscribed destination, in the
 * caller's transaction: the event and its notifications commit together or not at all. A
 * repeated event (same deployment and event; for decisions, same decision time) owes nothing new.
 * The worker's dispatcher sends them. Returns how many deliveries were written.
 */
export async function recordEvent(tx: Writer, { event, deploymentId }: DeploymentEvent): Promise<number> {
  const [target] = await tx
    .select({ deployment: deployments, project: projects })
    .from(deployments)
    .innerJoin(projects, eq(projects.id, deployments.projectId))
    .where(eq(deployments.id, deploymentId));
  if (!target) return 0;
  const destinations = await tx
    .select()
    .from(notificationDestinations)
    .where(
      and(
        eq(notificationDestinations.projectId, target.project.id),
        eq(notificationDestinations.enabled, true),
        sql`${event} = any(${notificationDestinations.events})`,
      ),
    );
  if (destinations.length === 0) return 0;

  const [[verdict], [decision]] = await Promise.all([
    tx.select().from(verdicts).where(eq(verdicts.deploymentId, deploymentId)),
    tx.select().from(deploymentDecisions).where(eq(deploymentDecisions.deploymentId, deploymentId)),
  ]);
  const wanted = destinations.filter(
    (destination) => event !== "verdict" || (verdict && atOrAbove(verdict.verdict, destination.minVerdict)),
  );
  if (wanted.length === 0) return 0;
  const payload = eventPayload({
    event,
    project: target.project,
    deployment: target.deployment,
    verdict: verdict ?? null,
    decision: event === "verdict.decided" ? (decision ?? null) : null,
    occurredAt: new Date(),
  });
  const eventKey =
    event === "verdict.decided" && decision
      ? `${event}:${deploymentId}:${decision.decidedAt.toISOString()}`
      : `${event}:${deploymentId}`;
  const written = await tx
    .insert(notificationDeliveries)
    .values(
      wanted.map((destination) => ({
        destinationId: destination.id,
        event,
        eventKey,
        deploymentId,
        payload,
      })),
    )
    .onConflictDoNothing()
    .returning({ id: notificationDeliveries.id });
  return written.length;
}

/** The "send test" message for one destination, delivered like any other; returns its delivery id. */
export async function recordTestDelivery(
  db: Pick<Database, "insert">,
  destination: NotificationDestinationRow,
  project: { id: string; name: string },
): Promise<string> {
  const [row] = await db
    .insert(notificationDeliveries)
    .values({
      destinationId: destination.id,
      event: "test",
      eventKey: `test:${crypto.randomUUID()}`,
      payload: testPayload(project, destination, new Date()),
    })
    .returning({ id: notificationDeliveries.id });
  if (!row) throw new Error("the test delivery was not written");
  return row.id;
}
