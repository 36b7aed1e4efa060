/**
 * Throughput and latency of the request path on a real server and PostgreSQL (embedded unless
 * DATABASE_URL is set): creates (a new key in a new env each), replays of known keys, and finishes.
 * The server runs in this process (one event loop, a pool of --concurrency connections); the load
 * comes from a worker thread with as many keep-alive connections. When `pgbench` is installed it
 * also runs the SQL of one create, captured from the server, as the floor to compare with.
 * Every phase is measured after a warm-up of --warmup creates (their own envs), as pgbench's figure
 * is a steady state too: compiled code, every connection open, every statement prepared.
 * Prints figures; it asserts nothing.
 *   pnpm bench [--deployments 2000] [--replays 10000] [--concurrency 32] [--warmup 2000] [--pgbench-seconds 10]
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { serve } from "@hono/node-server";
import pg from "pg";
import { createApp } from "../src/app.js";
import { connectDatabase } from "../src/db/client.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { runMigrations } from "../src/db/migrate.js";
import { configureEncryptionKeys } from "../src/db/secret-box.js";
import { JobQueue } from "../src/jobs/queue.js";
import { createLogger } from "../src/logger.js";
import { createProject } from "../src/projects/service.js";

const { values } = parseArgs({
  // pnpm may pass a "--" separator through.
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    deployments: { type: "string", default: "2000" },
    replays: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "32" },
    warmup: { type: "string", default: "2000" },
    "pgbench-seconds": { type: "string", default: "10" },
  },
});
const total = Number(values.deployments);
const replays = Number(values.replays);
const concurrency = Number(values.concurrency);
const warmup = Number(values.warmup);
const pgbenchSeconds = Number(values["pgbench-seconds"]);
const logger = createLogger("warn");

const dataDir = process.env.DATABASE_URL ? undefined : join(".seqpulse", `bench-${process.pid}`);
const embedded = dataDir ? await startEmbeddedPostgres(dataDir, logger) : undefined;
const url = process.env.DATABASE_URL ?? (embedded?.url() as string);
await runMigrations(url);
configureEncryptionKeys(randomBytes(32));
const handle = connectDatabase(url, { max: concurrency });
const silent = createLogger("silent");
const app = createApp({
  db: handle.db,
  queue: new JobQueue({ executor: handle.executor, pool: handle.pool, logger: silent }),
  logger: silent,
  runningTimeoutSeconds: 3600,
  // The endpoint below is on loopback, as on a developer's machine.
  allowPrivateEndpoints: true,
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
await new Promise((resolve) => server.once("listening", resolve));
const port = (server.address() as AddressInfo).port;
const project = await createProject({
  db: handle.db,
  input: { name: `bench-${Date.now()}`, metrics_endpoint: "http://127.0.0.1:9/metrics" },
});

interface Call {
  path: string;
  body: unknown;
  headers?: Record<string, string>;
}
interface Result {
  status: number;
  ms: number;
  body: string;
}

// Plain JavaScript, evaluated in a worker thread: keep-alive node:http, `concurrency` calls in flight.
const LOAD_GENERATOR = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const agent = new http.Agent({ keepAlive: true, maxSockets: workerData.concurrency });
function send(call) {
  const body = JSON.stringify(call.body);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: "127.0.0.1", port: workerData.port, path: call.path, method: "POST", agent,
      headers: { ...workerData.headers, ...call.headers, "content-length": Buffer.byteLength(body) },
    }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => { text += chunk; });
      response.on("end", () => resolve({ status: response.statusCode, ms: performance.now() - started, body: text }));
    });
    request.on("error", reject);
    request.end(body);
  });
}
parentPort.on("message", async (calls) => {
  const results = new Array(calls.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: workerData.concurrency }, async () => {
    while (next < calls.length) {
      const index = next++;
      results[index] = await send(calls[index]);
    }
  }));
  parentPort.postMessage({ seconds: (performance.now() - started) / 1000, results });
});`;

const worker = new Worker(LOAD_GENERATOR, {
  eval: true,
  workerData: {
    port,
    concurrency,
    headers: { "x-api-key": project.api_key, "content-type": "application/json" },
  },
});

function phase(calls: Call[]): Promise<{ seconds: number; results: Result[] }> {
  return new Promise((resolve) => {
    worker.once("message", resolve);
    worker.postMessage(calls);
  });
}

const percentile = (list: number[], p: number) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

function report(name: string, outcome: { seconds: number; results: Result[] }, expected: number): number {
  const bad = outcome.results.filter((result) => result.status !== expected);
  const perSecond = outcome.results.length / outcome.seconds;
  const ms = outcome.results.map((result) => result.ms);
  console.log(
    `${name.padEnd(8)} ${String(outcome.results.length).padStart(6)} requests  ${perSecond.toFixed(0).padStart(5)} req/s  p50 ${percentile(ms, 50).toFixed(1)} ms  p99 ${percentile(ms, 99).toFixed(1)} ms${bad.length ? `  (${bad.length} answered other than ${expected}, e.g. ${bad[0]?.status} ${bad[0]?.body.slice(0, 200)})` : ""}`,
  );
  return perSecond;
}

// A capture of the statements one create sends, for pgbench: every query of every pool client,
// with the one row it returned, if it returned one.
interface Captured {
  text: string;
  values: unknown[];
  row?: Record<string, unknown>;
}
const captured: Captured[] = [];
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
function captureStatements(active: boolean) {
  (pg.Client.prototype as { query: unknown }).query = active
    ? function (this: pg.Client, ...args: unknown[]) {
        const [config, params] = args as [
          string | { text: string; values?: unknown[] },
          unknown[] | undefined,
        ];
        const entry: Captured =
          typeof config === "string"
            ? { text: config, values: params ?? [] }
            : { text: config.text, values: config.values ?? params ?? [] };
        captured.push(entry);
        const result = query.apply(this, args);
        if (result instanceof Promise) {
          void result.then(
            (answer: pg.QueryResult) => {
              if (answer?.rows?.length !== 1) return;
              const [row] = answer.rows as unknown[];
              entry.row = Array.isArray(row)
                ? Object.fromEntries(answer.fields.map((field, index) => [field.name, row[index]]))
                : (row as Record<string, unknown>);
            },
            () => undefined,
          );
        }
        return result;
      }
    : (query as unknown as typeof pg.Client.prototype.query);
}

captureStatements(true);
const sample = await phase([
  {
    path: "/deployments/trigger",
    body: { env: "bench-sample" },
    headers: { "idempotency-key": "bench-sample" },
  },
]);
captureStatements(false);
const sampleId = (JSON.parse(sample.results[0]?.body ?? "{}") as { deployment_id?: string }).deployment_id;

await phase(
  Array.from({ length: warmup }, (_, index) => ({
    path: "/deployments/trigger",
    body: { env: `warmup-${index}` },
    headers: { "idempotency-key": `bench-warmup-${index}` },
  })),
);
const memoryBefore = process.memoryUsage().rss;
const creates = await phase(
  Array.from({ length: total }, (_, index) => ({
    path: "/deployments/trigger",
    body: { env: `bench-${index}` },
    headers: { "idempotency-key": `bench-run-${index}` },
  })),
);
const replayed = await phase(
  Array.from({ length: replays }, (_, index) => ({
    path: "/deployments/trigger",
    body: { env: `bench-${index % total}` },
    headers: { "idempotency-key": `bench-run-${index % total}` },
  })),
);
const finishes = await phase(
  creates.results.map((result) => ({
    path: "/deployments/finish",
    body: {
      deployment_id: (JSON.parse(result.body) as { deployment_id: string }).deployment_id,
      result: "success",
    },
  })),
);

console.log(
  `one process, ${concurrency} connections and ${concurrency} clients; ${process.version}; after ${warmup} warm-up creates`,
);
const createRate = report("create", creates, 201);
report("replay", replayed, 200);
report("finish", finishes, 202);
console.log(
  `server process RSS: ${(memoryBefore / 2 ** 20).toFixed(0)} MiB before, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB after`,
);

// A failing pgbench must not leave the embedded database behind: report it and clean up.
const floor = await pgbenchFloor().catch((error: unknown) => {
  console.log(`pgbench floor not measured: ${error instanceof Error ? error.message : String(error)}`);
  return undefined;
});
if (floor) {
  console.log(
    `pgbench, the same SQL per create (${floor.statements} statements), ${concurrency} clients, -M prepared: ${floor.tps.toFixed(0)} tps → create at ${((createRate / floor.tps) * 100).toFixed(0)} % of it`,
  );
}

await worker.terminate();
server.close();
await handle.close();
await embedded?.stop();
if (dataDir) await rm(dataDir, { recursive: true, force: true });

/**
 * Runs the statements one create sent as a pgbench transaction, each in a fresh env and key, with
 * a fresh deployment id, and what a statement returned fed to the later ones (as \gset does).
 */
