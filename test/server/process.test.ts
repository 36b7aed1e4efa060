import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { committedMigrationCount } from "../../server/src/db/migrate.js";
import { createTestDatabase } from "../support/database.js";
import { startServerProcess } from "../support/server-process.js";

const run = promisify(execFile);
const REPO_ROOT = resolve(import.meta.dirname, "../..");
const ADMIN_TOKEN = "process-test-admin-token";

async function runServerExpectingFailure(env: Record<string, string>) {
  try {
    await run(process.execPath, ["--import", "tsx", "server/src/index.ts"], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      timeout: 20_000,
    });
  } catch (error) {
    return error as { code: number; stdout: string; stderr: string };
  }
  throw new Error("the server started although its configuration is invalid");
}

describe("configuration", () => {
  it("refuses to start with a clear message for each wrong variable", async () => {
    const failure = await runServerExpectingFailure({
      PORT: "eighty",
      SEQPULSE_ROLE: "everything",
      DATABASE_URL: "mysql://localhost/db",
    });
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('PORT="eighty"');
    expect(failure.stderr).toContain('SEQPULSE_ROLE="everything"');
    expect(failure.stderr).toContain("DATABASE_URL=(value hidden)");
    expect(failure.stderr).toContain("must be a valid postgres:// or postgresql:// URL");
    expect(failure.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a DATABASE_URL that cannot be parsed, naming the variable and hiding its value", async () => {
    const failure = await runServerExpectingFailure({
      DATABASE_URL: "postgres://seqpulse:s3cret@[db/seqpulse",
    });
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain("DATABASE_URL=(value hidden)");
    expect(failure.stderr).toContain("percent-encode special characters");
    expect(failure.stderr).not.toContain("s3cret");
  });

  it("refuses a short admin token", async () => {
    const failure = await runServerExpectingFailure({ SEQPULSE_ADMIN_TOKEN: "short" });
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain("SEQPULSE_ADMIN_TOKEN");
    expect(failure.stderr).not.toContain('"short"');
  });
});

describe("embedded PostgreSQL (no DATABASE_URL)", () => {
  const dataDirs: string[] = [];
  const newDataDir = async () => {
    const dir = await mkdtemp(resolve(REPO_ROOT, ".seqpulse/process-test-"));
    dataDirs.push(dir);
    await chmod(dir, 0o755);
    return dir;
  };
  afterAll(async () => {
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
  });

  it("starts a real PostgreSQL under SEQPULSE_DATA_DIR, stops it on SIGTERM, and reuses the data", async () => {
    const dataDir = await newDataDir();
    const env = { DATABASE_URL: "", SEQPULSE_DATA_DIR: dataDir, SEQPULSE_ADMIN_TOKEN: ADMIN_TOKEN };

    const first = await startServerProcess(env);
    const created = await fetch(`${first.url}/admin/projects`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "survives-restart", metrics_endpoint: "http://127.0.0.1:9/m" }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    expect(await first.stop()).toBe(0);
    expect(first.output()).toContain('"msg":"shutting down"');

    const second = await startServerProcess(env);
    try {
      const list = await fetch(`${second.url}/admin/projects`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const { items } = (await list.json()) as { items: Array<{ name: string }> };
      expect(items.map((item) => item.name)).toEqual(["survives-restart"]);
      expect(second.output()).not.toContain("initialising embedded PostgreSQL");
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it.runIf(process.getuid?.() === 0)(
    "as root, names a data folder the postgres user cannot reach",
    async () => {
      const dataDir = await newDataDir();
      await chmod(dataDir, 0o700);
      const failure = await runServerExpectingFailure({
        DATABASE_URL: "",
        SEQPULSE_DATA_DIR: `${dataDir}/data`,
      });
      expect(failure.code).toBe(1);
      expect(failure.stdout).toContain(`cannot enter ${dataDir} (mode 700)`);
    },
  );

  it("recovers after the previous server was killed with SIGKILL", async () => {
    const dataDir = await newDataDir();
    const env = { DATABASE_URL: "", SEQPULSE_DATA_DIR: dataDir };
    const crashed = await startServerProcess(env);
    await crashed.kill();
    const restarted = await startServerProcess(env);
    try {
      expect((await fetch(`${restarted.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await restarted.stop()).toBe(0);
    }
  });
});

describe("with DATABASE_URL", () => {
  it("uses that server and applies the migrations at start", async () => {
    const database = await createTestDatabase();
    await database.pool.query(
      "drop schema drizzle cascade; drop schema public cascade; create schema public",
    );
    await database.close();
    const server = await startServerProcess({ DATABASE_URL: database.url });
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(server.output()).not.toContain("embedded PostgreSQL started");
      expect(server.output()).toContain(`"migrations_applied":${committedMigrationCount()}`);
    } finally {
      await server.stop();
    }
  });
});
