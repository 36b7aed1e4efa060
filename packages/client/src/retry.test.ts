import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  retryDelay,
} from "./retry.js";

const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 5_000 };

describe("retry policy", () => {
  it("retries timeouts, rate limits and transient server errors only", () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413, 415, 422].some(isRetryableStatus)).toBe(false);
    // Retrying does not change these answers.
    expect([501, 505, 506, 507, 508, 510, 511, 599].some(isRetryableStatus)).toBe(false);
  });

  it("draws full-jitter delays under a doubling ceiling capped at maxDelayMs", () => {
    const almostOne = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, policy, almostOne))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    // A misbehaving random source cannot push the delay out of range.
    expect(backoffDelay(1, policy, () => 7)).toBe(100);
    expect(backoffDelay(1, policy, () => -1)).toBe(0);
  });

  it("parses Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-05T10:00:00Z");
    expect(parseRetryAfter("5", now)).toBe(5_000);
    expect(parseRetryAfter(" 1.5 ", now)).toBe(1_500);
    expect(parseRetryAfter("Mon, 05 Jan 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Mon, 05 Jan 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("prefers the server's Retry-After, capped", () => {
    expect(retryDelay(1, 2_000, policy, () => 0.5)).toBe(2_000);
    expect(retryDelay(1, 60_000, policy, () => 0.5)).toBe(5_000);
    expect(retryDelay(2, undefined, policy, () => 0.5)).toBe(100);
  });

  it("never waits less than the backoff: Retry-After 0 or a past date is not an immediate retry", () => {
    const now = Date.parse("2026-01-05T10:00:00Z");
    expect(retryDelay(3, parseRetryAfter("0", now), policy, () => 0.5)).toBe(200);
    expect(retryDelay(3, parseRetryAfter("Mon, 05 Jan 2026 09:00:00 GMT", now), policy, () => 0.5)).toBe(200);
    // A Retry-After shorter than the backoff draw does not shorten the wait either.
    expect(retryDelay(4, 50, policy, () => 0.5)).toBe(400);
  });
});
