import {
  type DeploymentDetail,
  formatMetricValue,
  isRatioMetric,
  type MetricName,
  type MetricSample,
  median,
  type PipelineResult,
  type VerdictReason,
  type VerdictValue,
} from "@seqpulse/types";
import { deploymentUrl } from "./client-factory.js";
import { formatConfidence } from "./verdict.js";

export interface SummaryInput {
  apiUrl: string;
  /** Where people open the console; the API URL when unset. */
  publicUrl?: string | undefined;
  deploymentId: string;
  /** The deployment as last read; undefined when SeqPulse could not be read. */
  deployment: DeploymentDetail | undefined;
  /** What the main step knew, shown when the deployment could not be read. */
  known: { number?: string; env?: string; branch?: string; commitSha?: string };
  pipelineResult?: PipelineResult | undefined;
  /** A line shown under the table, e.g. why there is no verdict. */
  note?: string | undefined;
  /** Size ceiling in bytes; MAX_SUMMARY_BYTES unless a test needs a small one. */
  maxBytes?: number;
}

/** Every metric, in the order of the metrics table (a Record, so a new metric cannot be left out). */
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
/** Points per chart: longer series are thinned out evenly, each phase keeping its share. */
export const MAX_CHART_POINTS = 100;
const MIN_CHART_POINTS_PER_PHASE = 10;
/** Longest text in one table cell or list item. */
const MAX_CELL_CHARS = 500;
const MAX_FINDINGS_PER_METRIC = 5;
const MAX_LISTED_REASONS = 20;
const MAX_QUALITY_ISSUES = 10;
/**
 * Ceiling of the whole summary, well under GitHub's 1 MiB per step (other steps of the job write theirs
 * too). The caps above keep a summary far below it; this is the safety net.
 */
export const MAX_SUMMARY_BYTES = 128 * 1024;

