import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { MetricValues } from "@seqpulse/types";

/**
 * A scripted application metrics endpoint for end-to-end tests: a real HTTP server on 127.0.0.1.
 *
 * Each path plays its own sequence of steps, one step per request it answers; the last step repeats.
 * Every request is recorded (path, headers, time, what was answered) so tests can count and inspect
 * what SeqPulse sent.
 */

export type Fault =
  /** Accepts the request and never answers. */
  | "timeout"
  /** `{"metrics":{...NaN...}}`: a literal NaN, which is not JSON. */
  | "nan"
  /** `{"metrics": {` cut off. */
  | "invalid_json"
  /** Well-formed JSON with error_rate 1.5 (outside 0..1). */
  | "out_of_range"
  /** Valid JSON padded to more than 64 KiB, streamed without Content-Length. */
  | "oversized"
  /** 302 to the cloud metadata address; a client that follows it is broken. */
  | "redirect";

export type Step =
  /** 200 with these metric values (optionally after a delay). */
  | { values: MetricValues; delayMs?: number }
  /** 200 with this JSON body as it is, e.g. a v2 payload with counters and history, or a broken one. */
  | { body: unknown }
  /** This HTTP status with a small JSON error body. */
  | { status: number }
  | { fault: Fault };

export interface PathOptions {
  /**
   * Verify SeqPulse HMAC v2 headers with this secret before answering; a bad or missing signature,
   * a skewed timestamp or a reused nonce is answered 401 and does not consume a step.
   */
  hmacSecret?: string;
}

export type Answer =
  | "values"
  | "body"
  | `status_${number}`
  | Fault
  | "hmac_rejected"
  | "not_scripted"
  | "method_not_allowed";

export interface RecordedRequest {
  method: string;
  /** The request target as sent, query string included. */
  url: string;
  /** Canonical pathname: no query string, no trailing slash (except the root). */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** `Date.now()` when the request arrived. */
  time: number;
  /** Index of the step that answered, or null when none did (401, 404). */
  step: number | null;
  answer: Answer;
  /** Why HMAC verification refused the request, when it did. */
  hmacProblem?: string;
}

