import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { CreateProjectResponse, ProjectSettings } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject } from "../../server/src/projects/service.js";
import { createTestDatabase, TEST_ENCRYPTION_KEY, type TestDatabase } from "../support/database.js";

const run = promisify(execFile);
const REPO_ROOT = resolve(import.meta.dirname, "../..");

let database: TestDatabase;
const cli = (args: string[]) =>
  run(process.execPath, ["--import", "tsx", "server/src/cli.ts", ...args], {
    cwd: REPO_ROOT,
    // The key this test process encrypts with too, so both read each other's secrets.
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      SEQPULSE_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString("base64"),
    },
  });

/** The exit code and stderr of a command that must fail. */
async function failure(args: string[]): Promise<{ code: number; stderr: string }> {
  return cli(args).then(
    ({ stdout }) => {
      throw new Error(`expected ${args.join(" ")} to fail; it printed ${stdout}`);
    },
    (error: { code: number; stderr: string }) => error,
  );
}

async function created(name: string, ...extra: string[]): Promise<CreateProjectResponse> {
  const { stdout } = await cli(["projects", "create", "--name", name, "--json", ...extra]);
  return JSON.parse(stdout) as CreateProjectResponse;
}

beforeAll(async () => {
  database = await createTestDatabase();
  // The project the usage-error cases name; created in-process to spare a CLI start.
  await createProject({ db: database.db, input: { name: "cli-any" } });
});
afterAll(async () => database?.close());

