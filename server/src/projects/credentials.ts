import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const API_KEY_PATTERN = /^sp_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedApiKey {
  apiKey: string;
  apiKeyId: string;
  apiKeyHash: string;
}

/** `sp_<12-char id>_<43-char secret>`: the id finds the project, the hash of the whole key proves it. */
export function generateApiKey(): GeneratedApiKey {
  const apiKeyId = randomBytes(9).toString("hex").slice(0, 12);
  const apiKey = `sp_${apiKeyId}_${randomBytes(32).toString("base64url")}`;
  return { apiKey, apiKeyId, apiKeyHash: sha256Hex(apiKey) };
}

export function generateHmacSecret(): string {
  return `sp_hmac_${randomBytes(32).toString("base64url")}`;
}

export function parseApiKeyId(apiKey: string): string | undefined {
  return API_KEY_PATTERN.exec(apiKey)?.[1];
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** Compares digests so neither the length nor the content of the secret leaks through timing. */
export function secretMatches(candidate: string, expectedHashHex: string): boolean {
  const candidateHash = createHash("sha256").update(candidate).digest();
  const expected = Buffer.from(expectedHashHex, "hex");
  return expected.length === candidateHash.length && timingSafeEqual(candidateHash, expected);
}