/** The job summary: GitHub-flavoured Markdown with a metrics table and mermaid charts. */
export function renderSummary(input: SummaryInput): string {
  const { deployment, known } = input;
  const url = deploymentUrl(input.apiUrl, input.deploymentId);
  const page = new URL(deploymentUrl(input.publicUrl ?? input.apiUrl, input.deploymentId)).href;
  const number = deployment ? String(deployment.deployment_number) : known.number;
  const verdict = deployment?.verdict ?? null;
  const headline = verdict
    ? `${VERDICT_ICON[verdict.verdict]} ${verdict.verdict.replaceAll("_", " ")}`
    : deployment
      ? stateHeadline(deployment.state)
      : "status unknown";

  const out = new BoundedLines(input.maxBytes ?? MAX_SUMMARY_BYTES);
  out.add(`## SeqPulse · deployment ${number ? `#${number}` : ""} · ${headline}`, "");
  const rows: Array<[string, string]> = [
    ["Deployment", number ? `#${number}` : code(input.deploymentId)],
    ["Page", `[Open in SeqPulse](<${page}>)`],
    // The API's JSON (it needs the API key), not a page: shown as the request to make.
    ["API", code(`GET ${url}`)],
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
  out.table(
    ["| | |", "| --- | --- |"],
    rows.map(([name, value]) => `| ${name} | ${value} |`),
  );

  if (verdict?.summary) out.add(`> ${cell(verdict.summary)}`, "");
  if (input.note) out.add(cell(input.note), "");
  if (!deployment) return out.text(url);

  const reasons = verdict?.reasons ?? [];
  const samples = orderedSamples(deployment.samples);
  const baseline = samples.filter((sample) => sample.phase === "baseline");
  const post = samples.filter((sample) => sample.phase === "post");

  if (samples.length > 0) {
    out.add(
      "### Metrics",
      "",
      `Median of the samples in each phase (${baseline.length} baseline, ${post.length} post).`,
      "",
    );
    out.table(
      ["| Metric | Baseline | Post | Change | Finding |", "| --- | ---: | ---: | ---: | --- |"],
      (Object.keys(METRIC_LABEL) as MetricName[]).map((metric) => {
        const before = median(measured(baseline, metric).map(([, value]) => value));
        const after = median(measured(post, metric).map(([, value]) => value));
        const findings = capped(
          reasons.filter((reason) => reason.metric === metric).map(describeReason),
          MAX_FINDINGS_PER_METRIC,
        );
        return `| ${METRIC_LABEL[metric]} | ${formatMetricValue(metric, before)} | ${formatMetricValue(metric, after)} | ${change(before, after)} | ${findings.join("<br>") || "—"} |`;
      }),
    );
  }

  // Reasons about the data, and about custom metrics (the table and charts show the five built-in ones).
  const general = capped(
    reasons.filter((reason) => !isBuiltInMetric(reason.metric)).map(describeReason),
    MAX_LISTED_REASONS,
  );
  if (general.length > 0) {
    for (const reason of general) out.add(`- ${reason}`);
    out.add("");
  }
  if (verdict && verdict.data_quality.issues.length > 0) {
    const issues = capped(verdict.data_quality.issues.map(cell), MAX_QUALITY_ISSUES);
    out.add(`Data quality ${formatConfidence(verdict.data_quality.score)}: ${issues.join("; ")}`, "");
  }
  if (deployment.collection_failures.length > 0) {
    const last = deployment.collection_failures.at(-1);
    out.add(
      `${deployment.collection_failures.length} sample${deployment.collection_failures.length === 1 ? "" : "s"} could not be collected (last: ${cell(last?.reason ?? "")}).`,
      "",
    );
  }

  for (const metric of chartedMetrics(reasons).slice(0, MAX_CHARTS)) {
    const chart = renderChart(metric, samples, reasons);
    // All or nothing: a chart cut in half would leave its code fence open.
    if (chart) out.add(chart, "");
  }
  return out.text(url);
}

/**
 * Markdown lines under a byte budget. Once something does not fit, nothing more is added and the
 * text ends with a note saying so; tables are added row by row, so a long one is cut, not dropped.
 */
class BoundedLines {
  private readonly lines: string[] = [];
  private bytes = 0;
  private truncated = false;

  /** `limit` includes room for the closing note. */
  constructor(private readonly limit: number) {}

  /** Adds the lines together, or none of them. */
  add(...lines: string[]): boolean {
    if (this.truncated) return false;
    const size = lines.reduce((sum, line) => sum + Buffer.byteLength(line, "utf8") + 1, 0);
    if (this.bytes + size > this.limit - TRUNCATION_NOTE_BYTES) {
      this.truncated = true;
      return false;
    }
    this.lines.push(...lines);
    this.bytes += size;
    return true;
  }

  table(header: string[], rows: string[]): void {
    if (!this.add(...header)) return;
    for (const row of rows) if (!this.add(row)) break;
    this.lines.push("");
  }

  text(url: string): string {
    if (this.truncated) {
      this.lines.push(
        "",
        `_The summary was cut here to stay under GitHub's size limit for job summaries; \`GET ${url}\` (SeqPulse API, needs the API key) returns the whole deployment._`,
        "",
      );
    }
    return `${this.lines.join("\n")}\n`;
  }
}

/** Room kept for the closing note: the note itself with a long API URL. */
const TRUNCATION_NOTE_BYTES = 4096;

/** The first `max` items, and a last one saying how many were left out. */
function capped(items: string[], max: number): string[] {
  return items.length <= max ? items : [...items.slice(0, max), `… and ${items.length - max} more`];
}

function isBuiltInMetric(metric: string | null): metric is MetricName {
  return metric !== null && Object.hasOwn(METRIC_LABEL, metric);
}

/** The built-in metrics a rule fired on; latency when none did, as the usual first thing to look at. */
function chartedMetrics(reasons: VerdictReason[]): MetricName[] {
  const metrics: MetricName[] = [];
  for (const reason of reasons) {
    if (isBuiltInMetric(reason.metric) && !metrics.includes(reason.metric)) metrics.push(reason.metric);
  }
  return metrics.length > 0 ? metrics : ["latency_p95"];
}

function renderChart(
  metric: MetricName,
  allSamples: MetricSample[],
  reasons: VerdictReason[],
): string | undefined {
  // Only the samples that measured the metric: a gap would shift the line against the axis.
  const withValue = measured(allSamples, metric);
  if (withValue.length < 2) return undefined;
  const samples = chartSamples(withValue.map(([sample]) => sample));
  const labels = samples.map((sample) => `${sample.phase === "baseline" ? "B" : "P"}${sample.sequence}`);
  const values = samples.map((sample) => chartValue(metric, sample.metrics[metric] as number));
  const threshold = reasons.find(
    (reason) => reason.metric === metric && reason.threshold !== null,
  )?.threshold;
  const notes = [
    samples.length < withValue.length
      ? `${samples.length} of ${withValue.length} samples, evenly spaced`
      : "",
    withValue.length < allSamples.length
      ? `${allSamples.length - withValue.length} without a value left out`
      : "",
  ];
  const shown = notes
    .filter(Boolean)
    .map((note) => `; ${note}`)
    .join("");
  const lines = [
    `#### ${METRIC_LABEL[metric]} per sample (B = baseline, P = post${shown})`,
    "",
    "```mermaid",
    "xychart-beta",
    `  title "${METRIC_LABEL[metric]} (${METRIC_UNIT[metric]})${threshold != null ? `, flat line = threshold ${formatMetricValue(metric, threshold)}` : ""}"`,
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

/**
 * At most MAX_CHART_POINTS samples: each phase keeps a share in proportion to its samples, but at least
 * a few (a short baseline must not vanish next to a long post phase), picked evenly, ends included.
 */
export function chartSamples(samples: MetricSample[]): MetricSample[] {
  if (samples.length <= MAX_CHART_POINTS) return samples;
  const baseline = samples.filter((sample) => sample.phase === "baseline");
  const post = samples.filter((sample) => sample.phase === "post");
  const minimum = (phase: MetricSample[]) => Math.min(phase.length, MIN_CHART_POINTS_PER_PHASE);
  let baselineShare = Math.round((MAX_CHART_POINTS * baseline.length) / samples.length);
  baselineShare = Math.min(Math.max(baselineShare, minimum(baseline)), MAX_CHART_POINTS - minimum(post));
  const postShare = Math.min(post.length, MAX_CHART_POINTS - baselineShare);
  baselineShare = Math.min(baseline.length, MAX_CHART_POINTS - postShare);
  return [...evenly(baseline, baselineShare), ...evenly(post, postShare)];
}

function evenly<T>(items: T[], count: number): T[] {
  if (count >= items.length) return items;
  if (count <= 0) return [];
  if (count === 1) return items.slice(0, 1);
  return Array.from({ length: count }, (_, index) => {
    return items[Math.round((index * (items.length - 1)) / (count - 1))] as T;
  });
}

/** The samples that measured the metric (a source may not), with the value. */
function measured(samples: MetricSample[], metric: MetricName): Array<[MetricSample, number]> {
  return samples.flatMap((sample) => {
    const value = sample.metrics[metric];
    return value === null || value === undefined ? [] : [[sample, value] as [MetricSample, number]];
  });
}

function orderedSamples(samples: MetricSample[]): MetricSample[] {
  const phaseOrder = { baseline: 0, post: 1 } as const;
  return [...samples].sort((a, b) => phaseOrder[a.phase] - phaseOrder[b.phase] || a.sequence - b.sequence);
}

function chartValue(metric: MetricName, value: number): number {
  const scaled = isRatioMetric(metric) ? value * 100 : value;
  return Math.round(scaled * 100) / 100;
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
    case "cancelled":
      return "🚫 cancelled";
    default:
      return state;
  }
}

function code(value: string | null | undefined): string {
  // GitHub reads \| as a pipe inside a table cell, code spans included.
  return value ? `\`${cell(value.replaceAll("`", "'"))}\`` : "—";
}

/** Keeps text inside one table cell, and within MAX_CELL_CHARS. */
function cell(text: string): string {
  const short = text.length > MAX_CELL_CHARS ? `${text.slice(0, MAX_CELL_CHARS - 1)}…` : text;
  return short.replaceAll("|", "\\|").replaceAll(/\r?\n/g, " ");
}
