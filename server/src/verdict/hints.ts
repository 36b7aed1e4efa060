/**
 * Diagnosis hints: the composite patterns an on-call engineer recognises in a failed deploy's
 * reasons, each with the first things to check. Every non-ok verdict gets at least one.
 */
import type { DiagnosisHint, HintCode, MetricName } from "@seqpulse/types";
import type { Finding } from "./findings.js";

interface Pattern {
  code: HintCode;
  title: string;
  actions: string[];
}

/** In the order an on-call engineer should read them: the most urgent first. */
const CATALOG: Record<HintCode, Pattern> = {
  app_not_serving: {
    code: "app_not_serving",
    title: "The application stopped serving after the deploy",
    actions: [
      "Check whether the new processes start and stay up (crash loop, OOM kill, failing readiness probe)",
      "Read the startup logs of the new version: missing configuration, secrets or migrations",
      "Check that the load balancer routes to the new instances (port, health check path)",
    ],
  },
  partial_outage: {
    code: "partial_outage",
    title: "Part of the traffic fails or no longer arrives",
    actions: [
      "Break errors and requests down by route and instance: one endpoint, one zone or one pod set may be broken",
      "Look for renamed or removed routes, and for clients that fail before reaching the service",
      "Check the load balancer and service mesh for instances taken out of rotation",
    ],
  },
  degraded_dependency: {
    code: "degraded_dependency",
    title: "A dependency is slow or failing (errors and latency rose together)",
    actions: [
      "Compare latency and errors of outgoing calls (database, caches, other services) before and after the deploy",
      "Check timeouts, retries and connection-pool sizes changed by the deploy",
      "Look for new queries or calls the new version makes on a hot path",
    ],
  },
  saturation: {
    code: "saturation",
    title: "The service is saturated (latency and CPU rose together)",
    actions: [
      "Profile the new version's hot paths for CPU-heavy changes (serialization, regexes, logging)",
      "Compare the instance count and CPU limits before and after the deploy",
      "Scale out to confirm: if latency falls with more capacity, the new version costs more per request",
    ],
  },
  memory_leak: {
    code: "memory_leak",
    title: "Memory keeps growing after the deploy",
    actions: [
      "Take two heap snapshots a few minutes apart and compare the retained objects",
      "Look for caches, listeners or buffers without a bound added by the deploy",
      "Watch for OOM kills and restarts; roll back before memory reaches the limit",
    ],
  },
  error_regression: {
    code: "error_regression",
    title: "The new version returns more errors",
    actions: [
      "Group the new errors by type and route in the logs or error tracker",
      "Check feature flags, configuration and database migrations shipped with the deploy",
    ],
  },
  latency_regression: {
    code: "latency_regression",
    title: "The new version is slower",
    actions: [
      "Compare traces of the slowest routes before and after the deploy",
      "Look for N+1 queries, missing indexes, disabled caches or synchronous work added on the request path",
    ],
  },
  traffic_loss: {
    code: "traffic_loss",
    title: "Traffic fell after the deploy",
    actions: [
      "Check routing, DNS and the load balancer: are requests reaching the new version?",
      "Check clients and upstream services for failures calling the new version (changed API, auth, CORS)",
    ],
  },
  resource_pressure: {
    code: "resource_pressure",
    title: "The new version uses more resources",
    actions: [
      "Compare CPU and memory per request before and after the deploy",
      "Check resource limits and the instance count; confirm there is headroom for peak traffic",
    ],
  },
  warm_up: {
    code: "warm_up",
    title: "A breach at the start of the window recovered (warm-up, cold caches)",
    actions: [
      "Raise the project's warmup_seconds so that warm-up is not observed",
      "Warm caches or connection pools before the new version takes traffic",
    ],
  },
  preexisting_problem: {
    code: "preexisting_problem",
    title: "The service was already over a limit before the deploy",
    actions: [
      "Treat it as an incident of the service, not of this deploy: the deploy did not make it worse",
      "Check the baseline period's alerts and dashboards for its cause",
    ],
  },
  custom_metric: {
    code: "custom_metric",
    title: "A custom metric crossed the project's rule",
    actions: [
      "Check what the custom metric measures and which change of the deploy affects it",
      "Review its rule (direction, limit, critical) in the project's analysis settings",
    ],
  },
  not_enough_evidence: {
    code: "not_enough_evidence",
    title: "Not enough evidence to decide",
    actions: [
      "Give the engine a real baseline: serve history buckets (the SDK does) or use a Prometheus source",
      "Serve request and error counters so that error rates come with their volumes",
      "Lengthen observation_window_seconds or shorten sample_interval_seconds for more post samples",
    ],
  },
};

