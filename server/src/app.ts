import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { z } from "zod";
import { consoleRoutes } from "./console/routes.js";
import { isDatabaseUnavailable } from "./db/client.js";
import { deploymentRoutes } from "./deployments/routes.js";
import { AppError } from "./errors.js";
import { healthRoutes } from "./health/routes.js";
import type { AppDeps, AppEnv } from "./http/context.js";
import { registerDocs } from "./http/docs.js";
import { jsonResponse, openapiRoute, problemResponses, registerSecuritySchemes } from "./http/openapi.js";
import { problemResponse, routeNotFound } from "./http/problem.js";
import { clientAborted } from "./http/request.js";
import { errorFields } from "./logger.js";
import { notificationAdminRoutes } from "./notifications/routes.js";
import { httpMetrics, metricsRoutes } from "./observability/routes.js";
import { projectAdminRoutes } from "./projects/routes.js";
import { SEQPULSE_VERSION } from "./version.js";

export const MAX_BODY_BYTES = 64 * 1024;

/** nginx's "client closed request": only the log sees it, the client is gone. */
const CLIENT_CLOSED_REQUEST = 499;

const openApiDocumentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["Documentation"],
  operationId: "openApiDocument",
  summary: "This API's OpenAPI 3.1 document",
  responses: {
    200: jsonResponse(z.record(z.string(), z.unknown()), "The document."),
    ...problemResponses([]),
  },
});

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();

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
  if (deps.metrics) app.use(httpMetrics(deps.metrics));
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

  registerSecuritySchemes(app);
  // First: the console answers browsers on /deployments/:id and hands API clients on.
  app.route("/", consoleRoutes(deps));
  app.route("/", healthRoutes(deps));
  if (deps.metrics) app.route("/", metricsRoutes({ metrics: deps.metrics, token: deps.metricsToken }));
  app.route("/admin", projectAdminRoutes(deps));
  app.route("/admin", notificationAdminRoutes(deps));
  app.route("/deployments", deploymentRoutes(deps));
  registerDocs(app);
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  openapiRoute(app, openApiDocumentRoute, (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "SeqPulse API",
        version: SEQPULSE_VERSION,
        description:
          "Post-deploy verification: CI triggers a deployment, finishes it, and reads the verdict. Every error is `application/problem+json` (RFC 9457) with a stable `code`.",
      },
      tags: [
        { name: "Deployments", description: "CI endpoints; authenticate with the project's API key." },
        { name: "Admin", description: "Project management; exists only when SEQPULSE_ADMIN_TOKEN is set." },
        { name: "Health", description: "Liveness and readiness probes." },
        { name: "Documentation", description: "This document and its reference page." },
      ],
    });
    return c.json(document, 200);
  });

  answerErrors(app, deps);
  return app;
}

export type App = ReturnType<typeof createApp>;

/**
 * What a worker process serves on its port: liveness, readiness and its own metrics, so that it
 * can be probed and scraped like the API.
 */
export function createOperationsApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(async (c, next) => {
    c.set("logger", deps.logger.child({ request_id: c.get("requestId") }));
    await next();
  });
  if (deps.metrics) app.use(httpMetrics(deps.metrics));
  app.route("/", healthRoutes(deps));
  if (deps.metrics) app.route("/", metricsRoutes({ metrics: deps.metrics, token: deps.metricsToken }));
  answerErrors(app, deps);
  return app;
}

/** The one error handler: problem+json for every refusal, 503 for an unreachable database. */
function answerErrors(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.notFound((c) => problemResponse(c, routeNotFound(c)));
  app.onError((error, c) => {
    if (error instanceof AppError) return problemResponse(c, error);
    const log = c.get("logger") ?? deps.logger;
    if (clientAborted(c)) {
      // Not a server fault, and anyone can cause it: no stack, no error level.
      log.info("request aborted by the client before its body arrived", { reason: errorFields(error).error });
      return new Response(null, { status: CLIENT_CLOSED_REQUEST });
    }
    if (isDatabaseUnavailable(error)) {
      const { stack: _stack, ...fields } = errorFields(error);
      log.warn("database unavailable: answered 503", fields);
      return problemResponse(
        c,
        new AppError(
          "service_unavailable",
          "SeqPulse cannot reach its database right now; retry after the Retry-After delay. If it persists, the operator should check that PostgreSQL is up and that DATABASE_URL points at it",
        ),
      );
    }
    log.error("unhandled error", errorFields(error));
    return problemResponse(
      c,
      new AppError(
        "internal_error",
        "the server failed to handle the request; retry, and report the request id if it persists",
      ),
    );
  });
}
