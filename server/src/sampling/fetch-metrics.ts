import http from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import { type MetricName, type MetricValues, metricNames } from "@seqpulse/types";
import { checkLiteralHost, FORBIDDEN_ADDRESS_CODE, guardedLookup } from "./address-guard.js";
import { signRequest } from "./hmac.js";

export interface FetchMetricsOptions {
  url: string;
  /** Budget for the whole exchange: DNS, connect, headers and body. */
  timeoutMs: number;
  maxBodyBytes: number;
  allowPrivate: boolean;
  userAgent: string;
  hmac?: { secret: string; projectId: string };
  now?: () => Date;
}

export type FetchOutcome =
  | { ok: true; metrics: MetricValues; httpStatus: number }
  | { ok: false; kind: "transient" | "permanent" | "invalid"; reason: string; httpStatus: number | null };

type Failure = Extract<FetchOutcome, { ok: false }>;

export type ParsedMetrics = { ok: true; metrics: MetricValues } | { ok: false; reason: string };

const metricMaximum: Record<MetricName, number> = {
  requests_per_sec: Number.POSITIVE_INFINITY,
  latency_p95: Number.POSITIVE_INFINITY,
  error_rate: 1,
  cpu_usage: 1,
  memory_usage: 1,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates a decoded `{ "metrics": { ... } }` body; extra fields are ignored. */
export function parseMetricsPayload(payload: unknown): ParsedMetrics {
  if (!isRecord(payload) || !isRecord(payload.metrics)) {
    return { ok: false, reason: 'Response body is not an object with a "metrics" object.' };
  }
  const source = payload.metrics;
  const metrics: Partial<MetricValues> = {};
  for (const name of metricNames) {
    const value = source[name];
    if (value === undefined) return { ok: false, reason: `Metric ${name} is missing.` };
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return { ok: false, reason: `Metric ${name} is not a finite number.` };
    }
    const max = metricMaximum[name];
    if (value < 0 || value > max) {
      const expected = max === Number.POSITIVE_INFINITY ? "at least 0" : `between 0 and ${max}`;
      return { ok: false, reason: `Metric ${name} is ${value}, expected ${expected}.` };
    }
    metrics[name] = value;
  }
  return { ok: true, metrics: metrics as MetricValues };
}

function failure(kind: Failure["kind"], reason: string, httpStatus: number | null = null): Failure {
  return { ok: false, kind, reason, httpStatus };
}

function forbiddenFailure(detail: string): Failure {
  return failure(
    "permanent",
    `Refused to connect: ${detail}. Set SEQPULSE_ALLOW_PRIVATE_ENDPOINTS=true to allow private endpoints.`,
  );
}

function statusFailure(status: number, signed: boolean): Failure | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) {
    return failure("permanent", `Endpoint answered HTTP ${status}; redirects are not followed.`, status);
  }
  if (status === 401 || status === 403) {
    const detail = signed ? "HMAC signature rejected" : "access denied";
    return failure("permanent", `Endpoint answered HTTP ${status}: ${detail}.`, status);
  }
  if (status === 408 || status === 429 || status >= 500) {
    return failure("transient", `Endpoint answered HTTP ${status}.`, status);
  }
  return failure("permanent", `Endpoint answered HTTP ${status}.`, status);
}

function networkFailure(err: NodeJS.ErrnoException): Failure {
  if (err.code === FORBIDDEN_ADDRESS_CODE) return forbiddenFailure(err.message);
  return failure("transient", `Could not reach the endpoint (${err.code ?? (err.message || err.name)}).`);
}

function bodyOutcome(body: Buffer, status: number): FetchOutcome {
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString("utf8"));
  } catch {
    return failure("invalid", "Response body is not valid JSON.", status);
  }
  const parsed = parseMetricsPayload(payload);
  if (!parsed.ok) return failure("invalid", parsed.reason, status);
  return { ok: true, metrics: parsed.metrics, httpStatus: status };
}

/** One GET of an application's metrics endpoint. Never throws; every failure is classified. */
export function fetchMetrics(options: FetchMetricsOptions): Promise<FetchOutcome> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    return Promise.resolve(failure("permanent", "Metrics URL is not a valid URL."));
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.resolve(failure("permanent", "Metrics URL must use http or https."));
  }
  const literal = checkLiteralHost(url.hostname, options.allowPrivate);
  if (literal) return Promise.resolve(forbiddenFailure(literal.message));

  const headers: Record<string, string> = { "User-Agent": options.userAgent, Accept: "application/json" };
  if (options.hmac) {
    Object.assign(
      headers,
      signRequest({
        secret: options.hmac.secret,
        method: "GET",
        path: url.pathname,
        projectId: options.hmac.projectId,
        now: options.now?.() ?? new Date(),
      }),
    );
  }
  const signed = options.hmac !== undefined;
  const maxBytes = options.maxBodyBytes;
  const tooLarge = (status: number) =>
    failure("invalid", `Response body is too large (over ${maxBytes} bytes).`, status);

  return new Promise((resolve) => {
    const request = (url.protocol === "https:" ? https : http).request({
      ...urlToHttpOptions(url),
      method: "GET",
      headers,
      // A private agent per request: destroying the request always closes its socket.
      agent: false,
      lookup: guardedLookup(options.allowPrivate),
    });
    const timer = setTimeout(
      () => finish(failure("transient", `Endpoint did not answer within ${options.timeoutMs} ms.`)),
      options.timeoutMs,
    );
    let settled = false;
    function finish(outcome: FetchOutcome): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(outcome);
    }

    request.on("error", (err) => finish(networkFailure(err)));
    request.on("response", (response) => {
      const status = response.statusCode ?? 0;
      response.on("error", (err) => finish(networkFailure(err)));
      const rejected = statusFailure(status, signed);
      if (rejected) return finish(rejected);
      if (Number(response.headers["content-length"]) > maxBytes) return finish(tooLarge(status));
      const chunks: Buffer[] = [];
      let received = 0;
      response.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) return finish(tooLarge(status));
        chunks.push(chunk);
      });
      response.on("end", () => finish(bodyOutcome(Buffer.concat(chunks), status)));
    });
    request.end();
  });
}
