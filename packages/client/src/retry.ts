export interface RetryPolicy {
  /** Total attempts per call, the first one included. */
  attempts: number;
  /** Ceiling of the first retry's delay; doubles on each further retry. */
  baseDelayMs: number;
  /** Ceiling of any backoff delay. */
  maxDelayMs: number;
  /** Longest `Retry-After` honoured; longer ones are cut to this. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 30_000,
};

/**
 * Statuses worth another try: the server (or a proxy in front of it) may answer differently in a moment.
 * Other 5xx (501 Not Implemented, 505, 507, 508…) say something retrying will not change.
 */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * Full-jitter exponential backoff: a uniform delay in [0, min(maxDelay, base × 2^(retry−1))).
 * `retry` is 1 for the first retry.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
}

/**
 * Parses `Retry-After`: delay-seconds or an HTTP-date. Returns milliseconds from `now`, at least 0,
 * or undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (value === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * The delay before retry number `retry`: the backoff, or the server's `Retry-After` (capped at
 * `maxRetryAfterMs`) when that is longer. `Retry-After: 0` or a date in the past therefore never makes
 * the client retry at once.
 */
export function retryDelay(
  retry: number,
  retryAfterMs: number | undefined,
  policy: RetryPolicy,
  random: () => number,
): number {
  const backoff = backoffDelay(retry, policy, random);
  if (retryAfterMs === undefined) return backoff;
  return Math.max(backoff, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}
