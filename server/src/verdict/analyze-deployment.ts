import type { AnalysisResult } from "@seqpulse/types";
import { eq, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.js";
import {
  collectionFailures,
  deployments,
  lastKnownGood,
  metricSamples,
  verdicts,
} from "../db/schema/index.js";
import { type Evidence, loadEvidence, loadTarget, type Target, toObservation } from "../deployments/store.js";
import { observationPlan, plannedPostSamples } from "../deployments/window.js";
import { recordEvent } from "../notifications/outbox.js";
import { analyze, type EngineInput } from "./engine.js";

/**
 * Writes the deployment's one verdict from the samples collected so far and marks it analyzed;
 * an `ok` verdict makes the deployment its environment's last known good. Running it twice
 * writes nothing the second time.
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
}): Promise<{ verdict: AnalysisResult } | "skipped"> {
  return db.transaction(async (tx) => {
    const target = await loadTarget(tx, deploymentId, { lockForUpdate: true });
    if (target?.deployment.state !== "finished") return "skipped";

    const planned = plannedPostSamples(observationPlan(target));
    if (deadline) await recordUnsettledSlots(tx, deploymentId, planned);

    const result = analyze(engineInput(target, await loadEvidence(tx, deploymentId)));
    await tx
      .insert(verdicts)
      .values({
        deploymentId,
        verdict: result.verdict,
        confidence: result.confidence,
        summary: result.summary,
        reasons: result.reasons,
        dataQuality: result.data_quality,
        hints: result.hints ?? [],
        engineVersion: result.engine_version ?? null,
        dryRun: result.dry_run ?? false,
      })
      .onConflictDoNothing();
    await tx
      .update(deployments)
      .set({ state: "analyzed", analyzedAt: sql`now()` })
      .where(eq(deployments.id, deploymentId));
    if (result.verdict === "ok") {
      const reference = { projectId: target.project.id, env: target.deployment.env, deploymentId };
      await tx
        .insert(lastKnownGood)
        .values(reference)
        .onConflictDoUpdate({
          target: [lastKnownGood.projectId, lastKnownGood.env],
          set: { deploymentId, updatedAt: sql`now()` },
        });
    }
    // The notifications the verdict owes commit with it.
    await recordEvent(tx, { event: "verdict", deploymentId });
    return { verdict: result };
  });
}

/** The engine's input from what the deployment's slots produced. */
export function engineInput(target: Target, evidence: Evidence): EngineInput {
  const { project } = target;
  return {
    baseline: evidence.baseline.map((sample) =>
      toObservation(sample, sample.source, project.baselineIntervalSeconds),
    ),
    post: evidence.post.map((sample) => ({
      ...toObservation(sample, "sample", project.sampleIntervalSeconds),
      sequence: sample.sequence,
    })),
    lastKnownGood: evidence.lastKnownGood.map((sample) =>
      toObservation(sample, "last_known_good", project.sampleIntervalSeconds),
    ),
    failures: evidence.failures.map((failure) => ({
      phase: failure.phase,
      sequence: failure.sequence,
      kind: failure.kind,
    })),
    plannedPostSamples: plannedPostSamples(observationPlan(target)),
    sampleIntervalSeconds: project.sampleIntervalSeconds,
    settings: project.analysis,
  };
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
