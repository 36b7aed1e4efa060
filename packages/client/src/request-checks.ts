/**
 * The API's rules for values a CI tool sends, without zod, so that the GitHub Action and the CLI can
 * check their inputs before calling SeqPulse and name the bad one. The schemas in `@seqpulse/types`
 * stay the definition: the tests hold these to them (the same answer for env names and commit hashes;
 * never stricter for URLs and ids).
 */

/** Same as the API's environment name: 1-50 letters, digits, '.', '_' or '-', starting with a letter or digit. */
export function isEnvName(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/.test(value);
}

/** A commit hash as the API accepts it: 4 to 64 hexadecimal digits (surrounding spaces are trimmed). */
export function isCommitSha(value: string): boolean {
  return /^[0-9a-fA-F]{4,64}$/.test(value.trim());
}

/** A deployment id: a UUID in its usual 8-4-4-4-12 hexadecimal form. */
export function isDeploymentId(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

/** An absolute http:// or https:// URL with a host, at most 2048 characters once trimmed. */
export function isHttpUrl(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed.length > 2048) return false;
  try {
    const url = new URL(trimmed);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** Longest `Idempotency-Key` the API accepts. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
