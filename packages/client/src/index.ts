export type {
  CiMetadata,
  DeploymentDetail,
  DeploymentState,
  FinishRequest,
  FinishResponse,
  MetricSample,
  PipelineResult,
  ProblemDetails,
  TriggerRequest,
  TriggerResponse,
  Verdict,
  VerdictReason,
  VerdictValue,
} from "@seqpulse/types";
export {
  API_KEY_PATTERN,
  CLIENT_VERSION,
  createSeqPulseClient,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  explainRejection,
  type RetryEvent,
  redactUrl,
  type SeqPulseClient,
  type SeqPulseClientOptions,
  type SeqPulseResponse,
  type TriggerOptions,
  type WaitForVerdictOptions,
  type WaitForVerdictResult,
} from "./client.js";
export {
  type Problem,
  SeqPulseApiError,
  SeqPulseError,
  SeqPulseResponseError,
  SeqPulseUnavailableError,
} from "./errors.js";
export {
  isCommitSha,
  isDeploymentId,
  isEnvName,
  isHttpUrl,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from "./request-checks.js";
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  retryDelay,
} from "./retry.js";
