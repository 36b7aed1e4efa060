import type { Database } from "../../db/client.js";
import type { Logger } from "../../logger.js";
import { attemptDelivery, type DeliveryOptions } from "../../notifications/deliver.js";
import type { ServerMetrics } from "../../observability/metrics.js";
import type { DeliveryJob, QueuedJob } from "../queue.js";

/** Sends one attempt of a notification; a delivery already sent, failed or held elsewhere is left alone. */
export function deliverNotificationTask(deps: {
  db: Database;
  logger: Logger;
  options: DeliveryOptions;
  metrics?: ServerMetrics;
}) {
  return async ({ data }: QueuedJob<DeliveryJob>) => {
    const result = await attemptDelivery(deps, data.deliveryId);
    if (result !== "not_due") deps.metrics?.notificationDeliveries.inc({ outcome: result });
  };
}
