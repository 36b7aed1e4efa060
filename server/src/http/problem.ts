import type { Context } from "hono";
import type { ZodError } from "zod";
import { AppError, errorTitle, type FieldError } from "../errors.js";

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
  return c.body(JSON.stringify(body), error.status as 400, { "Content-Type": "application/problem+json" });
}

export function validationError(error: ZodError, where: string): AppError {
  const errors: FieldError[] = error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join(".") : "(root)",
    message: issue.message,
  }));
  const detail = errors.map((entry) => `${entry.path}: ${entry.message}`).join("; ");
  return new AppError("validation_error", `invalid ${where}: ${detail}`, { errors });
}
