import { eq, sql } from "drizzle-orm";
import { analyze } from "../analysis/engine.js";
import type { Database, Transaction } from "../db/client.js";
import { collectionFailures, deployments, metricSamples, verdicts } from "../db/schema/index.js";
import { loadEvidence, loadTarget, toMetricValues } from "../deployments/store.js";
import { observationPlan, plannedPostSamples } from "../deployments/window.js";

/**
 * Writes the deployment's one verdict from the samples collected so far and marks it analyzed.
 * Running it twice writes nothing the second time.
 */
export async function analyzeDeployment({
  db,
  deploymentId,
  deadline = false,
}: {
  db: Database;
  deploymentId: string;
  /**
   * The analysis runs because the window's time is up, not because every slot settled: a slot
   * still without an outcome lost its job (e.g. with a crashed worker) and is recorded as a failure.
   */
  deadline?: boolean;
}): Promise<"analyzed" | "skipped"> {
  return db.transaction(async (tx) => {
    const target = await loadTarget(tx, deploymentId, { lockForUpdate: true });
    if (target?.deployment.state !== "finished") return "skipped";

    const planned = plannedPostSamples(observationPlan(target));
    if (deadline) await recordUnsettledSlots(tx, deploymentId, planned);

    const evidence = await loadEvidence(tx, deploymentId);
    const result = analyze({
      baseline: evidence.baseline.map(toMetricValues),
      post: evidence.post.map(toMetricValues),
      failures: evidence.failures,
      plannedPostSamples: planned,
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

async function recordUnsettledSlots(
  tx: Transaction,
  deploymentId: string,
  plannedPost: number,
): Promise<void> {
  await tx.execute(sql`
    insert into ${collectionFailures} (deployment_id, phase, sequence, kind, reason)
    select ${deploymentId}::uuid, slot.phase, slot.sequence, 'transient',
           'no outcome by the analysis deadline: the sample job was lost or kept failing'
    from (select 'baseline' as phase, 0 as sequence
          union all select 'post', generate_series(1, ${plannedPost}::int)) as slot
    where not exists (select 1 from ${metricSamples} s where s.deployment_id = ${deploymentId}::uuid
                        and s.phase = slot.phase and s.sequence = slot.sequence)
    on conflict do nothing`);
}
