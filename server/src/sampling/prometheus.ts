import { isRatioMetric, type PrometheusMetricsSource, templateVariablesOf } from "@seqpulse/types";
import { type SourceFailure, sourceFailure } from "./guarded-get.js";
import { getQuery, type PrometheusConnection, type QueryAnswer, type Series } from "./prometheus/api.js";
import { promqlDuration, type QueryTemplate, renderQuery, resolveQueries } from "./prometheus/queries.js";

export interface PrometheusReadOptions {
  source: PrometheusMetricsSource;
  /** Fills `{{env}}`, `{{commit_sha}}` and `{{branch}}`. */
  deployment: { env: string; commitSha: string | null; branch: string | null };
  /** Per query: DNS, connect, headers and body. */
  timeoutMs: number;
  /** Per answer. */
  maxBodyBytes: number;
  allowPrivate: boolean;
  userAgent: string;
}

/**
 * What Prometheus says about one interval `(start, end]`: the built-in metrics (latency_p95 in
 * milliseconds, the ratios as 0..1 fractions) and custom metrics under `metrics`, `null` when
 * their query gave no usable value; `requests` and `errors` are counts over the interval, rounded
 * to integers. Only the configured queries appear in `metrics`.
 */
export interface PrometheusObservation {
  start: Date;
  end: Date;
  requests: number | null;
  errors: number | null;
  metrics: Record<string, number | null>;
}

/** Why a configured query gave no value (empty result, NaN, +Inf, out of range), by query name. */
export type MissingValues = Record<string, string>;

export type PrometheusSampleOutcome =
  | { ok: true; observation: PrometheusObservation; missing: MissingValues }
  | SourceFailure;

export type PrometheusBaselineOutcome =
  | { ok: true; observations: PrometheusObservation[]; missing: MissingValues }
  | SourceFailure;

const QUERY_CONCURRENCY = 4;
/** Prometheus refuses range queries of more points than this per series. */
const MAX_RANGE_STEPS = 11_000;
const MAX_REASON_LENGTH = 2000;

type Checked = { ok: true; value: number } | { ok: false; reason: string };

/** Validates one value of a query and converts it to SeqPulse's unit. */
function checkValue(query: QueryTemplate, raw: number): Checked {
  if (Number.isNaN(raw)) return { ok: false, reason: "is NaN (often 0/0: no requests in the interval)" };
  if (!Number.isFinite(raw)) {
    if (query.name === "latency_p95" && raw > 0) {
      return { ok: false, reason: "is +Inf: the 95th percentile lies above the histogram's largest bucket" };
    }
    return { ok: false, reason: `is ${raw > 0 ? "+Inf" : "-Inf"}` };
  }
  if (query.role === "custom") return { ok: true, value: raw };
  if (raw < 0) return { ok: false, reason: `is ${raw}, expected at least 0` };
  if (query.role === "count") return { ok: true, value: Math.round(raw) };
  if (isRatioMetric(query.name) && raw > 1) {
    return { ok: false, reason: `is ${raw}, expected a fraction between 0 and 1` };
  }
  // Prometheus measures time in seconds; SeqPulse stores milliseconds.
  return { ok: true, value: query.name === "latency_p95" ? raw * 1000 : raw };
}

