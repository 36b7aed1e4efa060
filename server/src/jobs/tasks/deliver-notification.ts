import type { Database } from "../../db/client.js";
import type { Logger } from "../../logger.js";
import { attemptDelivery, type DeliveryOptions } from "../../notifications/deliver.js";
import type { DeliveryJob, QueuedJob } from "../queue.js";

/** Sends one attempt of a notification; a delivery already sent, failed or held elsewhere is left alone. */
export function deliverNotificationTask(deps: { db: Database; logger: Logger; options: DeliveryOptions }) {
  return async ({ data }: QueuedJob<DeliveryJob>) => {
    await attemptDelivery(deps, data.deliveryId);
  };
}
