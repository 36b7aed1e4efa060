import type { SamplePhase } from "@seqpulse/types";
import type { DeploymentRow, Project } from "../db/schema/index.js";

/** When a finished deployment's post samples are due. */
export interface ObservationPlan {
  finishedAt: Date;
  warmupSeconds: number;
  sampleIntervalSeconds: number;
  observationWindowSeconds: number;
}

export function observationPlan(target: {
  deployment: Pick<DeploymentRow, "id" | "finishedAt">;
  project: Pick<Project, "warmupSeconds" | "sampleIntervalSeconds" | "observationWindowSeconds">;
}): ObservationPlan {
  if (!target.deployment.finishedAt) throw new Error(`deployment ${target.deployment.id} has not finished`);
  return {
    finishedAt: target.deployment.finishedAt,
    warmupSeconds: target.project.warmupSeconds,
    sampleIntervalSeconds: target.project.sampleIntervalSeconds,
    observationWindowSeconds: target.project.observationWindowSeconds,
  };
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

/** The scheduled time of baseline sample `sequence`: the trigger, then one per baseline interval. */
export function baselineSlotTime(
  target: {
    deployment: Pick<DeploymentRow, "startedAt">;
    project: Pick<Project, "baselineIntervalSeconds">;
  },
  sequence: number,
): Date {
  return new Date(
    target.deployment.startedAt.getTime() + sequence * target.project.baselineIntervalSeconds * 1000,
  );
}

/** The last post slot of the window. */
export function lastPostSlotTime(plan: ObservationPlan): Date {
  return postSlotTime(plan, plannedPostSamples(plan));
}

/** One sample slot of a deployment: the baseline (sequence 0) or a post sample (1..n). */
export interface SampleSlot {
  deploymentId: string;
  phase: SamplePhase;
  sequence: number;
}
