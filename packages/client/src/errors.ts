import type { ProblemDetails } from "@seqpulse/types";

/** A problem+json body as sent by SeqPulse, with any extra members it carried (e.g. `allowed_envs`). */
export type Problem = ProblemDetails & Record<string, unknown>;

/** Base class of every error the client throws, so callers can tell SeqPulse trouble from their own bugs. */
export class SeqPulseError extends Error {
  override name = "SeqPulseError";
}

/**
 * SeqPulse answered with an error that retrying will not fix: a 4xx other than 408/429, or a 5xx other
 * than 500/502/503/504 (501 Not Implemented, 505…).
 * `code` is the problem's `code` (e.g. `env_not_allowed`), or `http_<status>` when the body was not a
 * SeqPulse problem (a proxy's error page, a wrong api URL).
 */
export class SeqPulseApiError extends SeqPulseError {
  override name = "SeqPulseApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly problem: Problem | undefined,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/**
 * SeqPulse could not be reached, timed out, or kept answering 408/429/500/502/503/504 until the retries
 * ran out.
 * `status` is the last HTTP status seen, undefined when no response came at all.
 */
export class SeqPulseUnavailableError extends SeqPulseError {
  override name = "SeqPulseUnavailableError";
  constructor(
    message: string,
    readonly attempts: number,
    readonly status: number | undefined,
    readonly problem: Problem | undefined,
    readonly method: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A 2xx answer that is not what the SeqPulse API sends: usually an api URL pointing at something else. */
export class SeqPulseResponseError extends SeqPulseError {
  override name = "SeqPulseResponseError";
  constructor(
    message: string,
    readonly status: number,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
  }
}
