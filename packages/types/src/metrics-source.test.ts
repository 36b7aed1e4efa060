import { describe, expect, it } from "vitest";
import {
  MetricsSource,
  metricsSourceView,
  PrometheusMetricsSource,
  templateVariablesOf,
} from "./metrics-source.js";

const TOKEN = "Bearer glc_eyJrIjoi_secret";

function issues(input: unknown): { path: string; message: string }[] {
  const parsed = MetricsSource.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
}

const base = { type: "prometheus", url: "https://prometheus.internal:9090" };

describe("metrics_source: accepted settings", () => {
  it("takes a preset with a selector, overrides, custom queries and headers", () => {
    const source = {
      ...base,
      url: "https://prometheus-prod.example.net/api/prom",
      preset: "prom-client",
      selector: 'job="api", env="{{env}}"',
      queries: {
        latency_p95:
          'histogram_quantile(0.99, sum by (le) (rate(x_bucket{branch="{{branch}}"}[{{interval}}])))',
        errors: null,
        custom: { queue_depth: 'max(queue_depth{sha="{{ commit_sha }}"})' },
      },
      headers: { Authorization: TOKEN, "X-Scope-OrgID": "team-a" },
    };
    expect(issues(source)).toEqual([]);
    expect(PrometheusMetricsSource.parse(source)).toEqual(source);
  });

  it("takes queries alone, without a preset", () => {
    expect(issues({ ...base, queries: { requests_per_sec: "sum(rate(hits_total[{{interval}}]))" } })).toEqual(
      [],
    );
    expect(issues({ ...base, queries: { custom: { jobs: "sum(jobs)" } } })).toEqual([]);
  });

  it("lists the template variables of a query once each", () => {
    expect(templateVariablesOf('x{a="{{env}}", b="{{ env }}"}[{{interval}}]')).toEqual(["env", "interval"]);
  });
});

describe("metrics_source: refused settings", () => {
  it("refuses an unknown template variable and a malformed one, naming the allowed ones", () => {
    expect(issues({ ...base, queries: { requests_per_sec: 'up{x="{{service}}"}' } })).toEqual([
      {
        path: "queries.requests_per_sec",
        message:
          "unknown template variable {{service}}; use {{env}}, {{commit_sha}}, {{branch}}, {{interval}}",
      },
    ]);
    expect(issues({ ...base, queries: { requests: 'up{x="{{env}"}' } })).toEqual([
      { path: "queries.requests", message: "has an unclosed or malformed {{variable}}" },
    ]);
    expect(issues({ ...base, preset: "micrometer", selector: 'app="{{app}}"' })).toMatchObject([
      { path: "selector", message: expect.stringContaining("unknown template variable {{app}}") },
    ]);
  });

  it("needs a preset or at least one query", () => {
    expect(issues(base)).toEqual([
      { path: "queries", message: "needs at least one query, or a preset (prom-client, micrometer)" },
    ]);
    expect(issues({ ...base, queries: { latency_p95: null } })).toHaveLength(1);
  });

  it("refuses a selector without a preset, and one that is not label matchers", () => {
    expect(issues({ ...base, selector: 'job="api"', queries: { requests: "x" } })).toMatchObject([
      { path: "selector", message: expect.stringContaining("applies to a preset's queries only") },
    ]);
    for (const selector of ['{job="api"}', "job=api", 'job="api"} or vector(1) or up{a="b"', 'job="api",']) {
      expect(issues({ ...base, preset: "prom-client", selector })).toMatchObject([{ path: "selector" }]);
    }
  });

  it("refuses custom names that are not metric names or that shadow built-in queries", () => {
    expect(issues({ ...base, queries: { custom: { "Queue-Depth": "x" } } })).toMatchObject([
      { path: "queries.custom.Queue-Depth", message: "must match ^[a-z][a-z0-9_]{0,63}$" },
    ]);
    expect(issues({ ...base, queries: { custom: { requests: "x" } } })).toMatchObject([
      { path: "queries.custom.requests", message: expect.stringContaining("built-in") },
    ]);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`m${i}`, "x"]));
    expect(issues({ ...base, queries: { custom: many } })).toMatchObject([
      { message: "at most 50 custom metrics" },
    ]);
  });

  it("refuses URLs that are not http(s) base URLs, or that carry credentials", () => {
    expect(issues({ ...base, url: "ftp://prometheus.internal", preset: "micrometer" })).toMatchObject([
      { path: "url", message: "must be an absolute http:// or https:// URL" },
    ]);
    expect(
      issues({ ...base, url: "https://admin:hunter2@prometheus.internal", preset: "micrometer" }),
    ).toMatchObject([{ path: "url", message: expect.stringContaining("must not contain credentials") }]);
    expect(
      issues({ ...base, url: "https://prometheus.internal/?tenant=a", preset: "micrometer" }),
    ).toMatchObject([{ path: "url", message: "must be a base URL without ?query or #fragment" }]);
  });

  it("refuses bad header names and values without quoting the value", () => {
    const withHeaders = (headers: Record<string, string>) =>
      issues({ ...base, preset: "prom-client", headers });
    expect(withHeaders({ "Bad Header": "x" })).toMatchObject([{ path: "headers.Bad Header" }]);
    expect(withHeaders({ Host: "internal" })).toMatchObject([
      { path: "headers.Host", message: "is set by SeqPulse's HTTP client" },
    ]);
    const smuggled = withHeaders({ Authorization: `${TOKEN}\r\nX-Evil: 1` });
    expect(smuggled).toEqual([
      { path: "headers.Authorization", message: "must be non-empty printable text without line breaks" },
    ]);
    expect(JSON.stringify(smuggled)).not.toContain("secret");
    expect(withHeaders({ Authorization: TOKEN, authorization: TOKEN })).toMatchObject([
      { path: "headers.authorization", message: "is given twice (header names ignore case)" },
    ]);
    expect(withHeaders({ Authorization: "" })).toHaveLength(1);
  });

  it("refuses unknown fields and other source types", () => {
    expect(issues({ ...base, preset: "prom-client", timeout: 5 })).toMatchObject([
      { message: expect.any(String) },
    ]);
    expect(issues({ type: "datadog", url: base.url })).toHaveLength(1);
  });
});

describe("metricsSourceView", () => {
  it("shows header names and never their values", () => {
    const source = MetricsSource.parse({ ...base, preset: "prom-client", headers: { Authorization: TOKEN } });
    const view = metricsSourceView(source);
    expect(view).toEqual({ ...base, preset: "prom-client", header_names: ["Authorization"] });
    expect(JSON.stringify(view)).not.toContain("secret");
  });
});