describe("pnpm seqpulse projects update|rotate-key|rotate-hmac|disable|enable|delete", () => {
  it("updates a project found by name: endpoint, envs, timing, dry run and analysis", async () => {
    await created("cli-update", "--env", "production");
    const { stdout } = await cli([
      "projects",
      "update",
      "--project",
      "cli-update",
      "--metrics-endpoint",
      "https://shop.example.com/metrics",
      "--env",
      "production",
      "--env",
      "staging",
      "--sample-interval",
      "20",
      "--dry-run",
      "--analysis",
      '{"min_post_samples": 4}',
      "--json",
    ]);
    const project = JSON.parse(stdout) as ProjectSettings;
    expect(project).toMatchObject({
      name: "cli-update",
      metrics_endpoint: "https://shop.example.com/metrics",
      envs: ["production", "staging"],
      sample_interval_seconds: 20,
    });
    expect(project.analysis).toMatchObject({ dry_run: true, min_post_samples: 4 });

    const cleared = await cli([
      "projects",
      "update",
      "--project",
      project.project_id,
      "--no-metrics-endpoint",
      "--any-env",
      "--no-dry-run",
      "--name",
      "cli-update-renamed",
    ]);
    expect(cleared.stdout).toContain('Updated project "cli-update-renamed"');
    const { rows } = await database.pool.query("select * from projects where id = $1", [project.project_id]);
    expect(rows[0]).toMatchObject({ name: "cli-update-renamed", metrics_endpoint: null, envs: [] });
    expect(rows[0].analysis.dry_run).toBe(false);
  });

  it("rotates the API key with a grace period and prints the new key once", async () => {
    const project = await created("cli-rotate");
    const { stdout } = await cli(["projects", "rotate-key", "--project", "cli-rotate", "--grace", "120"]);
    const newKey = /New API key: (\S+)/.exec(stdout)?.[1];
    expect(newKey).toMatch(/^sp_[a-z0-9]{12}_/);
    expect(stdout).toContain("The previous key works until");
    const { rows } = await database.pool.query(
      "select api_key_id, previous_api_key_id, previous_api_key_expires_at - now() as grace from projects where id = $1",
      [project.project_id],
    );
    expect(rows[0].previous_api_key_id).toBe(/^sp_([a-z0-9]{12})_/.exec(project.api_key)?.[1]);
    expect(rows[0].api_key_id).toBe(/^sp_([a-z0-9]{12})_/.exec(newKey ?? "")?.[1]);
    expect(rows[0].grace.minutes * 60 + (rows[0].grace.seconds ?? 0)).toBeGreaterThan(100);
  });

  it("rotates the HMAC secret", async () => {
    const project = await created("cli-hmac", "--hmac");
    const { stdout } = await cli(["projects", "rotate-hmac", "--project", "cli-hmac", "--json"]);
    const rotated = JSON.parse(stdout) as { hmac_secret: string; previous_hmac_expires_at: string };
    expect(rotated.hmac_secret).not.toBe(project.hmac_secret);
    // Read through the schema, which decrypts: what the collector signs with.
    const stored = await database.db.query.projects.findFirst({
      columns: { hmacSecret: true, previousHmacSecret: true },
      where: (columns, { eq }) => eq(columns.id, project.project_id),
    });
    expect(stored).toEqual({ hmacSecret: rotated.hmac_secret, previousHmacSecret: project.hmac_secret });
  });

  it("disables, enables and deletes (with --yes; --force while a deployment runs)", async () => {
    const project = await created("cli-lifecycle");
    expect((await cli(["projects", "disable", "--project", "cli-lifecycle"])).stdout).toContain(
      "is disabled",
    );
    const listed = JSON.parse((await cli(["projects", "list", "--json"])).stdout) as {
      items: ProjectSettings[];
    };
    expect(listed.items.find((item) => item.name === "cli-lifecycle")?.disabled_at).not.toBeNull();
    expect((await cli(["projects", "enable", "--project", "cli-lifecycle"])).stdout).toContain("is enabled");

    await database.pool.query(
      `insert into deployments (project_id, deployment_number, env, request_fingerprint, metrics_endpoint)
       values ($1, 1, 'production', 'x', 'http://127.0.0.1:9/m')`,
      [project.project_id],
    );
    await database.pool.query("update projects set deployment_counter = 1 where id = $1", [
      project.project_id,
    ]);
    const unconfirmed = await failure(["projects", "delete", "--project", "cli-lifecycle"]);
    expect(unconfirmed).toMatchObject({ code: 2 });
    expect(unconfirmed.stderr).toContain("--yes is required");
    const busy = await failure(["projects", "delete", "--project", "cli-lifecycle", "--yes"]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("--force");
    const { stdout } = await cli(["projects", "delete", "--project", "cli-lifecycle", "--yes", "--force"]);
    expect(stdout).toContain('Deleted project "cli-lifecycle" and its 1 deployment(s)');
    const { rows } = await database.pool.query("select count(*)::int as n from projects where id = $1", [
      project.project_id,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it("refuses a name that is taken, with exit code 1", async () => {
    await created("cli-taken");
    const taken = await failure(["projects", "create", "--name", "CLI-TAKEN"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('a project named "CLI-TAKEN" exists already');
  });

  it.each([
    [["projects", "frobnicate"], 'unknown command "projects frobnicate"'],
    [["projects", "rotate-kye", "--project", "x"], 'did you mean "projects rotate-key"?'],
    [["deploy"], 'unknown command "deploy"'],
    [["projects", "update", "--name", "x"], "--project is required"],
    [
      ["projects", "update", "--project", "cli-any", "--nmae", "x"],
      'unknown option --nmae for "projects update"; did you mean --name?',
    ],
    [
      ["projects", "update", "--project", "cli-any", "--metrics-endpont", "x"],
      "did you mean --metrics-endpoint?",
    ],
    [["projects", "update", "--project", "cli-any"], "nothing to change"],
    [["projects", "update", "--project", "cli-any", "--name"], "--name needs a value"],
    [["projects", "update", "--project", "cli-any", "--grace", "1"], "unknown option --grace"],
    [
      ["projects", "rotate-key", "--project", "cli-any", "--grace", "soon"],
      "--grace must be a whole number of seconds",
    ],
    [["projects", "rotate-key", "--project", "cli-any", "--grace", "99999999"], "--grace: "],
    [["projects", "update", "--project", "cli-any", "--analysis", "[1]"], "--analysis must be a JSON object"],
    [["projects", "update", "--project", "cli-any", "--hmac", "--no-hmac"], "contradict"],
    [
      ["projects", "update", "--project", "cli-any", "--metrics-endpoint", "ftp://x"],
      "--metrics-endpoint: must be an absolute http",
    ],
    [
      ["projects", "update", "--project", "cli-any", "--sample-interval", "900"],
      "--sample-interval: must be at most",
    ],
  ])("rejects %j with exit code 2, naming the flag: %s", async (args, message) => {
    const failed = await failure(args);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(message);
  });

  it("answers a project it cannot find with exit code 1", async () => {
    const missing = await failure(["projects", "disable", "--project", "no-such-project"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no project named or with id "no-such-project"');
  });
});
