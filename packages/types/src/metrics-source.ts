import { z } from "zod";
import { CUSTOM_METRIC_NAME_PATTERN, MAX_CUSTOM_METRIC_RULES } from "./analysis.js";
import { metricNames } from "./enums.js";

/**
 * Where a project's metrics come from besides (or instead of) the JSON metrics endpoint.
 * Only Prometheus today; `type` leaves room for others.
 */

/** Variables a PromQL query may use as `{{name}}`; they are filled from the deployment. */
export const promqlTemplateVariables = ["env", "commit_sha", "branch", "interval"] as const;
export type PromqlTemplateVariable = (typeof promqlTemplateVariables)[number];

const TEMPLATE_VARIABLE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Replaces every `{{ name }}` of a query template with `replacement(name)`. Validation and
 * the server's substitution share it, so both read the same placeholders.
 */
export function replaceTemplateVariables(template: string, replacement: (name: string) => string): string {
  return template.replace(TEMPLATE_VARIABLE, (_match, name: string) => replacement(name));
}

/** Names used as `{{name}}` in a template, in order of appearance, without repeats. */
export function templateVariablesOf(template: string): string[] {
  const names = new Set<string>();
  replaceTemplateVariables(template, (name) => {
    names.add(name);
    return "";
  });
  return [...names];
}

function checkTemplate(template: string, ctx: z.RefinementCtx): void {
  for (const name of templateVariablesOf(template)) {
    if (!(promqlTemplateVariables as readonly string[]).includes(name)) {
      ctx.addIssue({
        code: "custom",
        message: `unknown template variable {{${name}}}; use ${promqlTemplateVariables.map((v) => `{{${v}}}`).join(", ")}`,
      });
    }
  }
  const rest = replaceTemplateVariables(template, () => "");
  if (rest.includes("{{") || rest.includes("}}")) {
    ctx.addIssue({ code: "custom", message: "has an unclosed or malformed {{variable}}" });
  }
}

export const MAX_PROMQL_LENGTH = 4096;

/** A PromQL expression, possibly with `{{variables}}`. */
export const PromqlTemplate = z.string().trim().min(1).max(MAX_PROMQL_LENGTH).superRefine(checkTemplate);

/** Query sets for common instrumentations; see the README's "Prometheus as a metrics source". */
export const prometheusPresets = ["prom-client", "micrometer"] as const;
export const PrometheusPreset = z.enum(prometheusPresets);
export type PrometheusPreset = z.infer<typeof PrometheusPreset>;

/** Queries that give per-interval counts (rounded to integers) rather than a metric. */
export const prometheusCountQueries = ["requests", "errors"] as const;

const STRING_LITERAL = String.raw`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`;
const LABEL_MATCHER = String.raw`[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*(?:${STRING_LITERAL})`;
/** Comma-separated label matchers without braces: `job="api", env="{{env}}"`. */
const LABEL_MATCHERS = new RegExp(String.raw`^${LABEL_MATCHER}(?:\s*,\s*${LABEL_MATCHER})*$`, "s");

const reservedQueryNames = new Set<string>([...metricNames, ...prometheusCountQueries]);

/** Zod reports a bad record key as "Invalid key in record"; this names what is wrong. */
function checkKeys(check: (key: string) => string | null) {
  return (record: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const key of Object.keys(record)) {
      const problem = check(key);
      if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
    }
  };
}

const customQueries = z
  .record(z.string(), PromqlTemplate)
  .superRefine(
    checkKeys((name) => {
      if (!CUSTOM_METRIC_NAME_PATTERN.test(name)) return "must match ^[a-z][a-z0-9_]{0,63}$";
      return reservedQueryNames.has(name) ? "is a built-in query name; set it outside custom" : null;
    }),
  )
  .refine(
    (queries) => Object.keys(queries).length <= MAX_CUSTOM_METRIC_RULES,
    `at most ${MAX_CUSTOM_METRIC_RULES} custom metrics`,
  );

/** `null` drops a query of the preset. */
const overridable = PromqlTemplate.nullable().optional();

export const PrometheusQueries = z
  .object({
    requests_per_sec: overridable,
    /** In seconds, Prometheus' base unit; SeqPulse stores milliseconds. */
    latency_p95: overridable,
    error_rate: overridable,
    cpu_usage: overridable,
    memory_usage: overridable,
    requests: overridable,
    errors: overridable,
    custom: customQueries.optional(),
  })
  .strict();
