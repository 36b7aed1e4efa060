import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { Logger } from "../logger.js";
import type { Database } from "./client.js";
import { configureEncryptionKeys, decryptSecret } from "./secret-box.js";

const KEY_FILE = "encryption.key";

/**
 * Configures the key secrets are encrypted with: SEQPULSE_ENCRYPTION_KEY (32 bytes, base64), with
 * SEQPULSE_ENCRYPTION_PREVIOUS_KEYS during a rotation. Without it, a key is generated once into
 * the data folder (the embedded default); every process sharing the database must use the same key.
 */
export async function setUpEncryption(
  config: {
    SEQPULSE_ENCRYPTION_KEY?: Buffer | undefined;
    SEQPULSE_ENCRYPTION_PREVIOUS_KEYS: Buffer[];
    SEQPULSE_DATA_DIR: string;
    DATABASE_URL?: string | undefined;
  },
  logger: Logger,
): Promise<void> {
  const current = config.SEQPULSE_ENCRYPTION_KEY ?? (await dataDirKey(config.SEQPULSE_DATA_DIR));
  if (!config.SEQPULSE_ENCRYPTION_KEY && config.DATABASE_URL) {
    logger.warn("SEQPULSE_ENCRYPTION_KEY is not set: secrets are encrypted with the key in the data folder", {
      key_file: join(config.SEQPULSE_DATA_DIR, KEY_FILE),
      advice: "set SEQPULSE_ENCRYPTION_KEY (openssl rand -base64 32) on every SeqPulse process",
    });
  }
  configureEncryptionKeys(current, config.SEQPULSE_ENCRYPTION_PREVIOUS_KEYS);
}

async function dataDirKey(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, KEY_FILE);
  await mkdir(dataDir, { recursive: true });
  try {
    // Exclusive create: of processes starting together, one writes the key and the others read it.
    await writeFile(file, `${randomBytes(32).toString("base64")}\n`, { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  for (let attempt = 0; ; attempt++) {
    const key = Buffer.from((await readFile(file, "utf8")).trim(), "base64");
    if (key.length === 32 || attempt >= 20) return key;
    // Another process created the file and is still writing it.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Fails at start, with what to do, when the database holds secrets encrypted with a key this
 * process does not have (a process started without the others' SEQPULSE_ENCRYPTION_KEY).
 */
export async function assertSecretsReadable(db: Database): Promise<void> {
  const { rows } = await db.execute<{ stored: string }>(
    sql`select hmac_secret as stored from projects where hmac_secret like 'enc:v1:%' limit 1`,
  );
  const stored = rows[0]?.stored;
  if (!stored) return;
  try {
    decryptSecret(stored);
  } catch (error) {
    throw new EncryptionKeyMismatchError(
      `${(error as Error).message}. Every SeqPulse process on this database needs the same SEQPULSE_ENCRYPTION_KEY.`,
    );
  }
}

export class EncryptionKeyMismatchError extends Error {}
