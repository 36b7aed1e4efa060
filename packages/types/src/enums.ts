import { z } from "zod";

/**
 * `abandoned`: running past the timeout; `cancelled`: discarded on request before its analysis
 * (never observed, no verdict). Both are terminal, like `analyzed`.
 */
export const deploymentStates = ["running", "finished", "analyzed", "abandoned", "cancelled"] as const;
export const DeploymentState = z.enum(deploymentStates);
export type DeploymentState = z.infer<typeof DeploymentState>;

export const pipelineResults = ["success", "failed", "cancelled"] as const;
export const PipelineResult = z.enum(pipelineResults);
export type PipelineResult = z.infer<typeof PipelineResult>;

export const verdictValues = ["ok", "warning", "rollback_recommended"] as const;
export const VerdictValue = z.enum(verdictValues);
export type VerdictValue = z.infer<typeof VerdictValue>;

export const samplePhases = ["baseline", "post"] as const;
export const SamplePhase = z.enum(samplePhases);
export type SamplePhase = z.infer<typeof SamplePhase>;

export const metricNames = [
  "requests_per_sec",
  "latency_p95",
  "error_rate",
  "cpu_usage",
  "memory_usage",
] as const;
export const MetricName = z.enum(metricNames);
export type MetricName = z.infer<typeof MetricName>;

/** How a sample slot failed: transient (network, 5xx, timeout), permanent (refused), invalid (bad payload). */
export const failureKinds = ["transient", "permanent", "invalid"] as const;
export const FailureKind = z.enum(failureKinds);
export type FailureKind = z.infer<typeof FailureKind>;

export const runningConflictModes = ["join", "reject"] as const;
export const RunningConflict = z.enum(runningConflictModes);
export type RunningConflict = z.infer<typeof RunningConflict>;

/** Environment names accepted when a project does not restrict them. */
export const ENV_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/;
