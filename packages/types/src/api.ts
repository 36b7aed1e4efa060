import { z } from "zod";
import { AnalysisResult, AnalysisSettings, AnalysisSettingsPatch, ObservationSource } from "./analysis.js";
import {
  DeploymentState,
  ENV_NAME_PATTERN,
  FailureKind,
  PipelineResult,
  RunningConflict,
  SamplePhase,
  VerdictValue,
} from "./enums.js";
import { MetricsSource, MetricsSourceView } from "./metrics-source.js";

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
    deployment_id: z.uuid("must be a deployment id (UUID)").optional(),
    /** With `idempotency_key`, instead of `deployment_id`: the deployment the key was triggered with. */
    env: EnvName.optional(),
    idempotency_key: z
      .string()
      .trim()
      .min(1)
      .max(MAX_IDEMPOTENCY_KEY_LENGTH)
      .regex(/^[\x20-\x7e]+$/, "must be printable ASCII")
      .optional(),
    result: PipelineResult,
  })
  .strict()
  .superRefine((body, ctx) => {
    const byKey = body.env !== undefined || body.idempotency_key !== undefined;
    if (body.deployment_id !== undefined && byKey) {
      ctx.addIssue({
        code: "custom",
        path: ["deployment_id"],
        message: "send deployment_id, or env and idempotency_key, not both",
      });
    } else if (body.deployment_id === undefined && !byKey) {
      ctx.addIssue({
        code: "custom",
        path: ["deployment_id"],
        message: "required, unless env and idempotency_key name the deployment",
      });
    } else if (byKey) {
      for (const field of ["env", "idempotency_key"] as const) {
        if (body[field] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: [field],
            message: "required when finishing by idempotency key",
          });
        }
      }
    }
  });
export type FinishRequest = z.infer<typeof FinishRequest>;

export const FinishResponse = z.discriminatedUnion("status", [
  z.object({ status: z.literal("accepted"), deployment_id: z.uuid(), state: z.literal("finished") }),
  z.object({ status: z.literal("ignored"), deployment_id: z.uuid(), state: DeploymentState }),
]);
export type FinishResponse = z.infer<typeof FinishResponse>;

/** The verdict as a list shows it; the deployment's own record has the whole verdict. */
export const VerdictSummary = AnalysisResult.pick({ verdict: true, confidence: true, summary: true }).extend({
  created_at: z.string(),
});
export type VerdictSummary = z.infer<typeof VerdictSummary>;

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
  /** Set when the deployment was cancelled; who and why are as the cancel request said. */
  cancelled_at: z.string().nullable(),
  cancelled_by: z.string().nullable(),
  cancel_reason: z.string().nullable(),
  verdict: VerdictSummary.nullable(),
});
export type Deployment = z.infer<typeof Deployment>;

/** The five metrics (null when the source did not measure one) and custom metrics by name. */
export const SampleMetrics = z
  .object({
    requests_per_sec: z.number().nullable(),
    latency_p95: z.number().nullable(),
    error_rate: z.number().nullable(),
    cpu_usage: z.number().nullable(),
    memory_usage: z.number().nullable(),
  })
  .catchall(z.number().nullable());
export type SampleMetrics = z.infer<typeof SampleMetrics>;

export const MetricSample = z.object({
  phase: SamplePhase,
  /** The slot: 0 is the trigger, 1… the next baseline samples or the window's post samples. */
  sequence: z.number().int(),
  /** The slot's scheduled time. */
  collected_at: z.string(),
  /** When the endpoint actually answered; later than collected_at when the worker was late. */
  fetched_at: z.string(),
  /** Requests and errors since `period_start`, from the application's counters or Prometheus. */
  period_start: z.string().nullable(),
  requests: z.number().int().nullable(),
  errors: z.number().int().nullable(),
  metrics: SampleMetrics,
});
export type MetricSample = z.infer<typeof MetricSample>;

