import type { Database } from "../../db/client.js";
import type { Logger } from "../../logger.js";
import { analyzeDeployment } from "../../verdict/analyze-deployment.js";
import type { AnalyzeJob, QueuedJob } from "../queue.js";

/** Writes the deployment's verdict; a repeated job finds it analyzed and does nothing. */
export function analyzeDeploymentTask(deps: { db: Database; logger: Logger }) {
  return async ({ data }: QueuedJob<AnalyzeJob>) => {
    const outcome = await analyzeDeployment({
      db: deps.db,
      deploymentId: data.deploymentId,
      deadline: data.deadline === true,
    });
    if (outcome === "analyzed") deps.logger.info("deployment analyzed", { deployment_id: data.deploymentId });
  };
}
