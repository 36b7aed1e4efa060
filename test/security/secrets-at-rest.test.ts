import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reencryptSecrets } from "../../server/src/db/reencrypt.js";
import { configureEncryptionKeys, decryptSecret, keyId } from "../../server/src/db/secret-box.js";
import { startTestApi, TEST_ADMIN_TOKEN, type TestApi } from "../support/api.js";
import { TEST_ENCRYPTION_KEY } from "../support/database.js";

const run = promisify(execFile);
const BEARER = "prometheus-bearer-c0ffee-must-not-leak";

/** Every row of every table, as text: what a database dump would reveal. */
async function dumpAllRows(api: TestApi): Promise<string> {
  const { rows: tables } = await api.database.pool.query<{ name: string }>(
    `select format('%I.%I', schemaname, tablename) as name from pg_tables
     where schemaname in ('public', 'pgboss', 'drizzle')`,
  );
  let dump = "";
  for (const { name } of tables) {
    const { rows } = await api.database.pool.query<{ row: string }>(`select t::text as row from ${name} t`);
    dump += `${rows.map((row) => row.row).join("\n")}\n`;
  }
  return dump;
}

describe("secrets at rest", () => {
  let api: TestApi;
  let project: CreateProjectResponse;
  let webhookSecret: string;
  let rotatedTo: Buffer | undefined;
  const slackUrl = "http://127.0.0.1:9/services/T000/B000/slack-url-is-a-credential";

  beforeAll(async () => {
    api = await startTestApi();
    project = await api.createProject({
      hmac_enabled: true,
      metrics_source: {
        type: "prometheus",
        url: "http://127.0.0.1:9090",
        preset: "prom-client",
        headers: { Authorization: `Bearer ${BEARER}` },
      },
    });
    const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" };
    const webhook = await fetch(`${api.baseUrl}/admin/projects/${project.project_id}/destinations`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        name: "hook",
        kind: "webhook",
        url: "http://127.0.0.1:9/hook",
        events: ["verdict"],
      }),
    });
    expect(webhook.status).toBe(201);
    webhookSecret = ((await webhook.json()) as { secret: string }).secret;
    const slack = await fetch(`${api.baseUrl}/admin/projects/${project.project_id}/destinations`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: "slack", kind: "slack", url: slackUrl, events: ["verdict"] }),
    });
    expect(slack.status).toBe(201);
  });
  afterAll(async () => {
    configureEncryptionKeys(TEST_ENCRYPTION_KEY);
    await api?.close();
  });

  it("a dump of every table reveals no HMAC secret, bearer token, webhook secret or Slack URL", async () => {
    expect(project.hmac_secret.length).toBeGreaterThan(16);
    const dump = await dumpAllRows(api);
    expect(dump).toContain(project.project_id);
    for (const secret of [
      project.hmac_secret,
      BEARER,
      webhookSecret,
      slackUrl,
      "slack-url-is-a-credential",
    ]) {
      expect(dump).not.toContain(secret);
    }
    expect(dump).toContain(`enc:v1:${keyId(TEST_ENCRYPTION_KEY)}:`);
  });

  it("the API shows the metrics source's header names, never their values", async () => {
    const response = await fetch(`${api.baseUrl}/admin/projects`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    const text = await response.text();
    expect(text).toContain('"header_names":["Authorization"]');
    expect(text).not.toContain(BEARER);
  });

  it("rotates the key without downtime: both keys read, re-encryption moves every secret to the new one", async () => {
    const next = randomBytes(32);
    rotatedTo = next;
    configureEncryptionKeys(next, [TEST_ENCRYPTION_KEY]);
    const rotated = await reencryptSecrets(api.database.db);
    expect(rotated.projects).toBeGreaterThanOrEqual(1);
    expect(rotated.destinations).toBeGreaterThanOrEqual(2);

    const { rows } = await api.database.pool.query<{ hmac_secret: string }>(
      "select hmac_secret from projects where id = $1",
      [project.project_id],
    );
    expect(rows[0]?.hmac_secret.startsWith(`enc:v1:${keyId(next)}:`)).toBe(true);
    // The old key can go: the new one alone decrypts everything.
    configureEncryptionKeys(next);
    expect(decryptSecret(rows[0]?.hmac_secret as string)).toBe(project.hmac_secret);
    const dump = await dumpAllRows(api);
    expect(dump).not.toContain(`enc:v1:${keyId(TEST_ENCRYPTION_KEY)}:`);
    expect(dump).not.toContain(BEARER);
  });

  it("a value stored before encryption is read as it is and encrypted by `seqpulse secrets rotate-key`", async () => {
    configureEncryptionKeys(TEST_ENCRYPTION_KEY);
    await api.database.pool.query("update projects set hmac_secret = 'legacy-plain-secret' where id = $1", [
      project.project_id,
    ]);
    const key = TEST_ENCRYPTION_KEY.toString("base64");
    const cli = ["--import", "tsx", "server/src/cli.ts", "secrets", "rotate-key"];
    // The other secrets are under the key of the previous rotation: without it, a clear refusal.
    const refused = await run(process.execPath, cli, {
      env: { ...process.env, DATABASE_URL: api.database.url, SEQPULSE_ENCRYPTION_KEY: key },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain("add it to SEQPULSE_ENCRYPTION_PREVIOUS_KEYS");

    const { stdout } = await run(process.execPath, cli, {
      env: {
        ...process.env,
        DATABASE_URL: api.database.url,
        SEQPULSE_ENCRYPTION_KEY: key,
        SEQPULSE_ENCRYPTION_PREVIOUS_KEYS: rotatedTo?.toString("base64") ?? "",
      },
    });
    expect(stdout).toMatch(/Re-encrypted the secrets of \d+ project/);
    const { rows } = await api.database.pool.query<{ hmac_secret: string }>(
      "select hmac_secret from projects where id = $1",
      [project.project_id],
    );
    expect(rows[0]?.hmac_secret).toMatch(/^enc:v1:/);
    expect(decryptSecret(rows[0]?.hmac_secret as string)).toBe("legacy-plain-secret");
  });
});
