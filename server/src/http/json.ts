import type { FieldProblem } from "@seqpulse/types";
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
  const encoding = c.req.header("content-encoding")?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    throw new AppError(
      "unsupported_media_type",
      `the body is sent with Content-Encoding: ${encoding}; send it uncompressed (no Content-Encoding, or identity)`,
    );
  }
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError("invalid_json", `the request body is not valid JSON: ${(error as Error).message}`);
  }
  const refused = findRefusedContent(value);
  if (refused) {
    throw new AppError("validation_error", `invalid request body: ${refused.path}: ${refused.message}`, {
      errors: [refused],
    });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, "request body");
  return parsed.data;
}

/** Like readJsonBody, for bodies whose every field is optional: a request without a body reads as `{}`. */
export async function readOptionalJsonBody<Schema extends z.ZodType>(
  c: Context,
  schema: Schema,
): Promise<z.infer<Schema>> {
  // HTTP/1.1: a request has a body only with Transfer-Encoding or a non-zero Content-Length.
  const hasBody =
    c.req.header("transfer-encoding") !== undefined || Number(c.req.header("content-length") ?? 0) > 0;
  if (hasBody) return readJsonBody(c, schema);
  const parsed = schema.safeParse({});
  if (!parsed.success) throw validationError(parsed.error, "request body");
  return parsed.data;
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function textProblem(text: string): string | undefined {
  if (text.includes("\0")) return "must not contain the NUL character";
  if (UNPAIRED_SURROGATE.test(text)) return "must be valid Unicode (it has an unpaired surrogate)";
  return undefined;
}

/**
 * Keys that name an object's prototype machinery. JSON.parse keeps them as own keys, but copying
 * them onto an object (as schema parsing does) changes its prototype or is silently dropped.
 */
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

interface Visit {
  value: unknown;
  key?: string;
  parent?: Visit;
}

/**
 * What no body may hold, anywhere, keys included: text PostgreSQL cannot store (U+0000, unpaired
 * surrogates) and prototype keys. Iterative, with parent links instead of copied paths, so a deeply
 * nested body costs time linear in its size.
 */
function findRefusedContent(body: unknown): FieldProblem | undefined {
  const pathOf = (visit: Visit) => {
    const keys: string[] = [];
    for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) keys.unshift(at.key);
    return keys.join(".") || "(root)";
  };
  const pending: Visit[] = [{ value: body }];
  for (let visit = pending.pop(); visit; visit = pending.pop()) {
    if (typeof visit.value === "string") {
      const message = textProblem(visit.value);
      if (message) return { path: pathOf(visit), message };
    } else if (visit.value !== null && typeof visit.value === "object") {
      for (const [key, item] of Object.entries(visit.value)) {
        const message = textProblem(key);
        if (message) return { path: pathOf(visit), message: `a key ${message}` };
        const entry = { value: item, key, parent: visit };
        if (PROTOTYPE_KEYS.has(key)) {
          return { path: pathOf(entry), message: `"${key}" is not allowed as a field name` };
        }
        pending.push(entry);
      }
    }
  }
  return undefined;
}
