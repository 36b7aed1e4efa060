import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { ADMIN_TOKEN, apiUrlOf, serverEnv } from "../worker/helpers.js";
import { REPO_ROOT, type ShellBlock, shellBlocks } from "./blocks.js";

/**
 * README.md's runnable blocks (`<!-- runnable: <name> -->` before the fence; the convention is at
 * the top of test/docs/blocks.ts) run as written, in README order, as one bash session with
 * `set -euo pipefail` in the repository: a reader following the quick start and the REST reference
 * in one terminal. The server is `pnpm start`'s (API and workers in one process) on a test
 * database instead of the embedded PostgreSQL, and the application's metrics endpoint is a
 * scripted one on 127.0.0.1; the session gets only the variables the README asks the reader to set.
 */

const run = promisify(execFile);
const METRICS_TOKEN = "readme-metrics-token-0123456789";

interface Session {
  code: number;
  stdout: string;
  stderr: string;
}

async function runSession(blocks: ShellBlock[], env: Record<string, string>): Promise<Session> {
  const script = ["set -euo pipefail", ...blocks.map((block) => `# ${block.where}\n${block.code}`)].join(
    "\n",
  );
  // Nothing of the test's own SeqPulse settings leaks in: the blocks define what they use.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(SEQPULSE_|DATABASE_URL$|PROJECT|DEPLOYMENT)/.test(name),
    ),
  );
  try {
    const { stdout, stderr } = await run("bash", ["-c", script], {
      cwd: REPO_ROOT,
      env: { ...inherited, ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** `request` log lines the server wrote after `from` characters of its output. */
function requestsLogged(server: ServerProcess, from: number) {
  return server
    .output()
    .slice(from)
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string; method?: string; path?: string; status?: number })
    .filter((entry) => entry.msg === "request");
}

describe("README.md's runnable blocks", () => {
  const runnable = shellBlocks("README.md").filter((block) => block.marker?.startsWith("runnable:"));
  let database: TestDatabase;
  let app: MetricsApp;
  let server: ServerProcess;
  let sessionEnv: Record<string, string>;

  beforeAll(async () => {
    [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    app.script("/seqpulse-metrics", [values()]);
    server = await startServerProcess(serverEnv(database.url, { SEQPULSE_METRICS_TOKEN: METRICS_TOKEN }));
    sessionEnv = {
      // What the README tells the reader to set, or what their server was started with.
      SEQPULSE_URL: apiUrlOf(server),
      SEQPULSE_METRICS_ENDPOINT: app.url("/seqpulse-metrics"),
      SEQPULSE_ADMIN_TOKEN: ADMIN_TOKEN,
      SEQPULSE_METRICS_TOKEN: METRICS_TOKEN,
      // `pnpm seqpulse` finds the running server's database: here the test database.
      DATABASE_URL: database.url,
    };
  });
  afterAll(async () => {
    await server?.stop();
    await app?.close();
    await database?.close();
  });

  it("include the quick start, the REST reference and the metrics scrape", () => {
    expect(new Set(runnable.map((block) => block.marker))).toEqual(
      new Set(["runnable: quick-start", "runnable: rest-reference", "runnable: monitoring"]),
    );
  });

  it("run as written: a project, a deploy triggered and finished, the REST calls, the metrics", async () => {
    const logFrom = server.output().length;
    const session = await runSession(runnable, sessionEnv);
    expect(session.code, `${session.stderr}\n${session.stdout}`).toBe(0);

    const requests = requestsLogged(server, logFrom);
    const refused = requests.filter((request) => (request.status ?? 500) >= 400);
    expect(refused, session.stdout).toEqual([]);

    const [project] = (
      await database.pool.query("select id, api_key_hash, metrics_endpoint from projects where name = 'shop'")
    ).rows;
    expect(project?.metrics_endpoint).toBe(app.url("/seqpulse-metrics"));
    // The key the quick start printed is the project's.
    const printedKey = /SEQPULSE_API_KEY secret: (\S+)/.exec(session.stdout)?.[1] ?? "";
    expect(createHash("sha256").update(printedKey).digest("hex")).toBe(project?.api_key_hash);

    const { rows: deployments } = await database.pool.query(
      "select idempotency_key, state, pipeline_result, ci from deployments where project_id = $1 order by deployment_number",
      [project?.id],
    );
    expect(deployments).toEqual([
      expect.objectContaining({
        idempotency_key: "build-4711",
        state: "finished",
        pipeline_result: "success",
      }),
      expect.objectContaining({
        idempotency_key: "gitlab-4712-production",
        ci: expect.objectContaining({ run_id: "4712" }),
      }),
    ]);
    const paths = requests.map(
      (request) => `${request.method} ${request.path?.replace(/[0-9a-f-]{36}/, ":id")}`,
    );
    expect(paths).toEqual(
      expect.arrayContaining([
        "POST /deployments/trigger",
        "POST /deployments/finish",
        "GET /deployments/:id",
        "GET /deployments",
        "POST /admin/projects",
        "GET /metrics",
      ]),
    );
    // The metrics block sent the token it was given.
    expect(session.stdout).toContain('seqpulse_triggers_total{outcome="created"}');
  });

  it("refuses to start the quick start without the metrics endpoint, saying what to set, and creates nothing", async () => {
    const quickStart = runnable.filter((block) => block.marker === "runnable: quick-start").slice(0, 1);
    const { SEQPULSE_METRICS_ENDPOINT: _, ...withoutEndpoint } = sessionEnv;
    const before = (await database.pool.query("select count(*)::int as n from projects")).rows[0].n;
    const logFrom = server.output().length;
    const session = await runSession(quickStart, withoutEndpoint);
    expect(session.code).not.toBe(0);
    expect(session.stderr).toContain(
      "SEQPULSE_METRICS_ENDPOINT: set SEQPULSE_METRICS_ENDPOINT to the metrics URL of your application",
    );
    expect((await database.pool.query("select count(*)::int as n from projects")).rows[0].n).toBe(before);
    expect(requestsLogged(server, logFrom)).toEqual([]);
  });
});
