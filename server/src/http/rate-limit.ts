import { sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { AppError } from "../errors.js";

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimitPolicy {
  perSecond: number;
  burst: number;
}

export interface RateLimits {
  /** CI routes, per API key. */
  perKey?: RateLimitPolicy | undefined;
  /** Authentication failures, per client address. */
  authFailures?: RateLimitPolicy | undefined;
  /** Console pages, per signed-in session (per client address before signing in). */
  console?: RateLimitPolicy | undefined;
}

type Decision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Takes one token from a bucket kept in PostgreSQL, so every API process shares it: one
 * statement refills by the time elapsed, then spends a token if one is there. A refused request
 * leaves a debt of at most one token, so a client that keeps retrying is not locked out for
 * longer than its own pace.
 */
export async function takeToken(db: Database, key: string, policy: RateLimitPolicy): Promise<Decision> {
  const { rows } = await db.execute<{ tokens: number }>(sql`
    insert into rate_limit_buckets as b (key, tokens, updated_at)
    values (${key}, ${policy.burst - 1}, clock_timestamp())
    on conflict (key) do update set
      tokens = greatest(-1, least(${policy.burst}::float8,
                 b.tokens + extract(epoch from clock_timestamp() - b.updated_at) * ${policy.perSecond}::float8) - 1),
      updated_at = clock_timestamp()
    returning tokens`);
  return decide(rows[0]?.tokens ?? 0, policy, true);
}

/** Whether a bucket has a token left, without spending it. */
export async function peekToken(db: Database, key: string, policy: RateLimitPolicy): Promise<Decision> {
  const { rows } = await db.execute<{ tokens: number }>(sql`
    select least(${policy.burst}::float8,
             tokens + extract(epoch from clock_timestamp() - updated_at) * ${policy.perSecond}::float8) - 1 as tokens
    from rate_limit_buckets where key = ${key}`);
  return rows[0] ? decide(rows[0].tokens, policy) : { allowed: true };
}

/**
 * `tokensAfter` is the balance once this request's token is spent. A peek spends nothing, so the
 * next request passes once the balance is back to 0; a refused take already spent its token, so
 * the next one passes once the balance is back to 1 (the next request's own token).
 */
function decide(tokensAfter: number, policy: RateLimitPolicy, spent = false): Decision {
  if (tokensAfter >= 0) return { allowed: true };
  const missing = spent ? 1 - tokensAfter : -tokensAfter;
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(missing / policy.perSecond)) };
}

export function rateLimited(retryAfterSeconds: number, what: string): AppError {
  return new AppError("rate_limited", `${what}; retry after ${retryAfterSeconds} s`, {
    retry_after_seconds: retryAfterSeconds,
  });
}

/** Deletes buckets that have been full for a while; they hold no state worth keeping. */
export async function pruneBuckets(db: Database): Promise<number> {
  const { rowCount } = await db.execute(
    sql`delete from rate_limit_buckets where updated_at < now() - interval '1 hour'`,
  );
  return rowCount ?? 0;
}
