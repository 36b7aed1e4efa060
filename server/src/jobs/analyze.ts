import { asc, eq, sql } from "drizzle-orm";
import { analyze } from "../analysis/engine.js";
import type { Database } from "../db/client.js";
import { collectionFailures, deployments, metricSamples, projects, verdicts } from "../db/schema/index.js";
import { observationPlan, toMetricValues } from "./collect.js";
import { plannedPostSamples } from "./schedule.js";

/**
 * Writes the deployment's one verdict from the samples collected so far and marks it analyzed.
 * Running it twice writes nothing the second time.
 */
export async function analyzeDeployment({
  db,
  deploymentId,
}: {
  db: Database;
  deploymentId: string;
}): Promise<"analyzed" | "skipped"> {
  return db.transaction(async (tx) => {
    const [target] = await tx
      .select({ deployment: deployments, project: projects })
      .from(deployments)
      .innerJoin(projects, eq(projects.id, deployments.projectId))
      .where(eq(deployments.id, deploymentId))
      .for("update", { of: deployments });
    if (target?.deployment.state !== "finished") return "skipped";

    const samples = await tx
      .select()
      .from(metricSamples)
      .where(eq(metricSamples.deploymentId, deploymentId))
      .orderBy(asc(metricSamples.collectedAt));
    const failures = await tx
      .select({ phase: collectionFailures.phase, kind: collectionFailures.kind })
      .from(collectionFailures)
      .where(eq(collectionFailures.deploymentId, deploymentId));

    const result = analyze({
      baseline: samples.filter((sample) => sample.phase === "baseline").map(toMetricValues),
      post: samples.filter((sample) => sample.phase === "post").map(toMetricValues),
      failures,
      plannedPostSamples: plannedPostSamples(observationPlan(target)),
      settings: target.project.analysis,
    });

    await tx
      .insert(verdicts)
      .values({
        deploymentId,
        verdict: result.verdict,
        confidence: result.confidence,
        summary: result.summary,
        reasons: result.reasons,
        dataQuality: result.data_quality,
      })
      .onConflictDoNothing();
    await tx
      .update(deployments)
      .set({ state: "analyzed", analyzedAt: sql`now()` })
      .where(eq(deployments.id, deploymentId));
    return "analyzed";
  });
}
