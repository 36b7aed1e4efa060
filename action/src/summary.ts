import {
  type DeploymentDetail,
  type MetricName,
  type MetricSample,
  metricNames,
  type PipelineResult,
  type VerdictReason,
  type VerdictValue,
} from "@seqpulse/types";
import { deploymentUrl } from "./client-factory.js";
import { formatConfidence } from "./verdict.js";

export interface SummaryInput {
  apiUrl: string;
  deploymentId: string;
  /** The deployment as last read; undefined when SeqPulse could not be read. */
  deployment: DeploymentDetail | undefined;
  /** What the main step knew, shown when the deployment could not be read. */
  known: { number?: string; env?: string; branch?: string; commitSha?: string };
  pipelineResult?: PipelineResult | undefined;
  /** A line shown under the table, e.g. why there is no verdict. */
  note?: string | undefined;
}

const METRIC_LABEL: Record<MetricName, string> = {
  requests_per_sec: "Requests/s",
  latency_p95: "Latency p95",
  error_rate: "Error rate",
  cpu_usage: "CPU",
  memory_usage: "Memory",
};

const METRIC_UNIT: Record<MetricName, string> = {
  requests_per_sec: "req/s",
  latency_p95: "ms",
  error_rate: "%",
  cpu_usage: "%",
  memory_usage: "%",
};

const VERDICT_ICON: Record<VerdictValue, string> = {
  ok: "✅",
  warning: "⚠️",
  rollback_recommended: "🛑",
};

const MAX_CHARTS = 3;

