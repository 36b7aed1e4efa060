import { MAX_IDEMPOTENCY_KEY_LENGTH } from "@seqpulse/types";
import { AppError } from "../errors.js";

export interface IdempotencyKeySources {
  /** One entry per header line received: a client may repeat a header. */
  idempotencyKeyHeaders?: readonly string[];
  xIdempotencyKeyHeaders?: readonly string[];
  body?: string | null | undefined;
}

/**
 * Resolves the one idempotency key of a trigger request, from the `Idempotency-Key` header
 * (plain or structured-field quoted string), `X-Idempotency-Key`, or the body field.
 * Returns undefined when no source carries a non-empty key.
 */
export function resolveIdempotencyKey(sources: IdempotencyKeySources): string | undefined {
  const candidates = [
    { source: "Idempotency-Key header", raws: sources.idempotencyKeyHeaders ?? [], structured: true },
    { source: "X-Idempotency-Key header", raws: sources.xIdempotencyKeyHeaders ?? [], structured: true },
    { source: "idempotency_key body field", raws: sources.body ? [sources.body] : [], structured: false },
  ]
    .map((candidate) => ({
      ...candidate,
      key: sourceKey(candidate.raws, candidate.structured, candidate.source),
    }))
    .filter((candidate): candidate is typeof candidate & { key: string } => candidate.key !== undefined);

  const [first, ...rest] = candidates;
  const conflicting = rest.find((candidate) => candidate.key !== first?.key);
  if (first && conflicting) {
    throw new AppError(
      "idempotency_key_conflict",
      `the ${first.source} and the ${conflicting.source} carry different idempotency keys; send one key, or the same key in both`,
    );
  }
  return first?.key;
}

/** The key of one source; a header repeated with different keys is a conflict, not a list. */
function sourceKey(raws: readonly string[], structured: boolean, source: string): string | undefined {
  const keys = new Set<string>();
  for (const raw of raws) {
    const key = normalizeKey(raw, structured, source);
    if (key !== undefined) keys.add(key);
  }
  if (keys.size > 1) {
    throw new AppError(
      "idempotency_key_conflict",
      `the request repeats the ${source} with ${keys.size} different keys; send the header once, with one key`,
    );
  }
  return keys.values().next().value;
}

function normalizeKey(raw: string, structured: boolean, source: string): string | undefined {
  let key = raw.trim();
  if (structured && key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = unquoteStructuredString(key.slice(1, -1), source).trim();
  }
  if (key === "") return undefined;
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new AppError(
      "idempotency_key_invalid",
      `the ${source} is ${key.length} characters long; idempotency keys are 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  if (!/^[\x20-\x7e]+$/.test(key)) {
    throw new AppError(
      "idempotency_key_invalid",
      `the ${source} contains characters outside printable ASCII; use letters, digits and punctuation only`,
    );
  }
  return key;
}

// RFC 8941 sf-string: only \" and \\ are valid escapes.
function unquoteStructuredString(inner: string, source: string): string {
  let result = "";
  for (let index = 0; index < inner.length; index++) {
    const char = inner[index];
    if (char === "\\") {
      const next = inner[index + 1];
      if (next !== '"' && next !== "\\") {
        throw new AppError(
          "idempotency_key_invalid",
          `the ${source} is a quoted string with an invalid escape`,
        );
      }
      result += next;
      index++;
    } else if (char === '"') {
      throw new AppError(
        "idempotency_key_invalid",
        `the ${source} is a quoted string with an unescaped quote`,
      );
    } else {
      result += char;
    }
  }
  return result;
}