async function pgbenchFloor(): Promise<{ tps: number; statements: number } | undefined> {
  const run = promisify(execFile);
  try {
    await run("pgbench", ["--version"]);
  } catch {
    console.log("pgbench is not installed: no floor to compare with");
    return undefined;
  }
  if (!sampleId) throw new Error("the sample trigger created no deployment");
  const literal = (value: unknown): string => {
    if (value === null || value === undefined) return "NULL";
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return `'${text.replaceAll("'", "''")}'`;
  };
  // A fresh env and key (n) and deployment id (a-e, as the server draws one) per transaction.
  const lines = [
    "\\set n random(1, 1000000000000)",
    "\\set a random(0, 4294967295)",
    "\\set b random(0, 65535)",
    "\\set c random(0, 65535)",
    "\\set d random(0, 65535)",
    "\\set e random(0, 281474976710655)",
  ];
  const freshId = [
    "lpad(to_hex(:a::bigint), 8, '0')",
    "lpad(to_hex(:b::int), 4, '0')",
    "lpad(to_hex(:c::int), 4, '0')",
    "lpad(to_hex(:d::int), 4, '0')",
    "lpad(to_hex(:e::bigint), 12, '0')",
  ].join(" || '-' || ");
  // Values a statement returned that later statements pass on (the new id, the bumped counter):
  // pgbench's \gset keeps them in variables, `r<statement>_<column>`.
  const carried = new Map<string, string>();
  const isCarried = (column: string, value: unknown) =>
    column === "deployment_counter" ||
    column === "deployment_number" ||
    (typeof value === "string" &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value));
  for (const [index, { text, values, row }] of captured.entries()) {
    let sql = text.replaceAll(/\$(\d+)/g, (_match, position: string) => {
      const value = values[Number(position) - 1];
      const asText = typeof value === "object" && value !== null ? JSON.stringify(value) : value;
      if (asText === "bench-sample") return ":n";
      const variable = asText === null || asText === undefined ? undefined : carried.get(String(asText));
      if (variable) return variable;
      if (asText === sampleId) return `(${freshId})::uuid`;
      if (typeof asText === "string" && asText.includes(sampleId) && !carried.has(sampleId)) {
        return `replace(${literal(asText)}, ${literal(sampleId)}, ${freshId})`;
      }
      const id = [...carried.entries()].find(
        ([known]) => typeof asText === "string" && known.length === 36 && asText.includes(known),
      );
      if (id) return `replace(${literal(asText)}, ${literal(id[0])}, ${id[1]})`;
      // pg-boss derives its job id from the deployment's; a fresh one per transaction does as well.
      if (typeof asText === "string" && /^[0-9a-f-]{36}$/.test(asText) && text.includes("pgboss"))
        return "NULL";
      return literal(asText);
    });
    sql = sql
      .trim()
      .replace(/;$/, "")
      .replaceAll(/\s*\n\s*/g, " ");
    const passesOn = row && !text.includes("pgboss") && Object.entries(row).some(([c, v]) => isCarried(c, v));
    if (passesOn && row) {
      for (const [column, value] of Object.entries(row)) {
        if (isCarried(column, value) && !carried.has(String(value)))
          carried.set(String(value), `:r${index}_${column}`);
      }
      lines.push(`${sql} \\gset r${index}_`);
    } else lines.push(`${sql};`);
  }
  const dir = await mkdtemp(join(tmpdir(), "seqpulse-pgbench-"));
  const script = join(dir, "create.sql");
  await writeFile(script, `${lines.join("\n")}\n`);
  try {
    const { stdout } = await run(
      "pgbench",
      [
        "-n",
        "-M",
        "prepared",
        "-c",
        String(concurrency),
        "-j",
        "2",
        "-T",
        String(pgbenchSeconds),
        "-f",
        script,
        url,
      ],
      { maxBuffer: 16 * 2 ** 20 },
    ).catch((error: { stderr?: string }) => {
      throw new Error(`pgbench failed: ${error.stderr}\nscript:\n${lines.join("\n")}`);
    });
    const tps = /tps = ([\d.]+)/.exec(stdout)?.[1];
    if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
    return { tps: Number(tps), statements: captured.length };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