export type PrometheusQueries = z.infer<typeof PrometheusQueries>;

/** RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node accepts in a header value: visible Latin-1, space and tab. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]+$/;
const MAX_HEADERS = 20;
const MAX_HEADER_VALUE_LENGTH = 8192;
/** Set by the HTTP client itself or meaningful only per connection. */
const FORBIDDEN_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
]);

/** Header values are secrets (bearer tokens): messages here never quote them. */
const SecretHeaders = z
  .record(
    z.string(),
    z
      .string()
      .max(MAX_HEADER_VALUE_LENGTH, `must be at most ${MAX_HEADER_VALUE_LENGTH} characters`)
      .regex(HEADER_VALUE, "must be non-empty printable text without line breaks"),
  )
  .superRefine(
    checkKeys((name) => {
      if (!HEADER_NAME.test(name)) return "must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)";
      return FORBIDDEN_HEADERS.has(name.toLowerCase()) ? "is set by SeqPulse's HTTP client" : null;
    }),
  )
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_HEADERS)
      ctx.addIssue({ code: "custom", message: `at most ${MAX_HEADERS} headers` });
    const seen = new Set<string>();
    for (const name of names) {
      const lower = name.toLowerCase();
      if (seen.has(lower)) {
        ctx.addIssue({ code: "custom", path: [name], message: "is given twice (header names ignore case)" });
      }
      seen.add(lower);
    }
  });

/** Prometheus' base URL: the part before `/api/v1/...`, e.g. `https://prometheus.internal:9090`. */
export const PrometheusUrl = z
  .string()
  .trim()
  .max(2048)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an absolute http:// or https:// URL" });
      return;
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
      ctx.addIssue({ code: "custom", message: "must be an absolute http:// or https:// URL" });
    } else if (url.username !== "" || url.password !== "") {
      // The URL is shown back by the API; credentials belong in the secret headers.
      ctx.addIssue({
        code: "custom",
        message: "must not contain credentials; send them as an Authorization header in headers",
      });
    } else if (url.search !== "" || url.hash !== "") {
      ctx.addIssue({ code: "custom", message: "must be a base URL without ?query or #fragment" });
    }
  });

const prometheusSettings = {
  type: z.literal("prometheus"),
  url: PrometheusUrl,
  /** Default queries for an instrumentation; `queries` overrides them one by one. */
  preset: PrometheusPreset.optional(),
  /** Label matchers added to every selector of the preset's queries, e.g. `job="api"`. */
  selector: z
    .string()
    .trim()
    .min(1)
    .max(1000)
    .regex(LABEL_MATCHERS, 'must be label matchers without braces, e.g. job="api", env="{{env}}"')
    .superRefine(checkTemplate)
    .optional(),
  queries: PrometheusQueries.optional(),
};

export const PrometheusMetricsSource = z
  .object({ ...prometheusSettings, headers: SecretHeaders.optional() })
  .strict()
  .superRefine((source, ctx) => {
    if (source.preset !== undefined) return;
    if (source.selector !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["selector"],
        message: "applies to a preset's queries only; set preset, or put the matchers in your queries",
      });
    }
    const { custom = {}, ...named } = source.queries ?? {};
    const given = Object.values(named).filter((query) => typeof query === "string").length;
    if (given + Object.keys(custom).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["queries"],
        message: `needs at least one query, or a preset (${prometheusPresets.join(", ")})`,
      });
    }
  });
export type PrometheusMetricsSource = z.infer<typeof PrometheusMetricsSource>;

export const MetricsSource = z.discriminatedUnion("type", [PrometheusMetricsSource]);
export type MetricsSource = z.infer<typeof MetricsSource>;

/** What the API shows of a metrics source: header names only, never their values. */
export const MetricsSourceView = z.discriminatedUnion("type", [
  z.object({ ...prometheusSettings, header_names: z.array(z.string()) }),
]);
export type MetricsSourceView = z.infer<typeof MetricsSourceView>;

export function metricsSourceView(source: MetricsSource): MetricsSourceView {
  const { headers = {}, ...settings } = source;
  return { ...settings, header_names: Object.keys(headers) };
}
