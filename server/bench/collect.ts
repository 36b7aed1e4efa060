/**
 * Collection under load: N deployments in their observation windows at once, against real
 * SeqPulse processes and a real metrics endpoint on loopback. Prints sample lateness (fetch time −
 * slot time), baselines lost, verdict delay after the window, and the server processes' CPU and RSS.
 *
 *   pnpm bench:collect                                  500 deployments, one process (SEQPULSE_ROLE=all)
 *   pnpm bench:collect --deployments 1000 --workers 2   one api process + 2 worker processes
 *   pnpm bench:collect --expired-samples 300000         the retention sweep deletes that many old rows mid-window
 *   options: --interval 5 --window 60 --deploy-seconds 5 --concurrency 32
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { runMigrations } from "../src/db/migrate.js";
import { createLogger } from "../src/logger.js";

const { values: args } = parseArgs({
  options: {
    deployments: { type: "string", default: "500" },
    workers: { type: "string", default: "0" },
    interval: { type: "string", default: "5" },
    window: { type: "string", default: "60" },
    "deploy-seconds": { type: "string", default: "5" },
    concurrency: { type: "string", default: "32" },
    "expired-samples": { type: "string", default: "0" },
  },
});
const total = Number(args.deployments);
const workerProcesses = Number(args.workers);
const interval = Number(args.interval);
const window = Number(args.window);
const deploySeconds = Number(args["deploy-seconds"]);
const concurrency = Number(args.concurrency);
const expiredSamples = Number(args["expired-samples"]);
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const logger = createLogger("warn");
const dataDir = process.env.DATABASE_URL ? undefined : join(".seqpulse", `bench-collect-${process.pid}`);
const embedded = dataDir ? await startEmbeddedPostgres(dataDir, logger) : undefined;
const databaseUrl = process.env.DATABASE_URL ?? (embedded?.url() as string);
await runMigrations(databaseUrl);
if (expiredSamples > 0) await seedExpiredData(databaseUrl, expiredSamples);

// The application's metrics endpoint: healthy values with a little noise, answered at once.
const metricsApp = http.createServer((_request, response) => {
  const jitter = () => 1 + (Math.random() - 0.5) * 0.1;
  response.setHeader("content-type", "application/json");
  response.end(
    JSON.stringify({
      metrics: {
        requests_per_sec: 40 * jitter(),
        latency_p95: 120 * jitter(),
        error_rate: 0.002 * jitter(),
        cpu_usage: 0.3 * jitter(),
        memory_usage: 0.5 * jitter(),
      },
    }),
  );
});
metricsApp.keepAliveTimeout = 60_000;
await new Promise<void>((done) => metricsApp.listen(0, "127.0.0.1", done));
const metricsUrl = `http://127.0.0.1:${(metricsApp.address() as AddressInfo).port}/metrics`;

interface Server {
  child: ChildProcess;
  url: string | undefined;
  stop(): Promise<void>;
}

function startServer(role: "all" | "api" | "worker"): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(REPO_ROOT, "server/src/index.ts")], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      SEQPULSE_ROLE: role,
      SEQPULSE_ADMIN_TOKEN: ADMIN_TOKEN,
      SEQPULSE_ALLOW_PRIVATE_ENDPOINTS: "true",
      SEQPULSE_LOG_LEVEL: "info",
      // One key triggers every deployment here: the per-key limit would measure itself, not collection.
      SEQPULSE_RATE_LIMIT_PER_SECOND: "0",
      // With expired rows seeded, the first sweep (and its retention pass) falls inside the windows.
      ...(expiredSamples > 0 ? { SEQPULSE_SWEEP_INTERVAL_SECONDS: String(deploySeconds + 20) } : {}),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  return new Promise((resolveServer, reject) => {
    child.stdout?.on("data", (chunk) => {
      output += chunk;
      for (const line of output.split("\n")) {
        if (!line.includes('"SeqPulse started"')) continue;
        const entry = JSON.parse(line) as { url?: string };
        // Logs are not read past the start line; draining them keeps the process from blocking.
        child.stdout?.removeAllListeners("data");
        child.stdout?.resume();
        resolveServer({
          child,
          url: entry.url,
          stop: () =>
            new Promise<void>((done) => {
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
        return;
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

const servers =
  workerProcesses > 0
    ? [
        await startServer("api"),
        ...(await Promise.all(Array.from({ length: workerProcesses }, () => startServer("worker")))),
      ]
    : [await startServer("all")];
const apiUrl = servers[0]?.url as string;

async function call<T>(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<T> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function inParallel<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

// One project per 50 deployments keeps env names short; each deployment has its own env.
const project = await call<{ api_key: string; project_id: string }>(
  "POST",
  "/admin/projects",
  { authorization: `Bearer ${ADMIN_TOKEN}` },
  {
    name: `bench-collect-${Date.now()}`,
    metrics_endpoint: metricsUrl,
    observation_window_seconds: window,
    sample_interval_seconds: interval,
    warmup_seconds: 0,
  },
);
const key = { "x-api-key": project.api_key };
const cpuBefore = servers.map((server) => cpuSeconds(server.child.pid));
const postgresCpuBefore = postgresCpuSeconds();
const machineBefore = machineCpu();
const started = Date.now();
const ids: string[] = [];
await inParallel(
  Array.from({ length: total }, (_, index) => index),
  async (index) => {
    const response = await call<{ deployment_id: string }>("POST", "/deployments/trigger", key, {
      env: `env-${index}`,
    });
    ids.push(response.deployment_id);
  },
);
const triggeredIn = Date.now() - started;
await new Promise((done) => setTimeout(done, deploySeconds * 1000));
const finishStarted = Date.now();
await inParallel(ids, async (id) => {
  await call("POST", "/deployments/finish", key, { deployment_id: id, result: "success" });
});
const finishedIn = Date.now() - finishStarted;

const rssPeak = servers.map(() => 0);
const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const deadline = Date.now() + (window + 120) * 1000;
for (;;) {
  servers.forEach((server, index) => {
    rssPeak[index] = Math.max(rssPeak[index] ?? 0, rssBytes(server.child.pid));
  });
  const { rows } = await db.query<{ analyzed: number }>(
    "select count(*)::int as analyzed from deployments where project_id = $1 and state = 'analyzed'",
    [project.project_id],
  );
  if ((rows[0]?.analyzed ?? 0) >= total || Date.now() > deadline) break;
  await new Promise((done) => setTimeout(done, 1000));
}
const elapsedSeconds = (Date.now() - started) / 1000;
const cpu = servers.map(
  (server, index) => (cpuSeconds(server.child.pid) - (cpuBefore[index] ?? 0)) / elapsedSeconds,
);
const postgresCpu =
  postgresCpuBefore === undefined
    ? undefined
    : ((postgresCpuSeconds() ?? 0) - postgresCpuBefore) / elapsedSeconds;
const machineAfter = machineCpu();
const machineBusy =
  (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total);

const lateness = await db.query<{ p50: number; p95: number; max: number; samples: number }>(
  `select percentile_cont(0.5) within group (order by ms) as p50,
          percentile_cont(0.95) within group (order by ms) as p95, max(ms) as max, count(*)::int as samples
   from (select extract(epoch from (s.fetched_at - s.collected_at)) * 1000 as ms
         from metric_samples s join deployments d on d.id = s.deployment_id
         where d.project_id = $1 and s.phase = 'post') late`,
  [project.project_id],
);
const baselines = await db.query<{ collected: number; lost: number; failures: number }>(
  `select count(*) filter (where exists (select 1 from metric_samples s where s.deployment_id = d.id and s.phase = 'baseline'))::int as collected,
          count(*) filter (where not exists (select 1 from metric_samples s where s.deployment_id = d.id and s.phase = 'baseline'))::int as lost,
          count(*) filter (where exists (select 1 from collection_failures f where f.deployment_id = d.id and f.phase = 'baseline'))::int as failures
   from deployments d where d.project_id = $1`,
  [project.project_id],
);
const verdictDelay = await db.query<{ p50: number; p95: number; max: number; verdicts: number }>(
  `select percentile_cont(0.5) within group (order by s) as p50,
          percentile_cont(0.95) within group (order by s) as p95, max(s) as max, count(*)::int as verdicts
   from (select extract(epoch from (v.created_at - (d.finished_at + make_interval(secs => p.warmup_seconds + p.observation_window_seconds)))) as s
         from verdicts v join deployments d on d.id = v.deployment_id join projects p on p.id = d.project_id
         where d.project_id = $1) delay`,
  [project.project_id],
);
const failures = await db.query<{ phase: string; kind: string; count: number }>(
  `select f.phase, f.kind, count(*)::int as count from collection_failures f
   join deployments d on d.id = f.deployment_id where d.project_id = $1 group by 1, 2 order by 1, 2`,
  [project.project_id],
);

const round = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined ? "—" : Number(value).toFixed(digits);
const lat = lateness.rows[0];
const base = baselines.rows[0];
const delay = verdictDelay.rows[0];
const mode =
  workerProcesses > 0 ? `1 api + ${workerProcesses} worker processes` : "1 process (SEQPULSE_ROLE=all)";
console.log(`\nSeqPulse collection benchmark — ${total} deployments, ${mode}`);
console.log(
  `window ${window} s, interval ${interval} s, deploy ${deploySeconds} s, ${readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length ?? "?"} cores`,
);
console.log(`triggered in ${triggeredIn} ms, finished in ${finishedIn} ms`);
console.log(`post samples: ${lat?.samples} of ${total * Math.floor(window / interval)} planned`);
console.log(
  `sample lateness (fetched_at − slot): p50 ${round(lat?.p50)} ms, p95 ${round(lat?.p95)} ms, max ${round(lat?.max)} ms`,
);
console.log(
  `baselines: ${base?.collected} collected, ${base?.lost} lost (${base?.failures} recorded as failures)`,
);
console.log(
  `verdicts: ${delay?.verdicts} of ${total}; delay after the window p50 ${round(delay?.p50, 1)} s, p95 ${round(delay?.p95, 1)} s, max ${round(delay?.max, 1)} s`,
);
for (const row of failures.rows) console.log(`collection failures: ${row.phase} ${row.kind}: ${row.count}`);
if (expiredSamples > 0) {
  const { rows } = await db.query<{ left: number }>(
    "select count(*)::int as left from metric_samples s join deployments d on d.id = s.deployment_id where d.env = 'expired'",
  );
  console.log(
    `retention: ${expiredSamples} expired samples seeded, ${rows[0]?.left} left after the sweep ran mid-window`,
  );
}
servers.forEach((_server, index) => {
  const role = workerProcesses > 0 ? (index === 0 ? "api" : `worker ${index}`) : "all";
  console.log(
    `${role}: CPU ${round((cpu[index] ?? 0) * 100)} % of one core, peak RSS ${round((rssPeak[index] ?? 0) / 2 ** 20)} MiB`,
  );
});

if (postgresCpu !== undefined)
  console.log(`PostgreSQL (embedded, every backend): CPU ${round(postgresCpu * 100)} % of one core`);
console.log(
  `machine: ${round(machineBusy * 100)} % of all cores busy during the run (other work on the machine included)`,
);

await db.end();
await Promise.all(servers.map((server) => server.stop()));
await new Promise<void>((done) => metricsApp.close(() => done()));
metricsApp.closeAllConnections();
await embedded?.stop();
if (dataDir) await rm(dataDir, { recursive: true, force: true });

/** Old deployments with samples, 120 days back: what the retention sweep deletes while sampling runs. */
async function seedExpiredData(url: string, samples: number): Promise<void> {
  const seed = new pg.Client({ connectionString: url });
  await seed.connect();
  const perDeployment = 100;
  const { rows } = await seed.query<{ id: string }>(
    `insert into projects (name, api_key_id, api_key_hash, hmac_secret, analysis)
     values ('bench-expired-' || gen_random_uuid(), 'expired-' || gen_random_uuid(), 'x', 'x', '{}') returning id`,
  );
  await seed.query(
    `insert into deployments (project_id, deployment_number, env, request_fingerprint, metrics_endpoint, state,
                              pipeline_result, started_at, finished_at, analyzed_at)
     select $1, n, 'expired', 'f', 'http://127.0.0.1:9/metrics', 'analyzed', 'success',
            now() - interval '120 days', now() - interval '120 days', now() - interval '120 days'
     from generate_series(1, $2::int) n`,
    [rows[0]?.id, Math.ceil(samples / perDeployment)],
  );
  await seed.query(
    `insert into metric_samples (deployment_id, phase, sequence, collected_at, latency_p95)
     select d.id, 'post', s, d.started_at + make_interval(secs => s), 100
     from deployments d, generate_series(1, $1::int) s where d.env = 'expired'`,
    [perDeployment],
  );
  await seed.end();
}

/** User + system CPU seconds of a process, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of the embedded PostgreSQL: the postmaster, its live backends, and the backends it
 * has reaped (its children's time). Undefined with an external DATABASE_URL.
 */
function postgresCpuSeconds(): number | undefined {
  if (!dataDir) return undefined;
  const postmaster = Number(readFileSync(join(dataDir, "pg", "postmaster.pid"), "utf8").split("\n")[0]);
  const fields = readFileSync(`/proc/${postmaster}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  let seconds = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const child = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      if (Number(child[1]) === postmaster) seconds += cpuSeconds(Number(entry));
    } catch {
      // The process ended meanwhile: its time is in the postmaster's children's time now.
    }
  }
  return seconds;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

function rssBytes(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
