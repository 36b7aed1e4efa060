import {
  type AnalysisSettings,
  CustomMetricRule,
  type DeploymentDetail,
  type MetricDirection,
  type MetricName,
  median,
  metricNames,
} from "@seqpulse/types";

/** Custom metrics charted on one deployment page at most; the page names the others. */
export const MAX_CUSTOM_CHARTS = 20;

/** One metric's chart, as the page script hands it to uPlot. */
export interface MetricChart {
  /**
   * Names the chart in the page (`chart-<id>`, `data-chart`): the metric for the five,
   * `custom-<name>` for a custom metric, so no custom name can take the id of anything else.
   */
  id: string;
  metric: string;
  custom: boolean;
  title: string;
  /** `value`: a custom metric, in whatever unit the application reports it. */
  unit: "ms" | "req/s" | "ratio" | "value";
  /** Unix seconds of each sample, baseline then post. */
  x: number[];
  baseline: Array<number | null>;
  post: Array<number | null>;
  /**
   * The absolute limit the engine compares against: limit × safety factor for the five, a custom
   * rule's limit as given (a floor when lower is worse); null for traffic and without a limit.
   */
  limit: number | null;
  /** Where the post values would count as a regression against this baseline; null without a baseline. */
  regression: number | null;
  regressionLabel: string;
  /** A custom metric's rule: which way is worse; null for the five and for custom metrics without a rule. */
  direction: MetricDirection | null;
}

export interface DeploymentCharts {
  charts: MetricChart[];
  /** Custom metrics in the samples past MAX_CUSTOM_CHARTS, by name: not charted. */
  unchartedCustom: string[];
}

const titles: Record<MetricName, string> = {
  latency_p95: "Latency p95",
  error_rate: "Error rate",
  requests_per_sec: "Traffic",
  cpu_usage: "CPU",
  memory_usage: "Memory",
};

const builtIn: ReadonlySet<string> = new Set(metricNames);

/**
 * The lines drawn over the samples, from the project's settings. They restate the engine's
 * rules for display only: a ceiling metric regresses above max(baseline × ratio, baseline + delta),
 * traffic drops below baseline × (1 − max_drop), a custom metric regresses past its baseline by
 * max(|baseline| × (ratio − 1), delta) in the direction its rule calls worse; the verdict's
 * reasons remain the judgement.
 *
 * Every custom metric found in the samples is charted, those with a rule first (they are judged),
 * then by name, up to MAX_CUSTOM_CHARTS.
 */
export function metricCharts(detail: DeploymentDetail, settings: AnalysisSettings): DeploymentCharts {
  const samples = [...detail.samples].sort(
    (a, b) => Date.parse(a.collected_at) - Date.parse(b.collected_at) || a.sequence - b.sequence,
  );
  const x = samples.map((sample) => Date.parse(sample.collected_at) / 1000);
  const series = (metric: string) => {
    const baseline = samples.map((sample) =>
      sample.phase === "baseline" ? (sample.metrics[metric] ?? null) : null,
    );
    const post = samples.map((sample) => (sample.phase === "post" ? (sample.metrics[metric] ?? null) : null));
    const baselineMedian = median(baseline.filter((value): value is number => value !== null));
    return { baseline, post, baselineMedian };
  };

  const charts = metricNames.map((metric): MetricChart => {
    const { baseline, post, baselineMedian } = series(metric);
    const chart: MetricChart = {
      id: metric,
      metric,
      custom: false,
      title: titles[metric],
      unit: metric === "latency_p95" ? "ms" : metric === "requests_per_sec" ? "req/s" : "ratio",
      x,
      baseline,
      post,
      limit: null,
      regression: null,
      regressionLabel: "Regression threshold",
      direction: null,
    };
    if (metric === "requests_per_sec") {
      const traffic = settings.requests_per_sec;
      if (baselineMedian !== undefined && baselineMedian >= traffic.min_baseline_rps) {
        chart.regression = baselineMedian * (1 - traffic.max_drop);
        chart.regressionLabel = "Traffic drop threshold";
      }
      return chart;
    }
    const rule = settings[metric];
    chart.limit = rule.limit * settings.safety_factor;
    if (baselineMedian !== undefined) {
      chart.regression = Math.max(
        baselineMedian * rule.regression_min_ratio,
        baselineMedian + rule.regression_min_delta,
      );
    }
    return chart;
  });

  const rules = customRules(settings);
  const names = [
    ...new Set(samples.flatMap((sample) => Object.keys(sample.metrics).filter((name) => !builtIn.has(name)))),
  ].sort((a, b) => Number(rules.has(b)) - Number(rules.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names.slice(0, MAX_CUSTOM_CHARTS)) {
    const { baseline, post, baselineMedian } = series(name);
    const rule = rules.get(name);
    let regression: number | null = null;
    if (rule && baselineMedian !== undefined) {
      const required = Math.max(
        Math.abs(baselineMedian) * (rule.regression_min_ratio - 1),
        rule.regression_min_delta,
      );
      regression =
        rule.direction === "higher_is_worse" ? baselineMedian + required : baselineMedian - required;
      if (!Number.isFinite(regression)) regression = null;
    }
    charts.push({
      id: `custom-${name}`,
      metric: name,
      custom: true,
      title: name,
      unit: "value",
      x,
      baseline,
      post,
      limit: rule?.limit ?? null,
      regression,
      regressionLabel: "Regression threshold",
      direction: rule?.direction ?? null,
    });
  }
  return { charts, unchartedCustom: names.slice(MAX_CUSTOM_CHARTS) };
}

/** The project's custom metric rules; settings stored before custom rules existed have none. */
function customRules(settings: AnalysisSettings): Map<string, CustomMetricRule> {
  const rules = new Map<string, CustomMetricRule>();
  for (const [name, stored] of Object.entries(settings.custom_metrics ?? {})) {
    const rule = CustomMetricRule.safeParse(stored);
    if (rule.success) rules.set(name, rule.data);
  }
  return rules;
}
