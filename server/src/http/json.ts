import type { Context } from "hono";
import type { z } from "zod";
import { AppError } from "../errors.js";
import { validationError } from "./problem.js";

/** Reads a JSON body: 415 unless JSON, 400 when malformed, 400 with each field's problem when invalid. */
export async function readJsonBody<Schema extends z.ZodType>(
  c: Context,
  schema: Schema,
): Promise<z.infer<Schema>> {
  const contentType = c.req.header("content-type") ?? "";
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (mediaType !== "application/json" && !mediaType.endsWith("+json")) {
    throw new AppError(
      "unsupported_media_type",
      `send the body as JSON with Content-Type: application/json (got ${contentType ? `"${contentType}"` : "none"})`,
    );
  }
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError("invalid_json", `the request body is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, "request body");
  return parsed.data;
}
