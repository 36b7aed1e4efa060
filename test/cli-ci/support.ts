import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { CreateProjectResponse, DeploymentDetail, DeploymentList } from "@seqpulse/types";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, type Step, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { apiUrlOf, createProject, getDeployment, serverEnv } from "../worker/helpers.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const CLI_DIR = join(REPO_ROOT, "packages/cli");

/** Builds the bundle as `pnpm --filter @seqpulse/cli build` does, into a folder of its own. */
export async function buildCli(): Promise<{ bundle: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "seqpulse-cli-"));
  await promisify(execFile)(process.execPath, [join(CLI_DIR, "scripts/build.mjs"), "--out", dir], {
    cwd: REPO_ROOT,
  });
  return { bundle: join(dir, "seqpulse.mjs"), dispose: () => rm(dir, { recursive: true, force: true }) };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The whole environment of the process besides PATH and HOME: nothing of the test runner's leaks in. */
  env?: Record<string, string>;
  cwd?: string;
  /** Called once with the child, e.g. to signal it. */
  onSpawn?: (child: ReturnType<typeof spawn>, output: () => string) => void;
}

/** Runs the bundled CLI as a separate process with only the given environment, as a CI job would. */
export function runCli(bundle: string, args: string[], options: CliOptions = {}): Promise<CliRun> {
  return runProcess(process.execPath, [bundle, ...args], options);
}

/** Runs a command (a README snippet's line through sh, the packed `seqpulse`…) the same way. */
export function runProcess(file: string, args: string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code, signal) => resolveRun({ code, signal, stdout, stderr }));
    options.onSpawn?.(child, () => stdout + stderr);
  });
}

/** A real SeqPulse (API and workers in one process) on a database of its own, and a metrics app. */
export interface CliWorld {
  database: TestDatabase;
  app: MetricsApp;
  server: ServerProcess;
  apiUrl: string;
  /** A project on its own metrics path (healthy unless `steps` says otherwise), with 3-second windows. */
  project(steps?: Step[], extra?: Record<string, unknown>): Promise<CreateProjectResponse>;
  deployment(project: CreateProjectResponse, id: string): Promise<DeploymentDetail>;
  /** Every deployment of the project, newest first. */
  deployments(project: CreateProjectResponse): Promise<DeploymentList["items"]>;
  close(): Promise<void>;
}

export async function startWorld(): Promise<CliWorld> {
  const [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
  const server = await startServerProcess(serverEnv(database.url, { SEQPULSE_WORKER_CONCURRENCY: "16" }));
  const apiUrl = apiUrlOf(server);
  let paths = 0;
  return {
    database,
    app,
    server,
    apiUrl,
    async project(steps = [values()], extra = {}) {
      const path = `/metrics-${++paths}`;
      app.script(path, steps);
      return createProject(apiUrl, { metrics_endpoint: app.url(path), envs: [], ...extra });
    },
    deployment: (project, id) => getDeployment(apiUrl, project.api_key, id),
    async deployments(project) {
      const response = await fetch(`${apiUrl}/deployments?limit=100`, {
        headers: { "x-api-key": project.api_key },
      });
      if (response.status !== 200)
        throw new Error(`GET /deployments: ${response.status} ${await response.text()}`);
      return ((await response.json()) as DeploymentList).items;
    },
    async close() {
      await server?.stop();
      await app?.close();
      await database?.close();
    },
  };
}

/** The SeqPulse variables a pipeline sets, with short retries so that an outage is seen in a second. */
export function seqpulseEnv(apiUrl: string, apiKey: string, extra: Record<string, string> = {}) {
  return {
    SEQPULSE_API_URL: apiUrl,
    SEQPULSE_API_KEY: apiKey,
    SEQPULSE_RETRY_ATTEMPTS: "2",
    SEQPULSE_RETRY_BASE_DELAY_MS: "50",
    SEQPULSE_RETRY_MAX_DELAY_MS: "100",
    SEQPULSE_POLL_INTERVAL_MS: "250",
    ...extra,
  };
}

/** Whether the text holds the key, whole or its secret part (after `sp_<key id>_`, which may hold `_`). */
export function leaksKey(text: string, apiKey: string): boolean {
  const secret = /^sp_[a-z0-9]+_(.+)$/.exec(apiKey)?.[1] ?? apiKey;
  return text.includes(apiKey) || text.includes(secret);
}
