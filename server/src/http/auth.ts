import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.js";
import { secretMatches, sha256Hex } from "../projects/credentials.js";
import { authenticateApiKey } from "../projects/service.js";
import type { AppDeps, AppEnv } from "./context.js";
import { routeNotFound } from "./problem.js";

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
    const project = await authenticateApiKey({ db: deps.db, apiKey });
    if (!project) throw new AppError("unauthorized", "the API key is not valid");
    c.set("project", project);
    c.set("logger", c.get("logger").child({ project_id: project.id }));
    await next();
  };
}

/** Admin routes exist only when SEQPULSE_ADMIN_TOKEN is set; otherwise they answer 404 like any unknown route. */
export function requireAdminToken(adminToken: string | undefined): MiddlewareHandler<AppEnv> {
  const expectedHash = adminToken ? sha256Hex(adminToken) : undefined;
  return async (c, next) => {
    if (!expectedHash) throw routeNotFound(c);
    const token = bearerToken(c.req.header("authorization"));
    if (!token || !secretMatches(token, expectedHash)) {
      throw new AppError("unauthorized", "admin routes need Authorization: Bearer <SEQPULSE_ADMIN_TOKEN>");
    }
    await next();
  };
}
