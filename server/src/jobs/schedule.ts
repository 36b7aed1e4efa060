import { createHash } from "node:crypto";
import type { SamplePhase } from "@seqpulse/types";

export interface ObservationPlan {
  finishedAt: Date;
  warmupSeconds: number;
  sampleIntervalSeconds: number;
  observationWindowSeconds: number;
}

/** How many post samples a window plans: one per interval, at least one. */
export function plannedPostSamples(plan: Omit<ObservationPlan, "finishedAt">): number {
  return Math.max(1, Math.floor(plan.observationWindowSeconds / plan.sampleIntervalSeconds));
}

/**
 * The scheduled time of post sample `sequence` (1-based): the warmup passes unsampled,
 * then one sample at the end of each interval of the observation window.
 */
export function postSlotTime(plan: ObservationPlan, sequence: number): Date {
  const offsetSeconds = plan.warmupSeconds + sequence * plan.sampleIntervalSeconds;
  return new Date(plan.finishedAt.getTime() + offsetSeconds * 1000);
}

/**
 * A stable job id per deployment, phase and sequence: sending the same job twice (a retried
 * request, the reconciler after a crash) inserts it once.
 */
export function jobId(
  kind: string,
  deploymentId: string,
  phase: SamplePhase | "analysis",
  sequence = 0,
): string {
  const hex = createHash("sha256").update(`${kind}:${deploymentId}:${phase}:${sequence}`).digest("hex");
  // Shape the digest as a version-5-style UUID, which pg-boss requires for ids.
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `5${hex.slice(13, 16)}`,
    ((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16) + hex.slice(18, 20),
    hex.slice(20, 32),
  ].join("-");
}
