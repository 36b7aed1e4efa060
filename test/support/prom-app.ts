import http from "node:http";
import type { AddressInfo } from "node:net";
import { Gauge, Histogram, Registry } from "prom-client";

/**
 * A real application instrumented with prom-client the way its HTTP middlewares do it: a histogram
 * `http_request_duration_seconds` labelled by `method` and `code`, observed when each response
 * finishes, and `/metrics` for Prometheus to scrape (not counted). `/work` answers after
 * `latencyMs`, with the status given as `?status=`. A load generator sends a steady rate of
 * requests at it, a chosen share of them answered 500.
 *
 * Each request observes `latencyMs` itself rather than the time it measured: on a loaded machine a
 * timer fires late and a measured 120 ms becomes 300 ms, another bucket. With the recorded value
 * fixed, the histogram's content, and so the p95 Prometheus computes from it, is known exactly.
 *
 * The same requests are also recorded the way Micrometer (Spring Boot Actuator) names them, with
 * the scrape itself counted under `uri="/actuator/prometheus"` as Spring does, beside Micrometer's
 * CPU and JVM memory gauges, so the micrometer preset runs against Prometheus too.
 */

/** Bucket bounds in seconds: a request recorded at 120 ms lands in (0.1, 0.2]. */
export const PROM_APP_BUCKETS = [0.05, 0.1, 0.2, 0.5, 1, 2];

/** Micrometer's JVM gauges as the app reports them: heap used 300 MiB of a 1000 MiB maximum. */
export const MICROMETER_PROCESS_CPU = 0.42;
export const MICROMETER_HEAP_SHARE = 0.3;
const MIB = 1024 * 1024;
const JVM_MEMORY = [
  // Pools without a maximum report -1, as G1's young pools do.
  { area: "heap", id: "G1 Eden Space", used: 100 * MIB, max: -1 },
  { area: "heap", id: "G1 Old Gen", used: 200 * MIB, max: 1000 * MIB },
  { area: "nonheap", id: "Metaspace", used: 50 * MIB, max: -1 },
];

export interface Load {
  requestsPerSecond: number;
  /** Share of requests answered 500, spread evenly (0.25: every fourth). */
  errorShare: number;
}

export interface PromApp {
  /** `127.0.0.1:<port>`, for Prometheus' scrape config. */
  target: string;
  origin: string;
  /** Each `/work` response: when it finished (ms) and its status. */
  served: { time: number; status: number }[];
  /** Starts the load generator, or changes its rate and error share. */
  setLoad(load: Load): void;
  close(): Promise<void>;
}

export interface PromAppOptions {
  /** How long `/work` takes, and the duration each request records in the histograms. */
  latencyMs: number;
  /** Values of the `branch` label of the gauge `seqpulse_test_build_info` (value 1 each). */
  branches?: string[];
}

export async function startPromApp(options: PromAppOptions): Promise<PromApp> {
  const registry = new Registry();
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Duration of HTTP requests in seconds",
    labelNames: ["method", "code"] as const,
    buckets: PROM_APP_BUCKETS,
    registers: [registry],
  });
  const buildInfo = new Gauge({
    name: "seqpulse_test_build_info",
    help: "One series per branch, to test label value escaping",
    labelNames: ["branch"] as const,
    registers: [registry],
  });
  for (const branch of options.branches ?? []) buildInfo.set({ branch }, 1);
  const micrometer = new Histogram({
    name: "http_server_requests_seconds",
    help: "Duration of HTTP server request handling",
    labelNames: ["method", "status", "outcome", "uri"] as const,
    buckets: PROM_APP_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: "process_cpu_usage",
    help: "Recent CPU usage of the JVM process",
    registers: [registry],
  }).set(MICROMETER_PROCESS_CPU);
  const used = new Gauge({
    name: "jvm_memory_used_bytes",
    help: "Used memory",
    labelNames: ["area", "id"] as const,
    registers: [registry],
  });
  const max = new Gauge({
    name: "jvm_memory_max_bytes",
    help: "Maximum memory",
    labelNames: ["area", "id"] as const,
    registers: [registry],
  });
  for (const pool of JVM_MEMORY) {
    used.set({ area: pool.area, id: pool.id }, pool.used);
    max.set({ area: pool.area, id: pool.id }, pool.max);
  }
  const outcome = (status: number) =>
    status >= 500 ? "SERVER_ERROR" : status >= 400 ? "CLIENT_ERROR" : "SUCCESS";

  const served: PromApp["served"] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://app.invalid");
    if (url.pathname === "/metrics") {
      micrometer.observe(
        { method: "GET", status: "200", outcome: "SUCCESS", uri: "/actuator/prometheus" },
        0.001,
      );
      registry.metrics().then((text) => {
        res.writeHead(200, { "Content-Type": registry.contentType }).end(text);
      });
      return;
    }
    const method = req.method ?? "GET";
    const recordedSeconds = options.latencyMs / 1000;
    res.on("finish", () => {
      const status = String(res.statusCode);
      duration.observe({ method, code: status }, recordedSeconds);
      micrometer.observe(
        { method, uri: url.pathname, status, outcome: outcome(res.statusCode) },
        recordedSeconds,
      );
      served.push({ time: Date.now(), status: res.statusCode });
    });
    if (url.pathname !== "/work") {
      res.writeHead(404).end();
      return;
    }
    const status = Number(url.searchParams.get("status") ?? 200);
    setTimeout(() => res.writeHead(status, { "Content-Type": "text/plain" }).end("done"), options.latencyMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let load: Load = { requestsPerSecond: 0, errorShare: 0 };
  let phaseStart = 0;
  let sentInPhase = 0;
  let timer: NodeJS.Timeout | undefined;
  const send = (index: number) => {
    const failing = Math.floor((index + 1) * load.errorShare) > Math.floor(index * load.errorShare);
    const request = http.get(`${origin}/work?status=${failing ? 500 : 200}`, { agent }, (response) =>
      response.resume(),
    );
    request.on("error", () => {});
  };
  // Open loop and drift-free: sends whatever is due since the phase started, every 10 ms.
  const tick = () => {
    const due = Math.floor(((Date.now() - phaseStart) * load.requestsPerSecond) / 1000);
    for (; sentInPhase < due; sentInPhase++) send(sentInPhase);
  };

  return {
    target: `127.0.0.1:${port}`,
    origin,
    served,
    setLoad(next) {
      tick();
      load = next;
      phaseStart = Date.now();
      sentInPhase = 0;
      timer ??= setInterval(tick, 10);
    },
    async close() {
      clearInterval(timer);
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
