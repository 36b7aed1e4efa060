import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { appliedMigrationCount, committedMigrationCount } from "../db/migrate.js";
import { AppError } from "../errors.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { errorFields } from "../logger.js";

export function healthRoutes(deps: AppDeps) {
  // The committed migrations do not change while the process runs.
  const committed = committedMigrationCount();
  return new Hono<AppEnv>()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      const problems: string[] = [];
      try {
        await deps.db.execute(sql`select 1`);
        const applied = await appliedMigrationCount(deps.db);
        if (applied < committed)
          problems.push(`database migrations pending: ${applied} of ${committed} applied`);
      } catch (error) {
        // Details go to the log only: this route answers without authentication.
        c.get("logger").error("readiness check failed", errorFields(error));
        problems.push("database unreachable");
      }
      for (const check of deps.readinessChecks ?? []) {
        const problem = await check().catch((error: unknown) => {
          c.get("logger").error("readiness check failed", errorFields(error));
          return "a dependency is not ready";
        });
        if (problem) problems.push(problem);
      }
      if (problems.length > 0) throw new AppError("service_unavailable", problems.join("; "));
      return c.json({ status: "ready" });
    });
}