/** What the verdict compares the post samples with, whatever its source. */
export const BaselineObservation = z.object({
  source: ObservationSource,
  start: z.string(),
  end: z.string(),
  requests: z.number().int().nullable(),
  errors: z.number().int().nullable(),
  metrics: SampleMetrics,
});
export type BaselineObservation = z.infer<typeof BaselineObservation>;

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
  /** Samples SeqPulse took (baseline slots and the window's post slots), in slot order. */
  samples: z.array(MetricSample),
  /**
   * The baseline: samples at and after the trigger, the application's history buckets before it,
   * or (when the deployment has none) the post samples of the environment's last `ok` deployment.
   */
  baseline_observations: z.array(BaselineObservation),
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
    /** The deployment's own key or the key of a trigger that joined it. */
    idempotency_key: z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH).optional(),
    /** A full or abbreviated commit hash (any case): matches the deployments whose commit starts with it. */
    commit_sha: z
      .string()
      .regex(/^[0-9a-fA-F]{4,64}$/, "must be a hexadecimal commit hash of at least 4 characters")
      .optional(),
    branch: z.string().min(1).max(255).optional(),
    verdict: VerdictValue.optional(),
    /** Only deployments triggered after this instant (ISO 8601 with a time zone). */
    created_after: z.iso
      .datetime({ offset: true, message: "must be an ISO 8601 date-time with a time zone" })
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
    baseline_interval_seconds: z.number().int().min(1).max(3_600).optional(),
    baseline_samples: z.number().int().min(1).max(60).optional(),
    baseline_lookback_seconds: z.number().int().min(0).max(86_400).optional(),
    metrics_source: MetricsSource.nullable().optional(),
    /** Days this project's samples are kept; the server's SEQPULSE_RETENTION_DAYS when unset. */
    retention_days: z.number().int().min(1).max(3650).nullable().optional(),
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
  baseline_interval_seconds: z.number().int(),
  baseline_samples: z.number().int(),
  baseline_lookback_seconds: z.number().int(),
  /** Header values are never shown. */
  metrics_source: MetricsSourceView.nullable(),
  retention_days: z.number().int().nullable(),
  hmac_enabled: z.boolean(),
  running_conflict: RunningConflict,
  analysis: AnalysisSettings,
  created_at: z.string(),
  /** Set while the project is disabled: its API keys are refused (403 project_disabled). */
  disabled_at: z.string().nullable(),
  /** Until then the API key replaced by the last rotation is still accepted; null when none is. */
  previous_api_key_expires_at: z.string().nullable(),
  /** Until then endpoints may still accept the HMAC secret replaced by the last rotation. */
  previous_hmac_expires_at: z.string().nullable(),
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

/** Cancels a deployment that has not been analyzed; `by` and `reason` are kept on its record. */
export const CancelRequest = z
  .object({
    reason: z.string().trim().min(1).max(500).optional(),
    by: z.string().trim().min(1).max(255).optional(),
  })
  .strict();
export type CancelRequest = z.infer<typeof CancelRequest>;

/** Changes a project: every field is optional and validated as at creation; absent fields stay. */
export const UpdateProjectRequest = CreateProjectRequest.partial()
  .extend({
    /** `null` removes the project's endpoint: each trigger must then send one. */
    metrics_endpoint: HttpUrl.nullable().optional(),
    /** Shorthand for `analysis.dry_run`. */
    dry_run: z.boolean().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, "send at least one field to change");
export type UpdateProjectRequest = z.infer<typeof UpdateProjectRequest>;

export const DEFAULT_ROTATION_GRACE_SECONDS = 86_400;

/** How long the replaced credential keeps working; 0 ends it at once. */
export const RotateCredentialRequest = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(DEFAULT_ROTATION_GRACE_SECONDS),
  })
  .strict();
export type RotateCredentialRequest = z.infer<typeof RotateCredentialRequest>;

export const RotateApiKeyResponse = z.object({
  project_id: z.uuid(),
  /** Shown once; only its hash is stored. */
  api_key: z.string(),
  /** The replaced key is refused from then on. */
  previous_api_key_expires_at: z.string(),
});
export type RotateApiKeyResponse = z.infer<typeof RotateApiKeyResponse>;

export const RotateHmacSecretResponse = z.object({
  project_id: z.uuid(),
  /** SeqPulse signs with this secret from now on. */
  hmac_secret: z.string(),
  /** Until then endpoints may accept the replaced secret too (the SDK takes a list of secrets). */
  previous_hmac_expires_at: z.string(),
});
export type RotateHmacSecretResponse = z.infer<typeof RotateHmacSecretResponse>;

export const DeleteProjectQuery = z
  .object({
    /** Deletes the project even while deployments are running. */
    force: z.enum(["true", "false"]).optional(),
  })
  .strict();
export type DeleteProjectQuery = z.infer<typeof DeleteProjectQuery>;

export const DeleteProjectResponse = z.object({
  project_id: z.uuid(),
  name: z.string(),
  /** Deployments removed with the project (their samples, failures and verdicts too). */
  deleted_deployments: z.number().int(),
});
export type DeleteProjectResponse = z.infer<typeof DeleteProjectResponse>;
