import { z } from "zod";
import { AnalysisResult, AnalysisSettings, AnalysisSettingsPatch, MetricValues } from "./analysis.js";
import {
  DeploymentState,
  ENV_NAME_PATTERN,
  FailureKind,
  PipelineResult,
  RunningConflict,
  SamplePhase,
} from "./enums.js";

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export const EnvName = z
  .string()
  .regex(
    ENV_NAME_PATTERN,
    "must be 1-50 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

export const HttpUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    } catch {
      return false;
    }
  }, "must be an absolute http:// or https:// URL");

const optionalText = (max: number) => z.string().trim().min(1).max(max).nullish();

/** CI metadata: stored as given and shown back. Extra scalar fields are kept too. */
export const CiMetadata = z
  .object({
    provider: optionalText(50),
    repository: optionalText(255),
    run_id: z.union([z.string().max(100), z.number().int()]).nullish(),
    run_attempt: z.union([z.string().max(20), z.number().int()]).nullish(),
    run_url: optionalText(2048),
    workflow: optionalText(255),
    job: optionalText(255),
    actor: optionalText(255),
    event: optionalText(100),
    ref: optionalText(255),
  })
  .catchall(z.union([z.string().max(500), z.number(), z.boolean(), z.null()]).optional())
  .refine((ci) => Object.keys(ci).length <= 30, "at most 30 fields");
export type CiMetadata = z.infer<typeof CiMetadata>;

export const TriggerRequest = z
  .object({
    env: EnvName,
    branch: optionalText(255),
    commit_sha: z
      .string()
      .trim()
      .regex(/^[0-9a-fA-F]{4,64}$/, "must be a hexadecimal commit hash")
      .nullish(),
    metrics_endpoint: HttpUrl.nullish(),
    idempotency_key: z.string().nullish(),
    ci: CiMetadata.nullish(),
  })
  .strict();
export type TriggerRequest = z.infer<typeof TriggerRequest>;

export const TriggerResponse = z.object({
  deployment_id: z.uuid(),
  deployment_number: z.number().int().positive(),
  status: z.enum(["created", "existing"]),
  /** Why an existing deployment was returned. */
  reason: z.enum(["idempotency_key", "running"]).optional(),
  env: z.string(),
  state: DeploymentState,
  started_at: z.string(),
  idempotency_key: z.string().nullable(),
});
export type TriggerResponse = z.infer<typeof TriggerResponse>;

export const FinishRequest = z
  .object({
    deployment_id: z.uuid("must be a deployment id (UUID)"),
    result: PipelineResult,
  })
  .strict();
export type FinishRequest = z.infer<typeof FinishRequest>;

export const FinishResponse = z.discriminatedUnion("status", [
  z.object({ status: z.literal("accepted"), deployment_id: z.uuid(), state: z.literal("finished") }),
  z.object({ status: z.literal("ignored"), deployment_id: z.uuid(), state: DeploymentState }),
]);
export type FinishResponse = z.infer<typeof FinishResponse>;

export const Deployment = z.object({
  id: z.uuid(),
  project_id: z.uuid(),
  deployment_number: z.number().int(),
  env: z.string(),
  state: DeploymentState,
  state_reason: z.string().nullable(),
  pipeline_result: PipelineResult.nullable(),
  idempotency_key: z.string().nullable(),
  branch: z.string().nullable(),
  commit_sha: z.string().nullable(),
  metrics_endpoint: z.string(),
  ci: z.record(z.string(), z.unknown()).nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
  abandoned_at: z.string().nullable(),
  analyzed_at: z.string().nullable(),
});
export type Deployment = z.infer<typeof Deployment>;

export const MetricSample = z.object({
  phase: SamplePhase,
  sequence: z.number().int(),
  /** The slot's scheduled time. */
  collected_at: z.string(),
  /** When the endpoint actually answered; later than collected_at when the worker was late. */
  fetched_at: z.string(),
  metrics: MetricValues,
});
export type MetricSample = z.infer<typeof MetricSample>;

export const CollectionFailure = z.object({
  phase: SamplePhase,
  sequence: z.number().int(),
  attempted_at: z.string(),
  kind: FailureKind,
  reason: z.string(),
  http_status: z.number().int().nullable(),
});
export type CollectionFailure = z.infer<typeof CollectionFailure>;

export const Verdict = AnalysisResult.extend({ created_at: z.string() });
export type Verdict = z.infer<typeof Verdict>;

