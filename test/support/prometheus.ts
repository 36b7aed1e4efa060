import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * A real Prometheus server for tests: Debian's `prometheus` package (`.ci/run` installs it), on
 * 127.0.0.1 with a temporary config and storage, scraping the given targets every second.
 */

/** The `prometheus` binary: `SEQPULSE_PROMETHEUS_BINARY`, else the first on PATH; undefined when absent. */
export function findPrometheusBinary(): string | undefined {
  const candidates = process.env.SEQPULSE_PROMETHEUS_BINARY
    ? [process.env.SEQPULSE_PROMETHEUS_BINARY]
    : (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "prometheus"));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`, Prometheus' base URL. */
  url: string;
  /** Everything Prometheus printed, for failure messages. */
  output(): string;
  /** Resolves once `promql` gives at least one series at the current time. */
  waitFor(promql: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export type PrometheusOptions =
  | {
      /** `host:port` of each target, all in job `app`. */
      targets: string[];
      scrapeIntervalSeconds?: number;
    }
  | {
      /** A whole prometheus.yml of the test's own (its paths absolute). */
      config: string;
    };

function configOf(options: PrometheusOptions): string {
  if ("config" in options) return options.config;
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  return [
    "global:",
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    "scrape_configs:",
    "  - job_name: app",
    "    static_configs:",
    `      - targets: [${options.targets.map((target) => JSON.stringify(target)).join(", ")}]`,
    "",
  ].join("\n");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

async function instantQuery(url: string, promql: string): Promise<unknown[]> {
  const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
  const body = (await response.json()) as { status: string; data?: { result?: unknown[] } };
  return body.data?.result ?? [];
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const binary = findPrometheusBinary();
  if (!binary) throw new Error("prometheus is not installed (apt-get install prometheus)");
  const dir = await mkdtemp(join(tmpdir(), "seqpulse-prometheus-"));
  await writeFile(join(dir, "prometheus.yml"), configOf(options));

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  let exited = false;
  const exit = new Promise<void>((done) =>
    child.once("exit", () => {
      exited = true;
      done();
    }),
  );
  // A test process that dies must not leave Prometheus running.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (!exited) child.kill("SIGTERM");
    await exit;
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prometheus exited before it was ready:\n${output}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within 30 s:\n${output}`);
    }
    await sleep(100);
  }

  return {
    url,
    output: () => output,
    async waitFor(promql, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while ((await instantQuery(url, promql)).length === 0) {
        if (Date.now() > until) throw new Error(`no series for ${promql} within ${timeoutMs} ms:\n${output}`);
        await sleep(200);
      }
    },
    stop,
  };
}
