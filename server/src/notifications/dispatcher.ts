import type { DatabaseHandle } from "../db/client.js";
import type { JobQueue } from "../jobs/queue.js";
import { errorFields, type Logger } from "../logger.js";
import { dueDeliveries } from "./deliver.js";

/** How often the outbox is read: the bound on how late a new notification starts. */
export const DISPATCH_INTERVAL_MS = 500;
/** Due deliveries queued per round; more wait for the next round. */
const DISPATCH_BATCH = 200;

/**
 * The outbox relay: every interval, queues an attempt for each delivery that is due — new ones
 * written with their event, retries whose time has come, and attempts whose worker died (their
 * lease ran out). Returns the function that stops it.
 */
export function startNotificationDispatcher(
  deps: { database: DatabaseHandle; queue: JobQueue; logger: Logger },
  intervalMs = DISPATCH_INTERVAL_MS,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let failing = false;
  const dispatch = async () => {
    try {
      const due = await dueDeliveries(deps.database.db, DISPATCH_BATCH);
      await deps.queue.enqueueDeliveries(deps.database.executor, due);
      if (failing) deps.logger.info("notification dispatch recovered");
      failing = false;
    } catch (error) {
      if (!failing) deps.logger.warn("notification dispatch failed; retrying", errorFields(error));
      failing = true;
    }
  };
  const timer = setInterval(() => {
    running ??= dispatch().finally(() => {
      running = undefined;
    });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
