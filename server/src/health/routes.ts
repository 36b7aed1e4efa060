import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { HealthStatus, ReadyStatus } from "@seqpulse/types";
import { sql } from "drizzle-orm";
import { isDatabaseUnavailable } from "../db/client.js";
import { appliedMigrationCount, committedMigrationCount } from "../db/migrate.js";
import { AppError } from "../errors.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { jsonResponse, openapiRoute, problemResponses } from "../http/openapi.js";
import { errorFields, type Logger } from "../logger.js";

/** /readyz answers within this long even when a check hangs (a frozen database). */
export const READINESS_TIMEOUT_MS = 2_000;
const HUNG = Symbol("hung");

const healthzRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Health"],
  operationId: "liveness",
  summary: "Liveness: the process is up (needs no database)",
  responses: {
    200: jsonResponse(HealthStatus, "The process is up."),
    ...problemResponses([]),
  },
});

const readyzRoute = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["Health"],
  operationId: "readiness",
  summary: "Readiness: the database answers, is migrated, and the job queue is installed",
  description: `Answers within ${READINESS_TIMEOUT_MS / 1000} s, also when the database does not.`,
  responses: {
    200: jsonResponse(ReadyStatus, "Ready to serve."),
    ...problemResponses(["service_unavailable"]),
  },
});

interface ReadinessCheck {
  /** What the caller is told when the check fails or hangs; details go to the log only. */
  failed: string;
  hung: string;
  run: (logger: Logger) => Promise<string | undefined>;
}

export function healthRoutes(deps: AppDeps) {
  // The committed migrations do not change while the process runs.
  const committed = committedMigrationCount();
  const checks: ReadinessCheck[] = [
    {
      failed: "database unreachable",
      hung: `database did not answer within ${READINESS_TIMEOUT_MS / 1000} s`,
      run: async () => {
        await deps.db.execute(sql`select 1`);
        const applied = await appliedMigrationCount(deps.db);
        return applied < committed
          ? `database migrations pending: ${applied} of ${committed} applied`
          : undefined;
      },
    },
    ...(deps.readinessChecks ?? []).map((run) => ({
      failed: "a dependency is not ready",
      hung: `a dependency did not answer within ${READINESS_TIMEOUT_MS / 1000} s`,
      run,
    })),
  ];
  // One run of each check at a time: probes of a frozen database join the one already waiting
  // instead of piling up connections.
  const running = new Map<ReadinessCheck, Promise<string | undefined>>();
  const runOnce = (check: ReadinessCheck, logger: Logger) => {
    let run = running.get(check);
    if (!run) {
      run = check
        .run(logger)
        .catch((error: unknown) => {
          // The route answers without authentication: the failure's details go to the log only.
          if (isDatabaseUnavailable(error)) {
            const { stack: _stack, ...fields } = errorFields(error);
            logger.warn("readiness check failed: database unavailable", fields);
          } else {
            logger.error("readiness check failed", errorFields(error));
          }
          return check.failed;
        })
        .finally(() => running.delete(check));
      running.set(check, run);
    }
    return run;
  };

  const app = new OpenAPIHono<AppEnv>();
  openapiRoute(app, healthzRoute, (c) => c.json({ status: "ok" as const }, 200));
  openapiRoute(app, readyzRoute, async (c) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof HUNG>((resolve) => {
      timer = setTimeout(() => resolve(HUNG), READINESS_TIMEOUT_MS);
    });
    try {
      const outcomes = await Promise.all(
        checks.map(async (check) => {
          const outcome = await Promise.race([runOnce(check, c.get("logger")), deadline]);
          return outcome === HUNG ? check.hung : outcome;
        }),
      );
      const problems = outcomes.filter((problem): problem is string => problem !== undefined);
      if (problems.length > 0) throw new AppError("service_unavailable", problems.join("; "));
      return c.json({ status: "ready" as const }, 200);
    } finally {
      clearTimeout(timer);
    }
  });
  return app;
}
