import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

const run = promisify(execFile);
const REPO_ROOT = resolve(import.meta.dirname, "../..");

describe("pnpm seqpulse projects", () => {
  let database: TestDatabase;
  const cli = (args: string[]) =>
    run(process.execPath, ["--import", "tsx", "server/src/cli.ts", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: database.url },
    });

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database?.close());

  it("creates a project and prints its key once as JSON; only the key's hash is stored", async () => {
    const { stdout } = await cli([
      "projects",
      "create",
      "--name",
      "cli-demo",
      "--env",
      "production",
      "--env",
      "staging",
      "--metrics-endpoint",
      "https://app.example.com/metrics",
      "--sample-interval",
      "30",
      "--json",
    ]);
    const project = JSON.parse(stdout);
    expect(project).toMatchObject({
      name: "cli-demo",
      envs: ["production", "staging"],
      metrics_endpoint: "https://app.example.com/metrics",
      sample_interval_seconds: 30,
      observation_window_seconds: 300,
    });
    expect(project.api_key).toMatch(/^sp_[a-z0-9]{12}_/);

    const { rows } = await database.pool.query("select * from projects where id = $1", [project.project_id]);
    expect(rows[0].api_key_hash).toBe(createHash("sha256").update(project.api_key).digest("hex"));
    expect(JSON.stringify(rows[0])).not.toContain(project.api_key);
  });

  it("prints a human summary without --json and lists projects without keys", async () => {
    const { stdout } = await cli(["projects", "create", "--name", "cli-human"]);
    expect(stdout).toContain('Created project "cli-human"');
    expect(stdout).toContain("it is not shown again");
    const apiKey = /API key:\s+(\S+)/.exec(stdout)?.[1];
    expect(apiKey).toBeDefined();

    const list = await cli(["projects", "list", "--json"]);
    const { items } = JSON.parse(list.stdout) as { items: Array<{ name: string }> };
    expect(items.map((item) => item.name)).toContain("cli-human");
    expect(list.stdout).not.toContain(apiKey);
    expect(list.stdout).not.toContain("hmac_secret");
  });

  it.each([
    [["projects", "create"], "--name is required"],
    [["projects", "create", "--name", "x", "--env", "not ok"], "--env: must be 1-50 characters"],
    [
      ["projects", "create", "--name", "x", "--sample-interval", "soon"],
      "--sample-interval must be a whole number",
    ],
    [["projects", "create", "--name", "x", "--bogus"], 'unknown option --bogus for "projects create"'],
    [
      ["projects", "create", "--name", "x", "--observation-window", "60", "--sample-interval", "120"],
      "must not exceed",
    ],
  ])("rejects %j with exit code 2 and says why", async (args, message) => {
    const failure = await cli(args).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain(message);
  });
});
