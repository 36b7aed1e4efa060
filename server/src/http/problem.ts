import type { FieldProblem } from "@seqpulse/types";
import type { Context } from "hono";
import type { ZodError } from "zod";
import { AppError, errorTitle } from "../errors.js";

/** How long a client should wait before retrying a 503: a database outage or restart takes seconds. */
export const RETRY_AFTER_SECONDS = 5;

export function problemResponse(c: Context, error: AppError): Response {
  const body = {
    type: `https://seqpulse.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: errorTitle[error.code],
    status: error.status,
    code: error.code,
    detail: error.detail,
    ...error.extra,
    request_id: c.get("requestId"),
  };
  const headers: Record<string, string> = { "Content-Type": "application/problem+json" };
  if (error.status === 503) headers["Retry-After"] = String(RETRY_AFTER_SECONDS);
  if (typeof error.extra.retry_after_seconds === "number")
    headers["Retry-After"] = String(error.extra.retry_after_seconds);
  return c.body(JSON.stringify(body), error.status as 400, headers);
}

export function validationError(error: ZodError, where: string): AppError {
  const errors: FieldProblem[] = error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join(".") : "(root)",
    message: issue.message,
  }));
  const detail = errors.map((entry) => `${entry.path}: ${entry.message}`).join("; ");
  return new AppError("validation_error", `invalid ${where}: ${detail}`, { errors });
}

export function routeNotFound(c: Context): AppError {
  return new AppError(
    "not_found",
    `no route for ${c.req.method} ${c.req.path}; see the API reference at /docs or the README`,
  );
}
