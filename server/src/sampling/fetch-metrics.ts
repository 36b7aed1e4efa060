import { type MetricName, type MetricValues, metricNames } from "@seqpulse/types";
import { sourceFailure as failure, guardedGet } from "./guarded-get.js";
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
export async function fetchMetrics(options: FetchMetricsOptions): Promise<FetchOutcome> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    return failure("permanent", "Metrics URL is not a valid URL.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return failure("permanent", "Metrics URL must use http or https.");
  }
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
  const response = await guardedGet({
    url,
    headers,
    timeoutMs: options.timeoutMs,
    maxBodyBytes: options.maxBodyBytes,
    allowPrivate: options.allowPrivate,
    peer: "endpoint",
    checkStatus: (status) => statusFailure(status, signed),
  });
  return response.ok ? bodyOutcome(response.body, response.status) : response;
}