/** The job summary: GitHub-flavoured Markdown with a metrics table and mermaid charts. */
export function renderSummary(input: SummaryInput): string {
  const { deployment, known } = input;
  const url = deploymentUrl(input.apiUrl, input.deploymentId);
  const number = deployment ? String(deployment.deployment_number) : known.number;
  const verdict = deployment?.verdict ?? null;
  const headline = verdict
    ? `${VERDICT_ICON[verdict.verdict]} ${verdict.verdict.replaceAll("_", " ")}`
    : deployment
      ? stateHeadline(deployment.state)
      : "status unknown";

  const lines: string[] = [`## SeqPulse · deployment ${number ? `#${number}` : ""} · ${headline}`, ""];
  const rows: Array<[string, string]> = [
    ["Deployment", `[${number ? `#${number}` : input.deploymentId}](${url})`],
    ["Environment", code(deployment?.env ?? known.env)],
    ["Branch", code(deployment?.branch ?? known.branch)],
    ["Commit", code((deployment?.commit_sha ?? known.commitSha)?.slice(0, 12))],
  ];
  const result = deployment?.pipeline_result ?? input.pipelineResult;
  if (result) rows.push(["Pipeline result", result]);
  if (deployment) {
    rows.push([
      "State",
      `${deployment.state}${deployment.state_reason ? ` (${cell(deployment.state_reason)})` : ""}`,
    ]);
  }
  rows.push([
    "Verdict",
    verdict
      ? `${VERDICT_ICON[verdict.verdict]} **${verdict.verdict}** (confidence ${formatConfidence(verdict.confidence)})`
      : "none yet",
  ]);
  lines.push("| | |", "| --- | --- |", ...rows.map(([name, value]) => `| ${name} | ${value} |`), "");

  if (verdict?.summary) lines.push(`> ${cell(verdict.summary)}`, "");
  if (input.note) lines.push(input.note, "");
  if (!deployment) return `${lines.join("\n")}\n`;

  const reasons = verdict?.reasons ?? [];
  const samples = orderedSamples(deployment.samples);
  const baseline = samples.filter((sample) => sample.phase === "baseline");
  const post = samples.filter((sample) => sample.phase === "post");

  if (samples.length > 0) {
    lines.push(
      "### Metrics",
      "",
      `Median of the samples in each phase (${baseline.length} baseline, ${post.length} post).`,
      "",
      "| Metric | Baseline | Post | Change | Finding |",
      "| --- | ---: | ---: | ---: | --- |",
    );
    for (const metric of metricNames) {
      const before = median(baseline.map((sample) => sample.metrics[metric]));
      const after = median(post.map((sample) => sample.metrics[metric]));
      const findings = reasons.filter((reason) => reason.metric === metric).map(describeReason);
      lines.push(
        `| ${METRIC_LABEL[metric]} | ${formatValue(metric, before)} | ${formatValue(metric, after)} | ${change(before, after)} | ${findings.join("<br>") || "—"} |`,
      );
    }
    lines.push("");
  }

  const general = reasons.filter((reason) => reason.metric === null);
  if (general.length > 0) {
    lines.push(...general.map((reason) => `- ${describeReason(reason)}`), "");
  }
  if (verdict && verdict.data_quality.issues.length > 0) {
    lines.push(
      `Data quality ${formatConfidence(verdict.data_quality.score)}: ${verdict.data_quality.issues.map(cell).join("; ")}`,
      "",
    );
  }
  if (deployment.collection_failures.length > 0) {
    const last = deployment.collection_failures.at(-1);
    lines.push(
      `${deployment.collection_failures.length} sample${deployment.collection_failures.length === 1 ? "" : "s"} could not be collected (last: ${cell(last?.reason ?? "")}).`,
      "",
    );
  }

  for (const metric of chartedMetrics(reasons).slice(0, MAX_CHARTS)) {
    const chart = renderChart(metric, samples, reasons);
    if (chart) lines.push(chart, "");
  }
  return `${lines.join("\n")}\n`;
}

/** The metrics a rule fired on; latency when none did, as the usual first thing to look at. */
function chartedMetrics(reasons: VerdictReason[]): MetricName[] {
  const metrics: MetricName[] = [];
  for (const reason of reasons) {
    if (reason.metric && !metrics.includes(reason.metric)) metrics.push(reason.metric);
  }
  return metrics.length > 0 ? metrics : ["latency_p95"];
}

function renderChart(
  metric: MetricName,
  samples: MetricSample[],
  reasons: VerdictReason[],
): string | undefined {
  if (samples.length < 2) return undefined;
  const labels = samples.map((sample) => `${sample.phase === "baseline" ? "B" : "P"}${sample.sequence}`);
  const values = samples.map((sample) => chartValue(metric, sample.metrics[metric]));
  const threshold = reasons.find(
    (reason) => reason.metric === metric && reason.threshold !== null,
  )?.threshold;
  const lines = [
    `#### ${METRIC_LABEL[metric]} per sample (B = baseline, P = post)`,
    "",
    "```mermaid",
    "xychart-beta",
    `  title "${METRIC_LABEL[metric]} (${METRIC_UNIT[metric]})${threshold != null ? `, flat line = threshold ${formatValue(metric, threshold)}` : ""}"`,
    `  x-axis [${labels.join(", ")}]`,
    `  y-axis "${METRIC_UNIT[metric]}"`,
    `  line [${values.join(", ")}]`,
  ];
  if (threshold != null) {
    const flat = chartValue(metric, threshold);
    lines.push(`  line [${values.map(() => flat).join(", ")}]`);
  }
  lines.push("```");
  return lines.join("\n");
}

function orderedSamples(samples: MetricSample[]): MetricSample[] {
  const phaseOrder = { baseline: 0, post: 1 } as const;
  return [...samples].sort((a, b) => phaseOrder[a.phase] - phaseOrder[b.phase] || a.sequence - b.sequence);
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function isRatio(metric: MetricName): boolean {
  return metric === "error_rate" || metric === "cpu_usage" || metric === "memory_usage";
}

function chartValue(metric: MetricName, value: number): number {
  const scaled = isRatio(metric) ? value * 100 : value;
  return Math.round(scaled * 100) / 100;
}

export function formatValue(metric: MetricName, value: number | undefined): string {
  if (value === undefined) return "—";
  if (metric === "latency_p95") return `${value >= 10 ? Math.round(value) : value.toFixed(1)} ms`;
  if (metric === "requests_per_sec") return `${value.toFixed(1)} req/s`;
  return `${(value * 100).toFixed(metric === "error_rate" ? 2 : 1)} %`;
}

function change(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined) return "—";
  if (before === 0) return after === 0 ? "0 %" : "new";
  const ratio = (after - before) / Math.abs(before);
  const percent = Math.round(ratio * 100);
  return `${percent > 0 ? "+" : ""}${percent} %`;
}

function describeReason(reason: VerdictReason): string {
  const icon = reason.severity === "critical" ? "🛑" : "⚠️";
  return `${icon} ${reason.rule.replaceAll("_", " ")}: ${cell(reason.message)}`;
}

function stateHeadline(state: DeploymentDetail["state"]): string {
  switch (state) {
    case "running":
      return "🚀 running";
    case "finished":
      return "⏳ analysis pending";
    case "abandoned":
      return "❔ abandoned";
    default:
      return state;
  }
}

function code(value: string | null | undefined): string {
  // GitHub reads \| as a pipe inside a table cell, code spans included.
  return value ? `\`${cell(value.replaceAll("`", "'"))}\`` : "—";
}

/** Keeps text inside one table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll(/\r?\n/g, " ");
}
