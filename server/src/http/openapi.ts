import type { OpenAPIHono, RouteConfig, RouteConfigToTypedResponse } from "@hono/zod-openapi";
import { ProblemDetails } from "@seqpulse/types";
import type { Handler } from "hono";
import { z } from "zod";
import { type ErrorCode, errorStatus, errorTitle } from "../errors.js";
import type { AppEnv } from "./context.js";
import { RETRY_AFTER_SECONDS } from "./problem.js";

/** CI routes: the project's API key, as `X-API-Key` or as a bearer token. */
export const API_KEY_SECURITY: Array<Record<string, string[]>> = [{ ApiKey: [] }, { ApiKeyBearer: [] }];
/** Admin routes: `Authorization: Bearer <SEQPULSE_ADMIN_TOKEN>`. */
export const ADMIN_SECURITY: Array<Record<string, string[]>> = [{ AdminToken: [] }];

export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent("securitySchemes", "ApiKey", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "The project's API key, shown once when the project is created.",
  });
  registry.registerComponent("securitySchemes", "ApiKeyBearer", {
    type: "http",
    scheme: "bearer",
    description: "The project's API key as `Authorization: Bearer <key>`.",
  });
  registry.registerComponent("securitySchemes", "AdminToken", {
    type: "http",
    scheme: "bearer",
    description: "`SEQPULSE_ADMIN_TOKEN`; the admin routes exist only when it is set.",
  });
}

const requestIdHeader = {
  "X-Request-Id": {
    description: "The request's id (the caller's own when it is sane); log lines carry it too.",
    schema: { type: "string" as const },
  },
};

/** A JSON response with its schema; every response carries X-Request-Id. */
export function jsonResponse<Schema extends z.ZodType>(
  schema: Schema,
  description: string,
  headers: Record<string, { description: string; schema: { type: "string" } }> = {},
) {
  return {
    description,
    headers: { ...requestIdHeader, ...headers },
    content: { "application/json": { schema } },
  };
}

/** A text response (a page, a script); the content is a string of one of the media types. */
export function textResponse(description: string, mediaTypes: readonly string[]) {
  return {
    description,
    headers: requestIdHeader,
    content: Object.fromEntries(mediaTypes.map((mediaType) => [mediaType, { schema: z.string() }])),
  };
}

/**
 * The problem+json responses a route can give, one per status, each listing its codes. Every
 * route can also fail with 500, and those that read the database with 503.
 */
export function problemResponses(codes: readonly ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes, "internal_error" as const]) {
    const status = errorStatus[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, ReturnType<typeof problemResponse>> = {};
  for (const [status, statusCodes] of byStatus) responses[status] = problemResponse(status, statusCodes);
  return responses;
}

function problemResponse(status: number, codes: ErrorCode[]) {
  const headers =
    status === 503
      ? {
          ...requestIdHeader,
          "Retry-After": {
            description: `Seconds to wait before retrying (${RETRY_AFTER_SECONDS}).`,
            schema: { type: "string" as const },
          },
        }
      : requestIdHeader;
  return {
    description: codes.map((code) => `\`${code}\`: ${errorTitle[code]}`).join("; "),
    headers,
    content: {
      "application/problem+json": {
        schema: ProblemDetails.extend({
          status: z.literal(status),
          code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
          request_id: z.string(),
        }),
      },
    },
  };
}

type MaybePromise<T> = T | Promise<T>;

/** A route's handler: it may only answer the responses the route declares. */
export type DocumentedHandler<R extends RouteConfig> = Handler<
  AppEnv,
  string,
  // biome-ignore lint/complexity/noBannedTypes: Hono's type for a handler without validated input.
  {},
  MaybePromise<RouteConfigToTypedResponse<R>>
>;

/**
 * Adds a route to the app and its declaration, request schemas included, to the OpenAPI document.
 * The handler parses the request itself with the same schemas (readJsonBody and friends), so that
 * every refusal keeps SeqPulse's problem+json shape and messages: @hono/zod-openapi's validators
 * would answer a wrong Content-Type or malformed JSON in their own words.
 */
export function openapiRoute<R extends RouteConfig>(
  app: OpenAPIHono<AppEnv>,
  route: R,
  handler: DocumentedHandler<R>,
): void {
  app.openAPIRegistry.registerPath(route);
  app.on(route.method.toUpperCase(), route.path.replaceAll(/\{(\w+)\}/g, ":$1"), handler);
}
