import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_VERSION = "v2";
/** How long a nonce is remembered: the accepted skew on both sides plus a margin. */
export const NONCE_TTL_MS = 330_000;
export const MAX_PAST_SKEW_MS = 300_000;
export const MAX_FUTURE_SKEW_MS = 30_000;
/** Bounds the memory of the replay cache; SeqPulse sends a few signed requests a minute. */
export const DEFAULT_MAX_NONCES = 10_000;
const MAX_NONCE_LENGTH = 256;
const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i;

/** Leading `/`, no trailing `/` (except the root), query string and fragment dropped. */
export function canonicalPath(path: string): string {
  const pathname = path.replace(/[?#].*$/s, "");
  const trimmed = pathname.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

export type SignatureProblemCode =
  | "signature_missing"
  | "signature_version_unsupported"
  | "timestamp_invalid"
  | "timestamp_too_old"
  | "timestamp_in_future"
  | "path_mismatch"
  | "method_mismatch"
  | "nonce_invalid"
  | "signature_invalid"
  | "nonce_replayed"
  | "nonce_cache_full";

export type SignatureCheck = { ok: true } | { ok: false; code: SignatureProblemCode; detail: string };

/** A request as the verifier needs it; `header` takes lower-case names. */
export interface SignedRequest {
  method: string;
  /** The path the application received, query string allowed. */
  url: string;
  header(name: string): string | undefined;
}

export interface SignatureVerifierOptions {
  /** The project's HMAC secret; two (new and old) while SeqPulse rotates it. */
  secrets: readonly string[];
  /** Epoch milliseconds. */
  clock: () => number;
  maxNonces?: number;
}

/**
 * Verifies SeqPulse's HMAC v2 signature: `sha256=` + hex HMAC-SHA256(secret,
 * `timestamp|METHOD|canonical_path|nonce`), the timestamp within 300 s in the past and 30 s in the
 * future, and each nonce accepted once within its TTL.
 */
export class SignatureVerifier {
  readonly #secrets: readonly string[];
  readonly #clock: () => number;
  readonly #maxNonces: number;
  /** Nonce → expiry; insertion order is expiry order, so pruning stops at the first live entry. */
  readonly #nonces = new Map<string, number>();

  constructor(options: SignatureVerifierOptions) {
    if (options.secrets.length === 0 || options.secrets.some((s) => typeof s !== "string" || s === "")) {
      throw new TypeError("hmacSecret must be a non-empty string or an array of non-empty strings");
    }
    this.#secrets = [...options.secrets];
    this.#clock = options.clock;
    this.#maxNonces = options.maxNonces ?? DEFAULT_MAX_NONCES;
  }

  verify(request: SignedRequest): SignatureCheck {
    const timestamp = request.header("x-seqpulse-timestamp");
    const nonce = request.header("x-seqpulse-nonce");
    const signature = request.header("x-seqpulse-signature");
    const missing = [
      timestamp === undefined && "X-SeqPulse-Timestamp",
      nonce === undefined && "X-SeqPulse-Nonce",
      signature === undefined && "X-SeqPulse-Signature",
    ].filter((name): name is string => name !== false);
    if (timestamp === undefined || nonce === undefined || signature === undefined) {
      return problem("signature_missing", `missing header ${missing.join(", ")}`);
    }
    const version = request.header("x-seqpulse-signature-version");
    if (version !== undefined && version !== SIGNATURE_VERSION) {
      return problem(
        "signature_version_unsupported",
        `signature version ${JSON.stringify(version)}; v2 expected`,
      );
    }
    const signedAt = TIMESTAMP_PATTERN.test(timestamp) ? Date.parse(timestamp) : Number.NaN;
    if (Number.isNaN(signedAt)) {
      return problem("timestamp_invalid", "X-SeqPulse-Timestamp must be UTC YYYY-MM-DDTHH:MM:SSZ");
    }
    const now = this.#clock();
    if (now - signedAt > MAX_PAST_SKEW_MS) {
      const seconds = Math.round((now - signedAt) / 1000);
      return problem("timestamp_too_old", `timestamp ${seconds} s in the past; at most 300 s accepted`);
    }
    if (signedAt - now > MAX_FUTURE_SKEW_MS) {
      const seconds = Math.round((signedAt - now) / 1000);
      return problem("timestamp_in_future", `timestamp ${seconds} s in the future; at most 30 s accepted`);
    }
    const path = canonicalPath(request.url);
    const signedPath = request.header("x-seqpulse-canonical-path");
    if (signedPath !== undefined && signedPath !== path) {
      return problem("path_mismatch", `signed for path ${JSON.stringify(signedPath)}, received ${path}`);
    }
    const method = request.method.toUpperCase();
    const signedMethod = request.header("x-seqpulse-method");
    if (signedMethod !== undefined && signedMethod.toUpperCase() !== method) {
      return problem(
        "method_mismatch",
        `signed for method ${JSON.stringify(signedMethod)}, received ${method}`,
      );
    }
    if (nonce === "" || nonce.length > MAX_NONCE_LENGTH) {
      return problem("nonce_invalid", `X-SeqPulse-Nonce must be 1 to ${MAX_NONCE_LENGTH} characters`);
    }
    const given = SIGNATURE_PATTERN.exec(signature)?.[1];
    if (given === undefined || !this.#matchesAnySecret(`${timestamp}|${method}|${path}|${nonce}`, given)) {
      return problem("signature_invalid", "signature does not match (wrong secret, path or method?)");
    }
    // Only authenticated requests reach the cache, so nobody without the secret can fill it.
    this.#pruneNonces(now);
    if (this.#nonces.has(nonce)) return problem("nonce_replayed", "nonce already used");
    if (this.#nonces.size >= this.#maxNonces) {
      return problem("nonce_cache_full", `more than ${this.#maxNonces} signed requests within 330 s`);
    }
    this.#nonces.set(nonce, now + NONCE_TTL_MS);
    return { ok: true };
  }

  #matchesAnySecret(message: string, givenHex: string): boolean {
    const given = Buffer.from(givenHex.toLowerCase(), "hex");
    let matched = false;
    // Every secret is tried, so the time taken does not tell which one matched.
    for (const secret of this.#secrets) {
      const expected = createHmac("sha256", secret).update(message).digest();
      matched = timingSafeEqual(expected, given) || matched;
    }
    return matched;
  }

  #pruneNonces(now: number): void {
    for (const [nonce, expiresAt] of this.#nonces) {
      if (expiresAt > now) break;
      this.#nonces.delete(nonce);
    }
  }
}

function problem(code: SignatureProblemCode, detail: string): SignatureCheck {
  return { ok: false, code, detail };
}
