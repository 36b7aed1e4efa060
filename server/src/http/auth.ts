import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../errors.js";
import { secretMatches, sha256Hex } from "../projects/credentials.js";
import { authenticateApiKey } from "../projects/service.js";
import type { AppDeps, AppEnv } from "./context.js";
import { routeNotFound } from "./problem.js";
import { peekToken, rateLimited, takeToken } from "./rate-limit.js";

function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** CI endpoints: `X-API-Key: <key>` or `Authorization: Bearer <key>`; nothing runs before this succeeds. */
export function requireApiKey(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const apiKey = c.req.header("x-api-key")?.trim() || bearerToken(c.req.header("authorization"));
    if (!apiKey) {
      throw new AppError(
        "unauthorized",
        "missing API key: send it as X-API-Key: <key> or Authorization: Bearer <key>",
      );
    }
    const [project] = await Promise.all([
      authenticateApiKey({ db: deps.db, apiKey }),
      refuseAddressOverFailureLimit(c, deps),
    ]);
    if (!project) {
      await countAuthFailure(c, deps);
      throw new AppError("unauthorized", "the API key is not valid");
    }
    const perKey = deps.rateLimits?.perKey;
    if (perKey) {
      const decision = await takeToken(deps.db, `api-key:${project.id}`, perKey);
      if (!decision.allowed) {
        throw rateLimited(
          decision.retryAfterSeconds,
          `this project's API key sent more than ${perKey.burst} requests at once or ${perKey.perSecond} a second`,
        );
      }
    }
    c.set("project", project);
    c.set("logger", c.get("logger").child({ project_id: project.id }));
    await next();
  };
}

/** Admin routes exist only when SEQPULSE_ADMIN_TOKEN is set; otherwise they answer 404 like any unknown route. */
export function requireAdminToken(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const expectedHash = deps.adminToken ? sha256Hex(deps.adminToken) : undefined;
  return async (c, next) => {
    if (!expectedHash) throw routeNotFound(c);
    await refuseAddressOverFailureLimit(c, deps);
    const token = bearerToken(c.req.header("authorization"));
    if (!token || !secretMatches(token, expectedHash)) {
      if (token) await countAuthFailure(c, deps);
      throw new AppError("unauthorized", "admin routes need Authorization: Bearer <SEQPULSE_ADMIN_TOKEN>");
    }
    await next();
  };
}

/**
 * The client's address: the peer's, or with SEQPULSE_TRUSTED_PROXIES = n, the address the n-th
 * proxy from ours saw in X-Forwarded-For (entries further left are the client's to invent).
 */
export function clientAddress(c: Context<AppEnv>, trustedProxies = 0): string {
  const peer = c.env?.incoming?.socket.remoteAddress ?? "unknown";
  if (trustedProxies <= 0) return peer;
  const forwarded = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  return forwarded[forwarded.length - trustedProxies] ?? forwarded[0] ?? peer;
}

const failureBucket = (c: Context<AppEnv>, deps: AppDeps) =>
  `auth-failures:${clientAddress(c, deps.trustedProxies)}`;

/** Too many wrong keys from one address: refused before any key is checked, the right one included. */
export async function refuseAddressOverFailureLimit(c: Context<AppEnv>, deps: AppDeps): Promise<void> {
  const policy = deps.rateLimits?.authFailures;
  if (!policy) return;
  const decision = await peekToken(deps.db, failureBucket(c, deps), policy);
  if (!decision.allowed) {
    throw rateLimited(
      decision.retryAfterSeconds,
      `too many failed authentications from this address (at most ${Math.round(policy.perSecond * 60)} a minute)`,
    );
  }
}

/** Counts a failed authentication against the client's address (the console's sign-in too). */
export async function countAuthFailure(c: Context<AppEnv>, deps: AppDeps): Promise<void> {
  const policy = deps.rateLimits?.authFailures;
  if (policy) await takeToken(deps.db, failureBucket(c, deps), policy);
}
