import type { FieldProblem } from "@seqpulse/types";

export const errorStatus = {
  validation_error: 400,
  invalid_json: 400,
  idempotency_key_invalid: 400,
  idempotency_key_conflict: 400,
  env_not_allowed: 400,
  metrics_endpoint_required: 400,
  metrics_endpoint_mismatch: 400,
  metrics_endpoint_private: 400,
  unauthorized: 401,
  project_disabled: 403,
  not_found: 404,
  environment_busy: 409,
  deployment_not_cancellable: 409,
  project_name_taken: 409,
  project_busy: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export const errorTitle: Record<ErrorCode, string> = {
  validation_error: "Invalid request",
  invalid_json: "Malformed JSON",
  idempotency_key_invalid: "Invalid idempotency key",
  idempotency_key_conflict: "Conflicting idempotency keys",
  env_not_allowed: "Environment not allowed",
  metrics_endpoint_required: "Metrics endpoint required",
  metrics_endpoint_mismatch: "Metrics endpoint not allowed",
  metrics_endpoint_private: "Metrics endpoint is a private address",
  unauthorized: "Unauthorized",
  project_disabled: "Project disabled",
  not_found: "Not found",
  environment_busy: "Environment busy",
  deployment_not_cancellable: "Deployment cannot be cancelled",
  project_name_taken: "Project name taken",
  project_busy: "Project busy",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  idempotency_key_reused: "Idempotency key reused with different parameters",
  rate_limited: "Too many requests",
  internal_error: "Internal server error",
  service_unavailable: "Service unavailable",
};

/** The one error type services throw; the app turns it into an RFC 9457 problem response. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: { errors?: FieldProblem[]; [key: string]: unknown } = {},
  ) {
    super(detail);
    this.status = errorStatus[code];
  }
}