export interface MetricsApp {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** Absolute URL for a path (which may carry a query string). */
  url(path: string): string;
  /** (Re)defines what a path answers (matched on its canonical form); its step cursor starts over. */
  script(path: string, steps: Step[], options?: PathOptions): void;
  /** Every request received so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests whose canonical pathname is that of `path` (query string ignored). */
  requestsTo(path: string): RecordedRequest[];
  /** Resolves once `path` has received at least `count` requests. */
  waitForRequests(path: string, count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export const METADATA_URL = "http://169.254.169.254/latest/meta-data";
export const MAX_BODY_BYTES = 64 * 1024;
const MAX_CLOCK_SKEW_MS = 300_000;

export const HEALTHY: MetricValues = {
  requests_per_sec: 120,
  latency_p95: 50,
  error_rate: 0.001,
  cpu_usage: 0.35,
  memory_usage: 0.5,
};

export const values = (overrides: Partial<MetricValues> = {}, delayMs?: number): Step => ({
  values: { ...HEALTHY, ...overrides },
  ...(delayMs === undefined ? {} : { delayMs }),
});
export const jsonBody = (payload: unknown): Step => ({ body: payload });
export const fault = (name: Fault): Step => ({ fault: name });
export const status = (code: number): Step => ({ status: code });

/** Leading `/`, no trailing `/` except for the root; written independently of the server's. */
export function canonicalPathOf(pathname: string): string {
  const trimmed = pathname.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

interface PathScript {
  steps: Step[];
  options: PathOptions;
  cursor: number;
  nonces: Set<string>;
}

export async function startMetricsApp(initial: Record<string, Step[]> = {}): Promise<MetricsApp> {
  const scripts = new Map<string, PathScript>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();

  const script: MetricsApp["script"] = (path, steps, options = {}) => {
    if (steps.length === 0) throw new Error(`script for ${path} has no steps`);
    scripts.set(canonicalPathOf(path), { steps, options, cursor: 0, nonces: new Set() });
  };
  for (const [path, steps] of Object.entries(initial)) script(path, steps);

  const server = http.createServer((req, res) => {
    res.on("error", () => {});
    const pathname = new URL(req.url ?? "/", "http://metrics-app.invalid").pathname;
    const path = canonicalPathOf(pathname);
    const record: RecordedRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      path,
      headers: req.headers,
      time: Date.now(),
      step: null,
      answer: "not_scripted",
    };
    requests.push(record);
    for (const wake of waiters) wake();

    const target = scripts.get(path);
    if (!target) {
      res.writeHead(404, { "Content-Type": "application/json" }).end('{"error":"not scripted"}');
      return;
    }
    if (req.method !== "GET") {
      record.answer = "method_not_allowed";
      res.writeHead(405).end();
      return;
    }
    if (target.options.hmacSecret !== undefined) {
      const problem = hmacProblem(req, pathname, target.options.hmacSecret, target.nonces);
      if (problem) {
        record.answer = "hmac_rejected";
        record.hmacProblem = problem;
        res.writeHead(401, { "Content-Type": "application/json" }).end(JSON.stringify({ error: problem }));
        return;
      }
    }
    const index = Math.min(target.cursor, target.steps.length - 1);
    target.cursor++;
    record.step = index;
    const step = target.steps[index] as Step;
    answer(step, res, record);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const requestsTo = (path: string) => {
    const canonical = canonicalPathOf(path.replace(/[?#].*$/s, ""));
    return requests.filter((request) => request.path === canonical);
  };

  return {
    origin,
    port,
    url: (path) => `${origin}${path.startsWith("/") ? path : `/${path}`}`,
    script,
    requests,
    requestsTo,
    waitForRequests(path, count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const seen = requestsTo(path);
          if (seen.length < count) return false;
          waiters.delete(wake);
          clearTimeout(timer);
          resolve(seen);
          return true;
        };
        const wake = () => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`${path} got ${requestsTo(path).length} of ${count} requests in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(step: Step, res: http.ServerResponse, record: RecordedRequest): void {
  const json = (code: number, body: string) =>
    res.writeHead(code, { "Content-Type": "application/json" }).end(body);
  if ("values" in step) {
    record.answer = "values";
    const send = () => json(200, JSON.stringify({ metrics: step.values, app: "metrics-app" }));
    if (step.delayMs) setTimeout(send, step.delayMs).unref();
    else send();
    return;
  }
  if ("body" in step) {
    record.answer = "body";
    json(200, JSON.stringify(step.body));
    return;
  }
  if ("status" in step) {
    record.answer = `status_${step.status}`;
    json(step.status, JSON.stringify({ error: `scripted ${step.status}` }));
    return;
  }
  record.answer = step.fault;
  switch (step.fault) {
    case "timeout":
      // Headers are never sent; the client has to give up on its own.
      return;
    case "nan":
      json(
        200,
        '{"metrics":{"requests_per_sec":NaN,"latency_p95":50,"error_rate":0.001,"cpu_usage":0.3,"memory_usage":0.5}}',
      );
      return;
    case "invalid_json":
      json(200, '{"metrics": {"requests_per_sec": 120, "latency_p95": ');
      return;
    case "out_of_range":
      json(200, JSON.stringify({ metrics: { ...HEALTHY, error_rate: 1.5 } }));
      return;
    case "oversized": {
      // Well-formed JSON, so only the size limit can reject it; no Content-Length, so the
      // client must count the bytes as they stream in.
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write(`{"metrics":${JSON.stringify(HEALTHY)},"padding":"`);
      const chunk = "x".repeat(16 * 1024);
      for (let sent = 0; sent <= MAX_BODY_BYTES; sent += chunk.length) res.write(chunk);
      res.end('"}');
      return;
    }
    case "redirect":
      res.writeHead(302, { Location: METADATA_URL }).end();
      return;
  }
}

function header(req: http.IncomingMessage, name: string): string {
  const value = req.headers[name.toLowerCase()];
  return typeof value === "string" ? value : "";
}

/** Checks the v2 headers like an application SDK would; returns the problem, or null when valid. */
function hmacProblem(
  req: http.IncomingMessage,
  pathname: string,
  secret: string,
  nonces: Set<string>,
): string | null {
  if (header(req, "X-SeqPulse-Signature-Version") !== "v2") return "signature version is not v2";
  const timestamp = header(req, "X-SeqPulse-Timestamp");
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(timestamp)) return "malformed timestamp";
  if (Math.abs(Date.now() - Date.parse(timestamp)) > MAX_CLOCK_SKEW_MS) return "timestamp outside skew";
  const nonce = header(req, "X-SeqPulse-Nonce");
  if (nonce === "") return "missing nonce";
  const method = (req.method ?? "").toUpperCase();
  const path = canonicalPathOf(pathname);
  const expected = Buffer.from(
    `sha256=${createHmac("sha256", secret).update(`${timestamp}|${method}|${path}|${nonce}`).digest("hex")}`,
  );
  const given = Buffer.from(header(req, "X-SeqPulse-Signature"));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "bad signature";
  // Checked after the signature, so that a forged request cannot burn a legitimate nonce.
  if (nonces.has(nonce)) return "reused nonce";
  nonces.add(nonce);
  return null;
}
