import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { connectDatabase, type DatabaseHandle } from "../../server/src/db/client.js";
import { configureEncryptionKeys } from "../../server/src/db/secret-box.js";
import { withDatabase } from "./global-setup.js";

export interface TestDatabase extends DatabaseHandle {
  url: string;
  name: string;
}

/**
 * A fresh, migrated database of its own, copied from the run's template (or an empty one with
 * `migrated: false`); dropped when the run ends.
 */
/** Test processes encrypt secrets with a fixed key; server processes they start generate their own. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7);

export async function createTestDatabase({ migrated = true } = {}): Promise<TestDatabase> {
  configureEncryptionKeys(TEST_ENCRYPTION_KEY);
  const adminUrl = inject("adminDatabaseUrl");
  const name = `seqpulse_test_${inject("templateDatabase").split("_").at(-1)}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(
      `create database ${name} template ${migrated ? inject("templateDatabase") : "template0"}`,
    );
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  return { ...connectDatabase(url, { max: 30 }), url, name };
}
