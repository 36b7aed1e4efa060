import {
  type MetricName,
  metricNames,
  type PrometheusMetricsSource,
  type PrometheusPreset,
  type PromqlTemplateVariable,
  prometheusCountQueries,
  replaceTemplateVariables,
  templateVariablesOf,
} from "@seqpulse/types";

export type CountName = (typeof prometheusCountQueries)[number];

/** One PromQL template to run: a built-in metric, a count or a custom metric. */
export interface QueryTemplate {
  name: string;
  role: "metric" | "count" | "custom";
  promql: string;
}

type PresetQueries = Partial<Record<MetricName | CountName, string>>;

/** The selector of a preset's series: the preset's own matchers, then the project's. */
function selector(matchers: string[], extra: string | undefined): string {
  return `{${[...matchers, ...(extra === undefined ? [] : [extra])].join(", ")}}`;
}

/**
 * prom-client's usual HTTP middlewares and the Python client's: a histogram
 * `http_request_duration_seconds` whose status label is `code` or `status_code`. A 5xx status is an
 * error. `0 * sum(...)` keeps the error series at 0, not empty, while there are requests but no 5xx.
 * No CPU or memory query: `process_cpu_seconds_total` and `process_resident_memory_bytes` lack the
 * core count and memory limit a fraction needs.
 */
function promClientQueries(extra: string | undefined): PresetQueries {
  const all = selector([], extra);
  const fivexx = (label: string) => selector([`${label}=~"5.."`], extra);
  const count = "http_request_duration_seconds_count";
  const errorsOver = (fn: "rate" | "increase") =>
    `sum(${fn}(${count}${fivexx("code")}[{{interval}}])) or sum(${fn}(${count}${fivexx("status_code")}[{{interval}}])) or 0 * sum(${fn}(${count}${all}[{{interval}}]))`;
  return {
    requests_per_sec: `sum(rate(${count}${all}[{{interval}}]))`,
    latency_p95: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket${all}[{{interval}}])))`,
    error_rate: `(${errorsOver("rate")}) / sum(rate(${count}${all}[{{interval}}]))`,
    requests: `sum(increase(${count}${all}[{{interval}}]))`,
    errors: errorsOver("increase"),
  };
}

/**
 * Micrometer (Spring Boot Actuator): `http_server_requests_seconds` with `outcome` and `status`;
 * SERVER_ERROR (5xx) is an error; the actuator's own endpoints (the scrape itself) are left out.
 * The p95 needs `management.metrics.distribution.percentiles-histogram.http.server.requests=true`.
 * Memory is heap used over the pools' maximum (pools without a maximum report -1 and are skipped).
 */
function micrometerQueries(extra: string | undefined): PresetQueries {
  const app = 'uri!~"/actuator/.*"';
  const all = selector([app], extra);
  const failed = selector(['outcome="SERVER_ERROR"', app], extra);
  const count = "http_server_requests_seconds_count";
  const errorsOver = (fn: "rate" | "increase") =>
    `sum(${fn}(${count}${failed}[{{interval}}])) or 0 * sum(${fn}(${count}${all}[{{interval}}]))`;
  const heap = selector(['area="heap"'], extra);
  return {
    requests_per_sec: `sum(rate(${count}${all}[{{interval}}]))`,
    latency_p95: `histogram_quantile(0.95, sum by (le) (rate(http_server_requests_seconds_bucket${all}[{{interval}}])))`,
    error_rate: `(${errorsOver("rate")}) / sum(rate(${count}${all}[{{interval}}]))`,
    cpu_usage: `avg(process_cpu_usage${selector([], extra)})`,
    memory_usage: `sum(jvm_memory_used_bytes${heap}) / sum(jvm_memory_max_bytes${heap} > 0)`,
    requests: `sum(increase(${count}${all}[{{interval}}]))`,
    errors: errorsOver("increase"),
  };
}

const presets: Record<PrometheusPreset, (extra: string | undefined) => PresetQueries> = {
  "prom-client": promClientQueries,
  micrometer: micrometerQueries,
};

/** The preset's queries with the project's selector, for the README and the API. */
export function presetQueries(preset: PrometheusPreset, selectorMatchers?: string): PresetQueries {
  return presets[preset](selectorMatchers);
}

/**
 * The queries a source runs, in a fixed order (the five metrics, the counts, then custom ones):
 * the preset's, overridden one by one by `queries` (`null` drops one).
 */
export function resolveQueries(source: PrometheusMetricsSource): QueryTemplate[] {
  const base = source.preset === undefined ? {} : presetQueries(source.preset, source.selector);
  const { custom = {}, ...overrides } = source.queries ?? {};
  const pick = (name: MetricName | CountName) => {
    const override = overrides[name];
    return override === undefined ? base[name] : (override ?? undefined);
  };
  const templates: QueryTemplate[] = [];
  for (const name of metricNames) {
    const promql = pick(name);
    if (promql !== undefined) templates.push({ name, role: "metric", promql });
  }
  for (const name of prometheusCountQueries) {
    const promql = pick(name);
    if (promql !== undefined) templates.push({ name, role: "count", promql });
  }
  for (const [name, promql] of Object.entries(custom)) templates.push({ name, role: "custom", promql });
  return templates;
}

/**
 * The content of a PromQL string literal, valid between double quotes and between single quotes:
 * quotes and control characters become `\xHH` escapes, backslashes are doubled.
 */
export function escapePromqlString(value: string): string {
  return value.replace(/[\\"'\p{Cc}]/gu, (char) => {
    if (char === "\\") return "\\\\";
    if (char === "\n") return "\\n";
    if (char === "\r") return "\\r";
    if (char === "\t") return "\\t";
    const code = char.codePointAt(0) ?? 0;
    // Go's \xHH is one byte; C1 controls need two in UTF-8, so they take the \u form.
    return code < 0x80
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** A PromQL duration: `60s`, or `1500ms` for a fractional number of seconds. */
export function promqlDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export interface TemplateValues {
  env: string;
  commitSha: string | null;
  branch: string | null;
  intervalSeconds: number;
}

export type RenderedQuery = { ok: true; promql: string } | { ok: false; reason: string };

/**
 * Fills `{{env}}`, `{{commit_sha}}` and `{{branch}}` with the deployment's values escaped for a
 * string literal, and `{{interval}}` with a duration. A query naming a value the deployment lacks
 * is not run. Unknown names were refused when the setting was saved.
 */
export function renderQuery(template: string, values: TemplateValues): RenderedQuery {
  const strings: Record<Exclude<PromqlTemplateVariable, "interval">, string | null> = {
    env: values.env,
    commit_sha: values.commitSha,
    branch: values.branch,
  };
  for (const name of templateVariablesOf(template)) {
    if (name !== "interval" && strings[name as keyof typeof strings] === null) {
      return { ok: false, reason: `the query uses {{${name}}} but the deployment has no ${name}` };
    }
  }
  const promql = replaceTemplateVariables(template, (name) => {
    if (name === "interval") return promqlDuration(values.intervalSeconds);
    return escapePromqlString(strings[name as keyof typeof strings] ?? "");
  });
  return { ok: true, promql };
}
