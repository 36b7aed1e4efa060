import type { DatabaseHandle } from "../../db/client.js";
import type { Logger } from "../../logger.js";
import type { DeliveryOptions } from "../../notifications/deliver.js";
import type { ServerMetrics } from "../../observability/metrics.js";
import type { CollectorOptions } from "../../sampling/collect-sample.js";
import {
  ANALYZE_QUEUE,
  type AnalyzeJob,
  COLLECT_QUEUE,
  DELIVER_QUEUE,
  type DeliveryJob,
  type JobQueue,
  type SampleJob,
} from "../queue.js";
import { analyzeDeploymentTask } from "./analyze-deployment.js";
import { collectSampleTask } from "./collect-sample.js";
import { deliverNotificationTask } from "./deliver-notification.js";

export interface WorkerOptions {
  /** Sample jobs in flight at once: each mostly waits on a metrics endpoint. */
  collectConcurrency: number;
  analyzeConcurrency: number;
  /** How often an empty queue is polled: the bound on how late a due sample starts. */
  idlePollMs: number;
  collector: CollectorOptions;
  notifications: DeliveryOptions;
}

/** Consumes the collection and analysis queues in this process. */
export function startTasks(
  queue: JobQueue,
  deps: { database: DatabaseHandle; logger: Logger; metrics?: ServerMetrics },
  options: WorkerOptions,
): void {
  queue.work<SampleJob>(COLLECT_QUEUE, collectSampleTask({ ...deps, queue, collector: options.collector }), {
    concurrency: options.collectConcurrency,
    idlePollMs: options.idlePollMs,
  });
  queue.work<AnalyzeJob>(
    ANALYZE_QUEUE,
    analyzeDeploymentTask({
      db: deps.database.db,
      logger: deps.logger,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    }),
    {
      concurrency: options.analyzeConcurrency,
      idlePollMs: options.idlePollMs,
    },
  );
  // Each delivery mostly waits on a receiver, like a sample on its endpoint.
  queue.work<DeliveryJob>(
    DELIVER_QUEUE,
    deliverNotificationTask({
      db: deps.database.db,
      logger: deps.logger,
      options: options.notifications,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    }),
    { concurrency: Math.max(4, Math.ceil(options.collectConcurrency / 4)), idlePollMs: options.idlePollMs },
  );
}