function describeLabels(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(", ")}}`;
}

function severalSeries(series: Series[], httpStatus: number): SourceFailure {
  const examples = series.slice(0, 2).map((one) => describeLabels(one.labels));
  return sourceFailure(
    "invalid",
    `the query returned ${series.length} series (${examples.join(", ")}${series.length > 2 ? ", …" : ""}); ` +
      "aggregate them into one with sum(), avg() or max(), e.g. sum(rate(...))",
    httpStatus,
  );
}

function rangeVectorGiven(httpStatus: number): SourceFailure {
  return sourceFailure(
    "invalid",
    "the query gives a range vector; wrap the range selector in a function such as rate() or increase()",
    httpStatus,
  );
}

function emptyReason(query: QueryTemplate, intervalSeconds: number, over: string): string {
  const hint = templateVariablesOf(query.promql).includes("interval")
    ? `; if it uses {{interval}} (${promqlDuration(intervalSeconds)}), that range must hold at least two scrapes`
    : "";
  return `empty result ${over}: no series matched${hint}`;
}

type Answered = Extract<QueryAnswer, { ok: true }>;

type QueryResult =
  | { status: "answered"; answer: Answered }
  | { status: "skipped"; reason: string }
  | { status: "failed"; failure: SourceFailure };

/** Runs every query with a few in flight at a time; results keep the queries' order. */
async function runQueries(
  options: PrometheusReadOptions,
  queries: QueryTemplate[],
  intervalSeconds: number,
  send: (connection: PrometheusConnection, promql: string) => Promise<QueryAnswer>,
): Promise<QueryResult[]> {
  const connection: PrometheusConnection = {
    url: options.source.url,
    headers: options.source.headers ?? {},
    timeoutMs: options.timeoutMs,
    maxBodyBytes: options.maxBodyBytes,
    allowPrivate: options.allowPrivate,
    userAgent: options.userAgent,
  };
  const values = { ...options.deployment, intervalSeconds };
  const results: QueryResult[] = new Array(queries.length);
  let next = 0;
  async function worker(): Promise<void> {
    for (let index = next++; index < queries.length; index = next++) {
      const rendered = renderQuery((queries[index] as QueryTemplate).promql, values);
      if (!rendered.ok) {
        results[index] = { status: "skipped", reason: rendered.reason };
        continue;
      }
      const answer = await send(connection, rendered.promql);
      results[index] = answer.ok ? { status: "answered", answer } : { status: "failed", failure: answer };
    }
  }
  await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, queries.length) }, worker));
  return results;
}

/** Header values must not reach a reason, even if a proxy echoed one into its error. */
function redact(reason: string, headers: Record<string, string> | undefined): string {
  let text = reason;
  for (const value of Object.values(headers ?? {})) {
    if (value.length >= 4) text = text.replaceAll(value, "[redacted]");
  }
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text;
}

/** The slot's failure: one needing a fix (permanent, invalid) before one that may pass (transient). */
function firstFailure(failures: { name: string; failure: SourceFailure }[]): SourceFailure | undefined {
  const chosen = failures.find(({ failure }) => failure.kind !== "transient") ?? failures[0];
  if (!chosen) return undefined;
  return { ...chosen.failure, reason: `${chosen.name}: ${chosen.failure.reason}` };
}

/** `httpStatus` is that of an answer, or null when every query was skipped before it was sent. */
function noValue(missing: MissingValues, results: QueryResult[]): SourceFailure {
  const details = Object.entries(missing).map(([name, reason]) => `${name}: ${reason}`);
  const answered = results.find((result) => result.status === "answered");
  return sourceFailure(
    "invalid",
    `No query gave a value. ${details.join("; ")}`,
    answered?.status === "answered" ? answered.answer.httpStatus : null,
  );
}

function noQueries(): SourceFailure {
  return sourceFailure(
    "permanent",
    "The Prometheus metrics source runs no query: every query of its preset is set to null.",
  );
}

function emptyObservation(queries: QueryTemplate[], start: Date, end: Date): PrometheusObservation {
  const metrics: Record<string, number | null> = {};
  for (const query of queries) if (query.role !== "count") metrics[query.name] = null;
  return { start, end, requests: null, errors: null, metrics };
}

function setValue(observation: PrometheusObservation, query: QueryTemplate, value: number): void {
  if (query.name === "requests" && query.role === "count") observation.requests = value;
  else if (query.name === "errors" && query.role === "count") observation.errors = value;
  else observation.metrics[query.name] = value;
}

function unixSeconds(time: Date): string {
  return (time.getTime() / 1000).toFixed(3);
}

/**
 * One observation at a slot: every query as an instant query at `time` (so a late worker still
 * reads the slot's moment), with `{{interval}}` = `intervalSeconds`. Never throws.
 */
export async function queryPrometheusSample(
  options: PrometheusReadOptions,
  slot: { time: Date; intervalSeconds: number },
): Promise<PrometheusSampleOutcome> {
  const queries = resolveQueries(options.source);
  if (queries.length === 0) return noQueries();
  const results = await runQueries(options, queries, slot.intervalSeconds, (connection, promql) =>
    getQuery(connection, "/api/v1/query", { query: promql, time: unixSeconds(slot.time) }),
  );

  const observation = emptyObservation(
    queries,
    new Date(slot.time.getTime() - slot.intervalSeconds * 1000),
    slot.time,
  );
  const missing: MissingValues = {};
  const failures: { name: string; failure: SourceFailure }[] = [];
  let values = 0;
  queries.forEach((query, index) => {
    const result = results[index] as QueryResult;
    if (result.status === "skipped") missing[query.name] = result.reason;
    else if (result.status === "failed") failures.push({ name: query.name, failure: result.failure });
    else if (result.answer.resultType === "matrix") {
      failures.push({ name: query.name, failure: rangeVectorGiven(result.answer.httpStatus) });
    } else if (result.answer.series.length > 1) {
      failures.push({
        name: query.name,
        failure: severalSeries(result.answer.series, result.answer.httpStatus),
      });
    } else {
      const point = result.answer.series[0]?.points[0];
      if (!point) {
        missing[query.name] = emptyReason(query, slot.intervalSeconds, "at the slot time");
        return;
      }
      const checked = checkValue(query, point[1]);
      if (!checked.ok) missing[query.name] = checked.reason;
      else {
        setValue(observation, query, checked.value);
        values++;
      }
    }
  });

  const failed = firstFailure(failures) ?? (values === 0 ? noValue(missing, results) : undefined);
  if (failed) return { ...failed, reason: redact(failed.reason, options.source.headers) };
  for (const [name, reason] of Object.entries(missing))
    missing[name] = redact(reason, options.source.headers);
  return { ok: true, observation, missing };
}

/**
 * Baseline observations from range queries: one per `stepSeconds` over the `lookbackSeconds`
 * before `end`, oldest first, each covering `(t - step, t]` with `{{interval}}` = the step, so
 * the intervals tile the lookback. Steps where no query has a value are left out (gaps in the
 * data). Never throws.
 */
export async function queryPrometheusBaseline(
  options: PrometheusReadOptions,
  range: { end: Date; lookbackSeconds: number; stepSeconds: number },
): Promise<PrometheusBaselineOutcome> {
  const queries = resolveQueries(options.source);
  if (queries.length === 0) return noQueries();
  const stepMs = Math.round(range.stepSeconds * 1000);
  const steps = Math.floor((range.lookbackSeconds * 1000) / stepMs);
  if (!(stepMs > 0 && steps >= 1)) {
    return sourceFailure("permanent", "The baseline lookback is shorter than one step.");
  }
  if (steps > MAX_RANGE_STEPS) {
    return sourceFailure(
      "permanent",
      `The baseline lookback holds ${steps} steps; Prometheus answers at most ${MAX_RANGE_STEPS}. Use a longer step.`,
    );
  }
  const endMs = range.end.getTime();
  const startMs = endMs - (steps - 1) * stepMs;
  const results = await runQueries(options, queries, range.stepSeconds, (connection, promql) =>
    getQuery(connection, "/api/v1/query_range", {
      query: promql,
      start: unixSeconds(new Date(startMs)),
      end: unixSeconds(range.end),
      step: String(stepMs / 1000),
    }),
  );

  const observations = Array.from({ length: steps }, (_, k) =>
    emptyObservation(queries, new Date(startMs + (k - 1) * stepMs), new Date(startMs + k * stepMs)),
  );
  const filled = new Array<boolean>(steps).fill(false);
  const missing: MissingValues = {};
  const failures: { name: string; failure: SourceFailure }[] = [];
  queries.forEach((query, index) => {
    const result = results[index] as QueryResult;
    if (result.status === "skipped") missing[query.name] = result.reason;
    else if (result.status === "failed") failures.push({ name: query.name, failure: result.failure });
    else if (result.answer.series.length > 1) {
      failures.push({
        name: query.name,
        failure: severalSeries(result.answer.series, result.answer.httpStatus),
      });
    } else if (result.answer.series.length === 0) {
      missing[query.name] = emptyReason(query, range.stepSeconds, "over the whole lookback");
    } else {
      const problems = new Map<string, number>();
      for (const [time, raw] of (result.answer.series[0] as Series).points) {
        const k = Math.round((time - startMs) / stepMs);
        const observation = observations[k];
        if (!observation || observation.end.getTime() !== time) continue;
        const checked = checkValue(query, raw);
        if (checked.ok) {
          setValue(observation, query, checked.value);
          filled[k] = true;
        } else problems.set(checked.reason, (problems.get(checked.reason) ?? 0) + 1);
      }
      if (problems.size > 0) {
        missing[query.name] = [...problems]
          .map(([reason, count]) => `${reason} at ${count} of ${steps} steps`)
          .join("; ");
      }
    }
  });

  const kept = observations.filter((_, k) => filled[k]);
  const failed = firstFailure(failures) ?? (kept.length === 0 ? noValue(missing, results) : undefined);
  if (failed) return { ...failed, reason: redact(failed.reason, options.source.headers) };
  for (const [name, reason] of Object.entries(missing))
    missing[name] = redact(reason, options.source.headers);
  return { ok: true, observations: kept, missing };
}
