import { z } from "zod";
import { type MetricName, metricNames } from "./enums.js";

/**
 * What an application's metrics endpoint answers: the metrics contract. Version 1 is
 * `{ "metrics": { the five } }`; version 2 (a superset) makes each of the five optional, adds custom
 * metrics, cumulative counters and closed history buckets. Every v1 payload is a valid v2 payload.
 */

export const CUSTOM_METRIC_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const MAX_CUSTOM_METRICS = 100;
export const MAX_HISTORY_BUCKETS = 120;
export const MAX_METRICS_BODY_BYTES = 64 * 1024;

const RATIO: ReadonlySet<MetricName> = new Set(["error_rate", "cpu_usage", "memory_usage"]);

function metricValue(name: MetricName) {
  const value = z
    .number({ error: `${name} must be a finite number` })
    .finite(`${name} must be a finite number`);
  return RATIO.has(name)
    ? value.min(0, `${name} must be between 0 and 1`).max(1, `${name} must be between 0 and 1`)
    : value.min(0, `${name} must be at least 0`);
}

const knownMetrics = Object.fromEntries(metricNames.map((name) => [name, metricValue(name).optional()])) as {
  [Name in MetricName]: z.ZodOptional<ReturnType<typeof metricValue>>;
};

/** The five metrics, each optional in v2, and custom metrics (lower-case names, finite numbers). */
export const PayloadMetrics = z
  .object(knownMetrics)
  .catchall(z.number({ error: "a custom metric must be a finite number" }).finite())
  .superRefine((metrics, context) => {
    const custom = Object.keys(metrics).filter((name) => !(metricNames as readonly string[]).includes(name));
    for (const name of custom) {
      if (!CUSTOM_METRIC_PATTERN.test(name)) {
        context.addIssue({
          code: "custom",
          path: [name],
          message: `custom metric names must match ${CUSTOM_METRIC_PATTERN.source}`,
        });
      }
    }
    if (custom.length > MAX_CUSTOM_METRICS) {
      context.addIssue({ code: "custom", message: `at most ${MAX_CUSTOM_METRICS} custom metrics` });
    }
  });
export type PayloadMetrics = z.infer<typeof PayloadMetrics>;

const count = (name: string) =>
  z
    .number({ error: `${name} must be a non-negative integer` })
    .int(`${name} must be a non-negative integer`)
    .min(0, `${name} must be a non-negative integer`)
    .max(Number.MAX_SAFE_INTEGER, `${name} must be at most ${Number.MAX_SAFE_INTEGER}`);

/** Cumulative since the process started, like Prometheus counters; a decrease is a restart. */
export const PayloadCounters = z
  .object({ requests_total: count("requests_total"), errors_total: count("errors_total") })
  .strict()
  .refine((counters) => counters.errors_total <= counters.requests_total, {
    message: "errors_total must not exceed requests_total",
  });
export type PayloadCounters = z.infer<typeof PayloadCounters>;

const timestamp = z.iso.datetime({
  offset: true,
  error: "must be an ISO 8601 date-time, e.g. 2026-12-01T11:58:00Z",
});

/** One closed interval of the application's own history, with its counts. */
export const HistoryBucket = z
  .object({
    start: timestamp,
    end: timestamp,
    requests: count("requests"),
    errors: count("errors"),
    metrics: PayloadMetrics.optional(),
  })
  .strict()
  .refine((bucket) => Date.parse(bucket.end) > Date.parse(bucket.start), {
    message: "end must be after start",
    path: ["end"],
  })
  .refine((bucket) => bucket.errors <= bucket.requests, { message: "errors must not exceed requests" });
export type HistoryBucket = z.infer<typeof HistoryBucket>;

export const MetricsPayload = z
  .object({
    metrics: PayloadMetrics,
    counters: PayloadCounters.optional(),
    history: z
      .array(HistoryBucket)
      .max(MAX_HISTORY_BUCKETS, `history holds at most ${MAX_HISTORY_BUCKETS} buckets`)
      .optional(),
  })
  .superRefine((payload, context) => {
    if (Object.keys(payload.metrics).length === 0 && !payload.counters) {
      context.addIssue({
        code: "custom",
        path: ["metrics"],
        message: "at least one metric or the counters must be present",
      });
    }
    const history = payload.history ?? [];
    for (let index = 1; index < history.length; index++) {
      const previous = history[index - 1] as HistoryBucket;
      const bucket = history[index] as HistoryBucket;
      if (Date.parse(bucket.start) < Date.parse(previous.end)) {
        context.addIssue({
          code: "custom",
          path: ["history", index, "start"],
          message: "buckets must be oldest first and must not overlap",
        });
      }
    }
  });
export type MetricsPayload = z.infer<typeof MetricsPayload>;

/** The contract as a JSON Schema (draft 2020-12), for anyone writing an endpoint. */
export function metricsPayloadJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(MetricsPayload, {
    target: "draft-2020-12",
    io: "input",
    // Metric names (the five and custom ones) follow one pattern, which zod's catchall cannot say.
    override: ({ jsonSchema }) => {
      const properties = jsonSchema.properties as Record<string, unknown> | undefined;
      if (properties && "latency_p95" in properties && "cpu_usage" in properties) {
        jsonSchema.propertyNames = { pattern: CUSTOM_METRIC_PATTERN.source };
      }
    },
  }) as Record<string, unknown>;
  return {
    ...schema,
    $id: "https://seqpulse.dev/schemas/metrics-payload-v2.json",
    title: "SeqPulse metrics payload (contract v2)",
    description:
      "What a metrics endpoint answers to SeqPulse. Custom metric names match ^[a-z][a-z0-9_]{0,63}$; " +
      "errors never exceed requests; history buckets are closed, oldest first, end after start.",
  };
}

/** The first problem of a payload, as one sentence: the reason recorded for an invalid sample. */
export function describePayloadProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "the payload is invalid";
  const path = issue.path
    .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
    .join("");
  const where = path ? path.replace(/^\./, "") : "body";
  const received =
    "input" in issue && (typeof issue.input === "number" || typeof issue.input === "string")
      ? ` (got ${JSON.stringify(issue.input).slice(0, 80)})`
      : "";
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problems)` : "";
  return `${where}: ${issue.message}${received}${more}`;
}
