import type { DatabaseHandle } from "../../db/client.js";
import type { Logger } from "../../logger.js";
import type { ServerMetrics } from "../../observability/metrics.js";
import { type CollectorOptions, collectSample } from "../../sampling/collect-sample.js";
import { analysisDue } from "../../verdict/analysis-due.js";
import type { JobQueue, QueuedJob, SampleJob } from "../queue.js";

/** Takes a slot's sample, then queues the analysis when that sample completed the window. */
export function collectSampleTask(deps: {
  database: DatabaseHandle;
  queue: JobQueue;
  logger: Logger;
  collector: CollectorOptions;
  metrics?: ServerMetrics;
}) {
  return async ({ data: slot }: QueuedJob<SampleJob>) => {
    const result = await collectSample(
      { db: deps.database.db, logger: deps.logger, collector: deps.collector },
      slot,
    );
    if (result.status !== "settled") return;
    if (result.written) {
      deps.metrics?.samples.inc({ phase: slot.phase, outcome: result.written.outcome });
      if ("latenessMs" in result.written)
        deps.metrics?.sampleLateness.observe({ phase: slot.phase }, result.written.latenessMs / 1000);
    }
    if (result.nextBaseline) {
      await deps.queue.enqueueBaseline(deps.database.executor, slot.deploymentId, {
        sequence: result.nextBaseline.sequence,
        startAfter: result.nextBaseline.at,
      });
    }
    // Only a finished deployment can be due: a baseline taken while running leaves the window to come.
    if (result.state !== "finished") return;
    // A baseline settling after the deploy finished may be the last outcome the window waited for.
    const due = await analysisDue(deps.database.db, slot.deploymentId, result.target);
    if (!due) return;
    deps.logger.info("analysis due", { deployment_id: slot.deploymentId, why: due });
    await deps.queue.enqueueAnalysis(deps.database.executor, slot.deploymentId);
  };
}
