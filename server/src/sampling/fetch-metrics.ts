import {
  describePayloadProblem,
  type FailureKind,
  type HistoryBucket,
  MetricsPayload,
  type PayloadCounters,
} from "@seqpulse/types";
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

/** What one answer of the endpoint says, validated against the metrics contract (v1 or v2). */
export interface EndpointReading {
  /** The five metrics that were measured and custom ones, by name. */
  metrics: Record<string, number>;
  counters?: PayloadCounters;
  history: HistoryBucket[];
}

export type FetchOutcome =
  | { ok: true; reading: EndpointReading; httpStatus: number }
  | { ok: false; kind: FailureKind; reason: string; httpStatus: number | null };

type Failure = Extract<FetchOutcome, { ok: false }>;

export type ParsedMetrics = { ok: true; reading: EndpointReading } | { ok: false; reason: string };

/** Validates a decoded body against the contract; the reason names the first problem and its path. */
export function parseMetricsPayload(payload: unknown): ParsedMetrics {
  const parsed = MetricsPayload.safeParse(payload, { reportInput: true });
  if (!parsed.success)
    return { ok: false, reason: `Invalid metrics payload: ${describePayloadProblem(parsed.error)}.` };
  const { metrics, counters, history = [] } = parsed.data;
  return {
    ok: true,
    reading: {
      metrics: Object.fromEntries(
        Object.entries(metrics).filter((entry): entry is [string, number] => typeof entry[1] === "number"),
      ),
      ...(counters ? { counters } : {}),
      history,
    },
  };
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
  return { ok: true, reading: parsed.reading, httpStatus: status };
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
