import { createHmac, randomBytes } from "node:crypto";

export const HMAC_SIGNATURE_VERSION = "v2";
/** Seconds the application must remember a nonce; covers the accepted clock skew on both sides. */
export const HMAC_NONCE_TTL_SECONDS = 330;

export interface SignRequestInput {
  secret: string;
  method: string;
  /** URL pathname of the request. */
  path: string;
  projectId: string;
  now: Date;
  /** Defaults to 16 random bytes, hex encoded. */
  nonce?: string;
}

/** Leading `/`, no trailing `/` (except the root), query string and fragment dropped. */
export function canonicalPath(path: string): string {
  const pathname = path.replace(/[?#].*$/s, "");
  const trimmed = pathname.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

/** UTC `YYYY-MM-DDTHH:MM:SSZ`, without milliseconds. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function signRequest(input: SignRequestInput): Record<string, string> {
  const timestamp = formatTimestamp(input.now);
  const method = input.method.toUpperCase();
  const path = canonicalPath(input.path);
  const nonce = input.nonce ?? randomBytes(16).toString("hex");
  const digest = createHmac("sha256", input.secret)
    .update(`${timestamp}|${method}|${path}|${nonce}`)
    .digest("hex");
  return {
    "X-SeqPulse-Timestamp": timestamp,
    "X-SeqPulse-Nonce": nonce,
    "X-SeqPulse-Signature": `sha256=${digest}`,
    "X-SeqPulse-Signature-Version": HMAC_SIGNATURE_VERSION,
    "X-SeqPulse-Canonical-Path": path,
    "X-SeqPulse-Method": method,
    "X-SeqPulse-Nonce-TTL": String(HMAC_NONCE_TTL_SECONDS),
    "X-SeqPulse-Project-Id": input.projectId,
  };
}
