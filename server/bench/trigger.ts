/**
 * Throughput and latency of trigger + finish on a real server and PostgreSQL (embedded unless
 * DATABASE_URL is set). Prints figures; it asserts nothing.
 *   pnpm bench [--deployments 2000] [--concurrency 32]
 */
import { rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { createApp } from "../src/app.js";
import { connectDatabase } from "../src/db/client.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { runMigrations } from "../src/db/migrate.js";
import { JobQueue } from "../src/jobs/queue.js";
import { createLogger } from "../src/logger.js";
import { createProject } from "../src/projects/service.js";

const { values } = parseArgs({
  // pnpm may pass a "--" separator through.
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    deployments: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "32" },
  },
});
const total = Number(values.deployments);
const concurrency = Number(values.concurrency);
const logger = createLogger("warn");

const dataDir = process.env.DATABASE_URL ? undefined : join(".seqpulse", `bench-${process.pid}`);
const embedded = dataDir ? await startEmbeddedPostgres(dataDir, logger) : undefined;
const url = process.env.DATABASE_URL ?? (embedded?.url() as string);
await runMigrations(url);
const handle = connectDatabase(url, { max: concurrency });
const silent = createLogger("silent");
const app = createApp({
  db: handle.db,
  queue: new JobQueue({ executor: handle.executor, logger: silent }),
  logger: silent,
  runningTimeoutSeconds: 3600,
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
await new Promise((resolve) => server.once("listening", resolve));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const project = await createProject({
  db: handle.db,
  input: { name: `bench-${Date.now()}`, metrics_endpoint: "http://127.0.0.1:9/metrics" },
});
const headers = { "x-api-key": project.api_key, "content-type": "application/json" };

async function timed(path: string, body: unknown, extra: Record<string, string> = {}) {
  const started = performance.now();
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { ...headers, ...extra },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { deployment_id: string };
  return { ms: performance.now() - started, status: response.status, json };
}

const triggerMs: number[] = [];
const replayMs: number[] = [];
const finishMs: number[] = [];
let next = 0;
const memoryBefore = process.memoryUsage().rss;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const index = next++;
      // Each deployment gets its own environment so that triggers do not join each other.
      const env = `bench-${index}`;
      const key = { "idempotency-key": `bench-run-${index}` };
      const trigger = await timed("/deployments/trigger", { env }, key);
      triggerMs.push(trigger.ms);
      replayMs.push((await timed("/deployments/trigger", { env }, key)).ms);
      finishMs.push(
        (await timed("/deployments/finish", { deployment_id: trigger.json.deployment_id, result: "success" }))
          .ms,
      );
    }
  }),
);
const seconds = (performance.now() - started) / 1000;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]?.toFixed(1);
};
console.log(`deployments: ${total}, concurrency: ${concurrency}, wall time: ${seconds.toFixed(2)} s`);
console.log(`requests/s (trigger + replay + finish): ${((total * 3) / seconds).toFixed(0)}`);
for (const [name, list] of [
  ["trigger (new)", triggerMs],
  ["trigger (replayed key)", replayMs],
  ["finish", finishMs],
] as const) {
  console.log(
    `${name.padEnd(24)} p50 ${percentile(list, 50)} ms  p95 ${percentile(list, 95)} ms  p99 ${percentile(list, 99)} ms`,
  );
}
console.log(
  `server process RSS: ${(memoryBefore / 2 ** 20).toFixed(0)} MiB before, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB after`,
);

server.close();
await handle.close();
await embedded?.stop();
if (dataDir) await rm(dataDir, { recursive: true, force: true });
