import {
  type AnalysisSettings,
  type DeploymentDetail,
  type MetricName,
  median,
  metricNames,
} from "@seqpulse/types";

/** One metric's chart, as the page script hands it to uPlot. */
export interface MetricChart {
  metric: MetricName;
  title: string;
  unit: "ms" | "req/s" | "ratio";
  /** Unix seconds of each sample, baseline then post. */
  x: number[];
  baseline: Array<number | null>;
  post: Array<number | null>;
  /** The absolute limit the engine compares against (limit × safety factor); null for traffic. */
  limit: number | null;
  /** Where the post values would count as a regression against this baseline; null without a baseline. */
  regression: number | null;
  regressionLabel: string;
}

const titles: Record<MetricName, string> = {
  latency_p95: "Latency p95",
  error_rate: "Error rate",
  requests_per_sec: "Traffic",
  cpu_usage: "CPU",
  memory_usage: "Memory",
};

/**
 * The lines drawn over the samples, from the project's settings. They restate the engine's
 * rules for display only: a ceiling metric regresses above max(baseline × ratio, baseline + delta),
 * traffic drops below baseline × (1 − max_drop); the verdict's reasons remain the judgement.
 */
export function metricCharts(detail: DeploymentDetail, settings: AnalysisSettings): MetricChart[] {
  const samples = [...detail.samples].sort(
    (a, b) => Date.parse(a.collected_at) - Date.parse(b.collected_at) || a.sequence - b.sequence,
  );
  return metricNames.map((metric) => {
    const x = samples.map((sample) => Date.parse(sample.collected_at) / 1000);
    const baseline = samples.map((sample) => (sample.phase === "baseline" ? sample.metrics[metric] : null));
    const post = samples.map((sample) => (sample.phase === "post" ? sample.metrics[metric] : null));
    const baselineMedian = median(baseline.filter((value): value is number => value !== null));
    const chart: MetricChart = {
      metric,
      title: titles[metric],
      unit: metric === "latency_p95" ? "ms" : metric === "requests_per_sec" ? "req/s" : "ratio",
      x,
      baseline,
      post,
      limit: null,
      regression: null,
      regressionLabel: "Regression threshold",
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
}