/** A person's call on a verdict: a false alarm or known risk, or the rollback was done. */
export const decisionValues = ["accepted", "rollback_done"] as const;
export const DecisionValue = z.enum(decisionValues);
export type DecisionValue = z.infer<typeof DecisionValue>;

export const MAX_DECISION_NOTE_LENGTH = 1000;

export const DeploymentDecision = z.object({
  decision: DecisionValue,
  note: z.string().nullable(),
  /** Which credential made the call: `admin` or `project key <key id>`. */
  decided_by: z.string(),
  decided_at: z.string(),
});
export type DeploymentDecision = z.infer<typeof DeploymentDecision>;

export const DeploymentDetail = Deployment.extend({
  samples: z.array(MetricSample),
  collection_failures: z.array(CollectionFailure),
  verdict: Verdict.nullable(),
  /** The manual decision on the verdict, made in the console; null until someone decides. */
  decision: DeploymentDecision.nullable(),
});
export type DeploymentDetail = z.infer<typeof DeploymentDetail>;

export const ListDeploymentsQuery = z
  .object({
    env: EnvName.optional(),
    state: DeploymentState.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .regex(/^[1-9][0-9]{0,9}$/, "must be a cursor returned by a previous page")
      .refine((cursor) => Number(cursor) <= 2_147_483_647, "must be a cursor returned by a previous page")
      .optional(),
  })
  .strict();
export type ListDeploymentsQuery = z.infer<typeof ListDeploymentsQuery>;

export const DeploymentList = z.object({
  items: z.array(Deployment),
  next_cursor: z.string().nullable(),
});
export type DeploymentList = z.infer<typeof DeploymentList>;

/** One field's problem: `path` is dotted (`ci.run_id`), `(root)` for the body itself. */
export const FieldProblem = z.object({ path: z.string(), message: z.string() });
export type FieldProblem = z.infer<typeof FieldProblem>;

/** An RFC 9457 problem body, with the extension members some codes carry. */
export const ProblemDetails = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.string(),
  detail: z.string(),
  /** validation_error, metrics_endpoint_required, metrics_endpoint_mismatch: each field's problem. */
  errors: z.array(FieldProblem).optional(),
  /** environment_busy, idempotency_key_reused: the deployment that holds the environment or the key. */
  deployment_id: z.uuid().optional(),
  deployment_number: z.number().int().optional(),
  /** env_not_allowed: the environments the project accepts. */
  allowed_envs: z.array(z.string()).optional(),
  request_id: z.string().optional(),
});
export type ProblemDetails = z.infer<typeof ProblemDetails>;

export const HealthStatus = z.object({ status: z.literal("ok") });
export type HealthStatus = z.infer<typeof HealthStatus>;

export const ReadyStatus = z.object({ status: z.literal("ready") });
export type ReadyStatus = z.infer<typeof ReadyStatus>;

export const CreateProjectRequest = z
  .object({
    name: z.string().trim().min(1).max(100),
    envs: z.array(EnvName).max(50).optional(),
    metrics_endpoint: HttpUrl.optional(),
    observation_window_seconds: z.number().int().min(1).max(86_400).optional(),
    sample_interval_seconds: z.number().int().min(1).max(3_600).optional(),
    warmup_seconds: z.number().int().min(0).max(3_600).optional(),
    hmac_enabled: z.boolean().optional(),
    running_conflict: RunningConflict.optional(),
    analysis: AnalysisSettingsPatch.optional(),
  })
  .strict();
export type CreateProjectRequest = z.infer<typeof CreateProjectRequest>;

export const ProjectSettings = z.object({
  project_id: z.uuid(),
  name: z.string(),
  envs: z.array(z.string()),
  metrics_endpoint: z.string().nullable(),
  observation_window_seconds: z.number().int(),
  sample_interval_seconds: z.number().int(),
  warmup_seconds: z.number().int(),
  hmac_enabled: z.boolean(),
  running_conflict: RunningConflict,
  analysis: AnalysisSettings,
  created_at: z.string(),
});
export type ProjectSettings = z.infer<typeof ProjectSettings>;

export const CreateProjectResponse = ProjectSettings.extend({
  /** Shown once; only its hash is stored. */
  api_key: z.string(),
  /** Shared with the application to verify HMAC-signed metrics requests. */
  hmac_secret: z.string(),
});
export type CreateProjectResponse = z.infer<typeof CreateProjectResponse>;

export const ProjectList = z.object({ items: z.array(ProjectSettings) });
export type ProjectList = z.infer<typeof ProjectList>;
