import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { consoleRoutes } from "./console/routes.js";
import { deploymentRoutes } from "./deployments/routes.js";
import { AppError } from "./errors.js";
import { healthRoutes } from "./health/routes.js";
import type { AppDeps, AppEnv } from "./http/context.js";
import { problemResponse } from "./http/problem.js";
import { errorFields } from "./logger.js";
import { projectAdminRoutes } from "./projects/routes.js";

export const MAX_BODY_BYTES = 64 * 1024;

export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(async (c, next) => {
    const started = performance.now();
    c.set("logger", deps.logger.child({ request_id: c.get("requestId") }));
    await next();
    c.get("logger").info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round(performance.now() - started),
    });
  });
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => {
        // The rest of the body is not read, so the connection cannot carry another request.
        c.header("Connection", "close");
        throw new AppError(
          "payload_too_large",
          `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`,
        );
      },
    }),
  );

  // First: the console answers browsers on /deployments/:id and hands API clients on.
  app.route("/", consoleRoutes(deps));
  app.route("/", healthRoutes(deps));
  app.route("/admin", projectAdminRoutes(deps));
  app.route("/deployments", deploymentRoutes(deps));

  app.notFound((c) =>
    problemResponse(
      c,
      new AppError(
        "not_found",
        `no route for ${c.req.method} ${c.req.path}; see the REST reference in the README`,
      ),
    ),
  );
  app.onError((error, c) => {
    if (error instanceof AppError) return problemResponse(c, error);
    (c.get("logger") ?? deps.logger).error("unhandled error", errorFields(error));
    return problemResponse(
      c,
      new AppError(
        "internal_error",
        "the server failed to handle the request; retry, and report the request id if it persists",
      ),
    );
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
