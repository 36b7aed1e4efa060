import type { Database } from "../../db/client.js";
import type { Logger } from "../../logger.js";
import type { ServerMetrics } from "../../observability/metrics.js";
import { analyzeDeployment } from "../../verdict/analyze-deployment.js";
import type { AnalyzeJob, QueuedJob } from "../queue.js";

/** Writes the deployment's verdict; a repeated job finds it analyzed and does nothing. */
export function analyzeDeploymentTask(deps: { db: Database; logger: Logger; metrics?: ServerMetrics }) {
  return async ({ data }: QueuedJob<AnalyzeJob>) => {
    const outcome = await analyzeDeployment({
      db: deps.db,
      deploymentId: data.deploymentId,
      deadline: data.deadline === true,
    });
    if (outcome === "skipped") return;
    const { verdict } = outcome;
    deps.metrics?.verdicts.inc({ verdict: verdict.verdict, dry_run: String(verdict.dry_run ?? false) });
    deps.logger.info("deployment analyzed", { deployment_id: data.deploymentId, verdict: verdict.verdict });
  };
}
