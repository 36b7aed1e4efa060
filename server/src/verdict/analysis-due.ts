import type { Database } from "../db/client.js";
import { loadEvidence, loadTarget, type Target } from "../deployments/store.js";
import { observationPlan, plannedPostSamples } from "../deployments/window.js";
import { engineInput } from "./analyze-deployment.js";
import { shouldFailFast } from "./engine.js";

export type AnalysisTrigger = "window_complete" | "fail_fast";

/**
 * Whether a finished deployment is ready for its verdict: the baseline and every planned post
 * slot settled, or the samples so far already call for a rollback. `known` is the caller's read of
 * the deployment; it serves when it was made after the finish, saving a round trip per sample.
 */
export async function analysisDue(
  db: Database,
  deploymentId: string,
  known?: Target,
): Promise<AnalysisTrigger | null> {
  const target = known?.deployment.state === "finished" ? known : await loadTarget(db, deploymentId);
  if (target?.deployment.state !== "finished") return null;
  const evidence = await loadEvidence(db, deploymentId);
  if (shouldFailFast(engineInput(target, evidence))) return "fail_fast";
  const settled = (phase: "baseline" | "post") =>
    (phase === "baseline" ? evidence.baseline : evidence.post).length +
    evidence.failures.filter((failure) => failure.phase === phase).length;
  return settled("baseline") > 0 && settled("post") >= plannedPostSamples(observationPlan(target))
    ? "window_complete"
    : null;
}
