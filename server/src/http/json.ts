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
  const nulPath = findNulCharacter(value);
  if (nulPath) {
    throw new AppError(
      "validation_error",
      `invalid request body: ${nulPath}: must not contain the NUL character`,
      {
        errors: [{ path: nulPath, message: "must not contain the NUL character" }],
      },
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, "request body");
  return parsed.data;
}

/** PostgreSQL text cannot hold U+0000: find it anywhere in the body, in keys too (iteratively: bodies may nest deeply). */
function findNulCharacter(body: unknown): string | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: body, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path } = next;
    if (typeof value === "string") {
      if (value.includes("\0")) return path.join(".") || "(root)";
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes("\0")) return [...path, key.replaceAll("\0", "\\0")].join(".");
        pending.push({ value: item, path: [...path, key] });
      }
    }
  }
  return undefined;
}