const BUILT_IN: ReadonlySet<string> = new Set<MetricName>([
  "requests_per_sec",
  "latency_p95",
  "error_rate",
  "cpu_usage",
  "memory_usage",
]);

/** A service whose traffic fell this far has (nearly) stopped serving. */
const NOT_SERVING_SHARE = 0.05;

export function diagnose(findings: readonly Finding[]): DiagnosisHint[] {
  const hints = new Map<HintCode, Set<string>>();
  const add = (code: HintCode, metrics: string[]) => {
    const set = hints.get(code) ?? new Set<string>();
    for (const metric of metrics) set.add(metric);
    hints.set(code, set);
  };
  const worse = new Set<string>();
  const trending = new Set<string>();
  for (const finding of findings) {
    const metric = finding.reason.metric;
    if (finding.kind === "dead") add("app_not_serving", []);
    if (finding.kind === "uncertain" || finding.kind === "data")
      add("not_enough_evidence", metric ? [metric] : []);
    if (finding.kind === "recovered") add("warm_up", metric ? [metric] : []);
    if (finding.kind === "preexisting") add("preexisting_problem", metric ? [metric] : []);
    if (!metric) continue;
    if (finding.kind === "worse") worse.add(metric);
    if (finding.kind === "trend") trending.add(metric);
    if ((finding.kind === "worse" || finding.kind === "trend") && !BUILT_IN.has(metric))
      add("custom_metric", [metric]);
    const traffic = finding.reason;
    if (
      metric === "requests_per_sec" &&
      finding.kind === "worse" &&
      traffic.baseline !== null &&
      traffic.observed !== null &&
      traffic.observed <= traffic.baseline * NOT_SERVING_SHARE
    ) {
      add("app_not_serving", [metric]);
    }
  }

  const errors = worse.has("error_rate") || trending.has("error_rate");
  const latency = worse.has("latency_p95") || trending.has("latency_p95");
  const cpu = worse.has("cpu_usage");
  const trafficDown = worse.has("requests_per_sec");
  const explained = new Set<string>();
  const combine = (code: HintCode, metrics: string[]) => {
    add(code, metrics);
    for (const metric of metrics) explained.add(metric);
  };
  if (errors && trafficDown) combine("partial_outage", ["error_rate", "requests_per_sec"]);
  if (errors && latency) combine("degraded_dependency", ["error_rate", "latency_p95"]);
  if (latency && cpu) combine("saturation", ["latency_p95", "cpu_usage"]);
  if (trending.has("memory_usage")) combine("memory_leak", ["memory_usage"]);
  if (hints.has("app_not_serving")) explained.add("requests_per_sec");

  if (errors && !explained.has("error_rate")) add("error_regression", ["error_rate"]);
  if (latency && !explained.has("latency_p95")) add("latency_regression", ["latency_p95"]);
  if (trafficDown && !explained.has("requests_per_sec")) add("traffic_loss", ["requests_per_sec"]);
  const resources = ["cpu_usage", "memory_usage"].filter(
    (metric) => (worse.has(metric) || trending.has(metric)) && !explained.has(metric),
  );
  if (resources.length > 0) add("resource_pressure", resources);
  if (hints.size === 0 && findings.length > 0) add("not_enough_evidence", []);

  const priority = Object.keys(CATALOG);
  return [...hints.entries()]
    .sort(([a], [b]) => priority.indexOf(a) - priority.indexOf(b))
    .map(([code, metrics]) => ({
      code,
      title: CATALOG[code].title,
      metrics: [...metrics],
      actions: CATALOG[code].actions,
    }));
}
