import { type GuardedResponse, guardedGet, type SourceFailure, sourceFailure } from "../guarded-get.js";

export interface PrometheusConnection {
  /** Prometheus' base URL, the part before `/api/v1`. */
  url: string;
  /** Sent with every query; the values are secrets. */
  headers: Record<string, string>;
  timeoutMs: number;
  maxBodyBytes: number;
  allowPrivate: boolean;
  userAgent: string;
}

/** One series of an answer: its labels and its points as [unix ms, value]. */
export interface Series {
  labels: Record<string, string>;
  points: [number, number][];
}

/**
 * A successful answer: an instant query gives a vector (one point per series) or a scalar (one
 * unlabelled series), a range query a matrix.
 */
export type QueryAnswer =
  | { ok: true; resultType: "vector" | "scalar" | "matrix"; series: Series[]; httpStatus: number }
  | SourceFailure;

/** Prometheus error types that may pass on their own; the others need the query or setup fixed. */
const TRANSIENT_ERROR_TYPES = new Set(["timeout", "canceled", "unavailable", "internal"]);
const MAX_QUOTED_ERROR = 500;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Prometheus sends sample values as strings; "NaN", "+Inf" and "-Inf" occur. */
export function parseSampleValue(text: unknown): number | undefined {
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (typeof text !== "string" || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function parsePoint(point: unknown): [number, number] | undefined {
  if (!Array.isArray(point) || point.length !== 2 || typeof point[0] !== "number") return undefined;
  const value = parseSampleValue(point[1]);
  return value === undefined ? undefined : [Math.round(point[0] * 1000), value];
}

function parseLabels(metric: unknown): Record<string, string> {
  if (!isRecord(metric)) return {};
  return Object.fromEntries(
    Object.entries(metric).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

const notAResult = (status: number) =>
  sourceFailure("invalid", "Prometheus' answer is not a query result it documents.", status);

/** Reads `data` of a `"status": "success"` answer into series. */
function parseData(data: unknown, status: number): QueryAnswer {
  if (!isRecord(data)) return notAResult(status);
  const { resultType, result } = data;
  if (resultType === "scalar") {
    const point = parsePoint(result);
    return point
      ? { ok: true, resultType, series: [{ labels: {}, points: [point] }], httpStatus: status }
      : notAResult(status);
  }
  if (resultType === "string") {
    return sourceFailure("invalid", "the query gives a string; it must give a number.", status);
  }
  if ((resultType !== "vector" && resultType !== "matrix") || !Array.isArray(result))
    return notAResult(status);
  const series: Series[] = [];
  for (const item of result) {
    if (!isRecord(item)) return notAResult(status);
    const raw = resultType === "vector" ? [item.value] : item.values;
    if (!Array.isArray(raw)) return notAResult(status);
    const points: [number, number][] = [];
    for (const rawPoint of raw) {
      const point = parsePoint(rawPoint);
      if (!point) return notAResult(status);
      points.push(point);
    }
    series.push({ labels: parseLabels(item.metric), points });
  }
  return { ok: true, resultType, series, httpStatus: status };
}

/** The failure an HTTP status alone tells, for answers that carry no Prometheus error. */
function statusFailure(status: number): SourceFailure {
  if (status === 401 || status === 403) {
    return sourceFailure(
      "permanent",
      `Prometheus answered HTTP ${status}: access denied; check the headers of the metrics source.`,
      status,
    );
  }
  if (status === 404) {
    return sourceFailure(
      "permanent",
      "Prometheus answered HTTP 404; the URL must be Prometheus' base URL, without /api/v1.",
      status,
    );
  }
  if (status === 408 || status === 429 || status >= 500) {
    return sourceFailure("transient", `Prometheus answered HTTP ${status}.`, status);
  }
  return sourceFailure("permanent", `Prometheus answered HTTP ${status}.`, status);
}

function quoted(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > MAX_QUOTED_ERROR ? `${oneLine.slice(0, MAX_QUOTED_ERROR)}…` : oneLine;
}

/** Turns a guarded HTTP answer into series or a classified failure. */
export function interpretAnswer(response: GuardedResponse): QueryAnswer {
  const { status, body } = response;
  let answer: unknown;
  try {
    answer = JSON.parse(body.toString("utf8"));
  } catch {
    answer = undefined;
  }
  const ok2xx = status >= 200 && status < 300;
  if (status === 401 || status === 403 || status === 404) return statusFailure(status);
  if (!isRecord(answer)) {
    return ok2xx
      ? sourceFailure("invalid", "Prometheus' answer is not valid JSON.", status)
      : statusFailure(status);
  }
  if (answer.status === "success" && ok2xx) return parseData(answer.data, status);
  if (answer.status === "error" && typeof answer.error === "string") {
    const errorType = typeof answer.errorType === "string" ? answer.errorType : "error";
    if (TRANSIENT_ERROR_TYPES.has(errorType) || (!ok2xx && statusFailure(status).kind === "transient")) {
      return sourceFailure(
        "transient",
        `Prometheus could not run the query (${errorType}): ${quoted(answer.error)}`,
        status,
      );
    }
    return sourceFailure(
      "permanent",
      `Prometheus refused the query (${errorType}): ${quoted(answer.error)}`,
      status,
    );
  }
  return ok2xx ? notAResult(status) : statusFailure(status);
}

/** One GET of a Prometheus HTTP API path (`/api/v1/query`, `/api/v1/query_range`). Never throws. */
export async function getQuery(
  connection: PrometheusConnection,
  path: string,
  params: Record<string, string>,
): Promise<QueryAnswer> {
  let url: URL;
  try {
    url = new URL(connection.url);
  } catch {
    return sourceFailure("permanent", "Prometheus URL is not a valid URL.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return sourceFailure("permanent", "Prometheus URL must use http or https.");
  }
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${path}`;
  url.search = new URLSearchParams(params).toString();

  const headers: Record<string, string> = { ...connection.headers };
  const given = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  if (!given.has("user-agent")) headers["User-Agent"] = connection.userAgent;
  if (!given.has("accept")) headers.Accept = "application/json";

  const response = await guardedGet({
    url,
    headers,
    timeoutMs: connection.timeoutMs,
    maxBodyBytes: connection.maxBodyBytes,
    allowPrivate: connection.allowPrivate,
    peer: "Prometheus",
    checkStatus: (status) =>
      status >= 300 && status < 400
        ? sourceFailure(
            "permanent",
            `Prometheus answered HTTP ${status}; redirects are not followed.`,
            status,
          )
        : null,
  });
  return response.ok ? interpretAnswer(response) : response;
}
