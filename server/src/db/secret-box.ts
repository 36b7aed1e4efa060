import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { customType } from "drizzle-orm/pg-core";

/**
 * Secrets SeqPulse must use (HMAC secrets, metrics-source credentials, webhook secrets) are stored
 * encrypted with AES-256-GCM under the operator's key: `enc:v1:<key id>:<iv>:<tag>:<ciphertext>`
 * (base64url). The key id names the key, so a rotation can add a new key while the old one still
 * decrypts; values stored before encryption existed are read as they are and encrypted on rotation.
 */
const PREFIX = "enc:v1:";
const KEY_BYTES = 32;

interface Keyring {
  currentId: string;
  keys: Map<string, Buffer>;
}

let keyring: Keyring | undefined;

export function keyId(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 12);
}

/** Sets the key new secrets are encrypted with, and older keys that may still decrypt some. */
export function configureEncryptionKeys(current: Buffer, previous: readonly Buffer[] = []): void {
  for (const key of [current, ...previous]) {
    if (key.length !== KEY_BYTES) throw new Error(`an encryption key must be ${KEY_BYTES} bytes`);
  }
  keyring = {
    currentId: keyId(current),
    keys: new Map([...previous, current].map((key) => [keyId(key), key])),
  };
}

function requireKeyring(): Keyring {
  if (!keyring) throw new Error("no encryption key configured (SEQPULSE_ENCRYPTION_KEY)");
  return keyring;
}

export function isEncrypted(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** Whether a stored value is encrypted under the current key (else a rotation re-encrypts it). */
export function isEncryptedWithCurrentKey(stored: string): boolean {
  return stored.startsWith(`${PREFIX}${requireKeyring().currentId}:`);
}

export function encryptSecret(plain: string): string {
  const { currentId, keys } = requireKeyring();
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keys.get(currentId) as Buffer, iv);
  cipher.setAAD(Buffer.from(currentId));
  const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return `${PREFIX}${currentId}:${[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString("base64url")).join(":")}`;
}

export function decryptSecret(stored: string): string {
  if (!isEncrypted(stored)) return stored;
  const [id = "", iv = "", tag = "", ciphertext = ""] = stored.slice(PREFIX.length).split(":");
  const key = requireKeyring().keys.get(id);
  if (!key) {
    throw new Error(
      `a secret is encrypted with key ${id}, which is not configured: add it to SEQPULSE_ENCRYPTION_PREVIOUS_KEYS`,
    );
  }
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(id));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString(
    "utf8",
  );
}

/** A text column whose value is encrypted on the way in and decrypted on the way out. */
export const encryptedText = customType<{ data: string; driverData: string }>({
  dataType: () => "text",
  toDriver: (value) => encryptSecret(value),
  fromDriver: (value) => decryptSecret(value),
});

/** A jsonb column whose `headers` values (credentials such as bearer tokens) are encrypted. */
export function jsonWithEncryptedHeaders<T extends { headers?: Record<string, string> | undefined }>(
  name: string,
) {
  return customType<{ data: T; driverData: T }>({
    dataType: () => "jsonb",
    toDriver: (value) => ({
      ...value,
      ...(value.headers ? { headers: mapValues(value.headers, encryptSecret) } : {}),
    }),
    fromDriver: (value) => ({
      ...value,
      ...(value.headers ? { headers: mapValues(value.headers, decryptSecret) } : {}),
    }),
  })(name);
}

function mapValues(record: Record<string, string>, map: (value: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}
