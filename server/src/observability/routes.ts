import { timingSafeEqual } from "node:crypto";
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.js";
import type { AppEnv } from "../http/context.js";
import { openapiRoute, problemResponses, textResponse } from "../http/openapi.js";
import type { ServerMetrics } from "./metrics.js";

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["Health"],
  operationId: "metrics",
  summary: "SeqPulse's own metrics in Prometheus' text format",
  description:
    "Requires `Authorization: Bearer <SEQPULSE_METRICS_TOKEN>` when the server is started with that variable.",
  responses: {
    200: textResponse("The metrics.", ["text/plain; version=0.0.4"]),
    ...problemResponses(["unauthorized", "service_unavailable"]),
  },
});

/** GET /metrics, behind SEQPULSE_METRICS_TOKEN when it is set. */
export function metricsRoutes({ metrics, token }: { metrics: ServerMetrics; token?: string | undefined }) {
  const app = new OpenAPIHono<AppEnv>();
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  openapiRoute(app, metricsRoute, async (c) => {
    if (expected) {
      const given = Buffer.from(c.req.header("authorization") ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new AppError(
          "unauthorized",
          "send Authorization: Bearer <SEQPULSE_METRICS_TOKEN> to read /metrics",
        );
      }
    }
    const body = await metrics.registry.metrics();
    return c.text(body, 200, { "Content-Type": metrics.registry.contentType });
  });
  return app;
}

/** Times every request under its route template (never the raw path: ids would explode the labels). */
export function httpMetrics(metrics: ServerMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const stop = metrics.httpRequests.startTimer({ method: c.req.method });
    try {
      await next();
    } finally {
      const route = c.req.routePath && c.req.routePath !== "/*" ? c.req.routePath : "unmatched";
      stop({ route, status: String(c.res.status) });
    }
  };
}
