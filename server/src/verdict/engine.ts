/**
 * Verdict engine 2: a pure function from the evidence of a deployment (baseline and post
 * observations with counts, failed slots, settings) to its verdict. No database, clock or I/O.
 */
import type {
  AnalysisResult,
  AnalysisSettings,
  DataQuality,
  DetectionLimit,
  ReasonRule,
  VerdictReason,
  VerdictValue,
} from "@seqpulse/types";
import { median } from "@seqpulse/types";
import {
  baselineIncident,
  countText,
  errorLimit,
  judgeErrors,
  judgeTraffic,
  MIN_DISPERSION_OBSERVATIONS,
  pooledErrorRate,
  pooledTotals,
  trafficDropTest,
  trafficReference,
} from "./counts.js";
import { type DistributionRule, judgeDistribution } from "./distribution.js";
import {
  type EngineInput,
  type Evidence,
  MIN_REQUESTS_FOR_PERCENTILE,
  prepareEvidence,
  type Slot,
} from "./evidence.js";
import {
  type Clearance,
  cleanProduct,
  FAIL_FAST_STRICTNESS,
  type Finding,
  formatP,
  formatPercent,
  formatValue,
  makeReason,
  pluralize,
} from "./findings.js";
import { diagnose } from "./hints.js";
import { detectionLimits, GUARDED_ERROR_RATIO, GUARDED_TRAFFIC_DROP } from "./sensitivity.js";
import { binomialUpperTail, normalCdf } from "./stats.js";

export type { EngineInput, Observation, PostObservation, SlotFailure } from "./evidence.js";

/** Stored with every verdict; bump on any change that can change a verdict. */
export const ENGINE_VERSION = "2.3.1";

/**
 * One bad sample on its own (a scrape glitch, a GC pause) never recommends a rollback: fail-fast
 * needs at least this many offending post samples, whatever `fail_fast_consecutive` says.
 */
const MIN_SAMPLES_FOR_ROLLBACK = 2;

const RULE_RANK: Record<ReasonRule, number> = {
  fail_fast: 0,
  endpoint_failures: 1,
  insufficient_data: 2,
  absolute_limit: 3,
  traffic_drop: 4,
  regression: 5,
  trend: 6,
  inconclusive: 7,
};
const KIND_RANK: Record<Finding["kind"], number> = {
  dead: 0,
  worse: 1,
  data: 2,
  recovered: 3,
  trend: 4,
  preexisting: 5,
  uncertain: 6,
};

export function analyze(input: EngineInput): AnalysisResult {
  const evidence = prepareEvidence(input);
  const { settings } = evidence;
  const failFast = failFastFindings(evidence);
  const endpoint = endpointFailures(evidence);
  const required = requiredPostSamples(settings, input.plannedPostSamples);
  // A window cut short by fail-fast is short on purpose: its samples are evidence, not missing data.
  const cutShort = failFast.length > 0 || endpoint?.reason.severity === "critical";
  const tooFewPost = evidence.post.length < required && !cutShort;

  const errors = judgeErrors(evidence);
  const traffic = judgeTraffic(evidence, errors.resolvedIncident);
  const distributions = distributionRules(settings).map((rule) => judgeDistribution(rule, evidence));
  let metricFindings = strongestPerMetric([
    ...failFast,
    ...errors.findings,
    ...traffic.findings,
    ...distributions.flatMap((judgement) => judgement.findings),
  ]);
  if (tooFewPost) metricFindings = metricFindings.map(capToWarning);
  const clearances = [
    ...errors.clearances,
    ...traffic.clearances,
    ...distributions.flatMap((j) => j.clearances),
  ];

  const dataFindings: Finding[] = [];
  if (endpoint) dataFindings.push(endpoint);
  if (evidence.baselineSource === "none") dataFindings.push(missingBaseline(input));
  if (tooFewPost) dataFindings.push(tooFewPostFinding(evidence, input, required));

  // A rollback acts whatever else the window missed, and too few samples already say why they may not be trusted.
  const limits =
    [...dataFindings, ...metricFindings].some((finding) => finding.reason.severity === "critical") ||
    tooFewPost
      ? []
      : detectionLimits(evidence, rollsBackOn, { trafficJudged: !errors.resolvedIncident });
  // One reason per metric: a metric that already has one says enough about it.
  const limitFindings = settings.require_detection
    ? limits
        .filter((limit) => !metricFindings.some((finding) => finding.reason.metric === limit.metric))
        .map((limit) => undetectable(limit, evidence))
    : [];

  const findings = [...dataFindings, ...metricFindings, ...limitFindings].sort(
    (a, b) =>
      severityRank(a.reason.severity) - severityRank(b.reason.severity) ||
      RULE_RANK[a.reason.rule] - RULE_RANK[b.reason.rule],
  );
  const reasons = findings.map((finding) => finding.reason);
  const verdict: VerdictValue = reasons.some((r) => r.severity === "critical")
    ? "rollback_recommended"
    : reasons.length > 0
      ? "warning"
      : "ok";
  const dataQuality = assessDataQuality(evidence, required, cutShort, traffic.notes, limits);

  return {
    verdict,
    confidence: confidenceOf(verdict, findings, clearances, evidence, dataQuality),
    summary: summarize(verdict, reasons, evidence, input, settings.dry_run, limits),
    reasons,
    data_quality: dataQuality,
    hints: verdict === "ok" ? [] : diagnose(findings),
    engine_version: ENGINE_VERSION,
    dry_run: settings.dry_run,
  };
}

/** Whether fail-fast or the metric's own count rule recommends a rollback on it. */
function rollsBackOn(evidence: Evidence, metric: "error_rate" | "requests_per_sec"): boolean {
  const errors = judgeErrors(evidence);
  const own = metric === "error_rate" ? errors : judgeTraffic(evidence, errors.resolvedIncident);
  return [...failFastFindings(evidence), ...own.findings].some(
    (finding) => finding.reason.metric === metric && finding.reason.severity === "critical",
  );
}

/**
 * Whether the post samples so far already call for a rollback, so that the collector analyses
 * before the window ends: a critical metric at fail-fast level in the latest consecutive samples
 * (new since the baseline, and for counts significant at a hundredth of the significance level), or
 * the endpoint failing `consecutive_error_limit` slots in a row after it had answered.
 */
export function shouldFailFast(input: EngineInput): boolean {
  const evidence = prepareEvidence(input);
  if (!evidence.settings.fail_fast_enabled) return false;
  return failFastFindings(evidence).length > 0 || endpointFailures(evidence)?.reason.severity === "critical";
}

/** The built-in distribution metrics and the custom ones with a rule. */
function distributionRules(settings: AnalysisSettings): DistributionRule[] {
  const builtIn = (["latency_p95", "cpu_usage", "memory_usage"] as const).map((metric) => {
    const rule = settings[metric];
    return {
      metric,
      higherIsWorse: true,
      limit: cleanProduct(rule.limit * settings.safety_factor),
      tolerance: rule.tolerance,
      critical: rule.critical,
      minRatio: rule.regression_min_ratio,
      minDelta: rule.regression_min_delta,
    };
  });
  const custom = Object.entries(settings.custom_metrics).map(([metric, rule]) => ({
    metric,
    higherIsWorse: rule.direction === "higher_is_worse",
    limit: rule.limit,
    tolerance: rule.tolerance,
    critical: rule.critical,
    minRatio: rule.regression_min_ratio,
    minDelta: rule.regression_min_delta,
  }));
  return [...builtIn, ...custom];
}

function requiredPostSamples(settings: AnalysisSettings, plannedPostSamples: number): number {
  return Math.max(settings.min_post_samples, Math.ceil(settings.min_post_ratio * plannedPostSamples));
}

function failFastFindings(evidence: Evidence): Finding[] {
  const { settings } = evidence;
  if (!settings.fail_fast_enabled) return [];
  const consecutive = Math.max(settings.fail_fast_consecutive, MIN_SAMPLES_FOR_ROLLBACK);
  if (evidence.post.length < consecutive) return [];
  const latest = evidence.post.slice(-consecutive);
  const strict = settings.significance_level / FAIL_FAST_STRICTNESS;
  const factor = settings.fail_fast_factor;
  const findings: Finding[] = [];
  const fastReason = (fields: Omit<Parameters<typeof makeReason>[0], "rule" | "severity" | "tolerance">) =>
    findings.push({
      kind: "worse",
      evidence: 1 - (fields.p_value ?? 0),
      reason: makeReason({ ...fields, rule: "fail_fast", severity: "critical", tolerance: null }),
    });

  if (settings.error_rate.critical) {
    const limit = errorLimit(settings);
    const level = cleanProduct(limit * factor);
    const rates = latest.map((slot) => errorRateOf(slot));
    const baseRate = pooledErrorRate(evidence.baseline);
    if (rates.every((rate) => rate !== null && rate >= level) && (baseRate === null || baseRate < level)) {
      const post = pooledTotals(evidence.post);
      const pValue = binomialUpperTail(Math.round(post.events), Math.round(post.requests), limit);
      if (pValue < strict) {
        const lowest = Math.min(...(rates as number[]));
        fastReason({
          metric: "error_rate",
          baseline: baseRate,
          observed: lowest,
          threshold: level,
          exceed_ratio: share(evidence.post, (slot) => (errorRateOf(slot) ?? 0) >= level),
          test: "binomial_limit",
          statistic: Math.round(post.events),
          p_value: pValue,
          message:
            `error_rate was at or above fail-fast threshold ${formatValue("error_rate", level)} ` +
            `(limit × safety ${settings.safety_factor} × ${factor}) in the last ${consecutive} consecutive post samples ` +
            `(lowest ${formatValue("error_rate", lowest)}; ${Math.round(post.events)} errors in ${Math.round(post.requests)} requests, exact binomial ${formatP(pValue)})`,
        });
      }
    }
  }

  for (const rule of distributionRules(settings)) {
    if (!rule.critical || rule.limit === null || !rule.higherIsWorse) continue;
    const level = cleanProduct(rule.limit * factor);
    const values = latest.map((slot) => slot.values.get(rule.metric));
    if (!values.every((value) => value !== undefined && value >= level)) continue;
    const baseLevel = median(evidence.baseline.flatMap((slot) => slot.values.get(rule.metric) ?? []));
    if (baseLevel !== undefined && baseLevel >= level) continue;
    const lowest = Math.min(...(values as number[]));
    fastReason({
      metric: rule.metric,
      baseline: baseLevel ?? null,
      observed: lowest,
      threshold: level,
      exceed_ratio: share(
        evidence.post,
        (slot) => (slot.values.get(rule.metric) ?? Number.NEGATIVE_INFINITY) >= level,
      ),
      message:
        `${rule.metric} was at or above fail-fast threshold ${formatValue(rule.metric, level)} (limit × ${factor}) ` +
        `in the last ${consecutive} consecutive post samples (lowest ${formatValue(rule.metric, lowest)})`,
    });
  }

  const traffic = settings.requests_per_sec;
  const reference = traffic.critical ? trafficReference(evidence) : null;
  const postErrors = pooledErrorRate(evidence.post);
  const resolvingIncident =
    baselineIncident(evidence) && postErrors !== null && postErrors <= errorLimit(settings);
  if (reference && reference.rate >= traffic.min_baseline_rps && !resolvingIncident) {
    // No absolute limit exists for traffic: fail-fast amplifies the allowed drop instead, capped at
    // 100 %; against fewer than 3 baseline observations (their burstiness unknown) twice over.
    const few = reference.totals.observations < MIN_DISPERSION_OBSERVATIONS;
    const drop = Math.min(1, traffic.max_drop * factor * (few ? factor : 1));
    const floor = cleanProduct(reference.rate * (1 - drop));
    const rates = latest.map((slot) => (slot.requests === null ? null : slot.requests / slot.seconds));
    if (rates.every((rate) => rate !== null && rate <= floor)) {
      const pValue = trafficDropTest(reference, pooledTotals(evidence.post));
      if (pValue < strict) {
        const highest = Math.max(...(rates as number[]));
        fastReason({
          metric: "requests_per_sec",
          baseline: reference.rate,
          observed: highest,
          threshold: floor,
          exceed_ratio: share(
            evidence.post,
            (slot) => slot.requests !== null && slot.requests / slot.seconds <= floor,
          ),
          test: "poisson_rate_ratio",
          statistic: Math.round(pooledTotals(evidence.post).requests),
          p_value: pValue,
          message:
            `requests_per_sec was at or below fail-fast floor ${formatValue("requests_per_sec", floor)} ` +
            `(${formatPercent(drop)} below baseline ${formatValue("requests_per_sec", reference.rate)}) ` +
            `in the last ${consecutive} consecutive post samples (highest ${formatValue("requests_per_sec", highest)}; exact Poisson rate test ${formatP(pValue)})`,
        });
      }
    }
  }
  return findings;
}

function errorRateOf(slot: Slot): number | null {
  if (slot.requests === null || slot.errors === null || slot.requests <= 0) return null;
  return slot.errors / slot.requests;
}

function share(slots: readonly Slot[], matches: (slot: Slot) => boolean): number {
  return slots.length === 0 ? 0 : slots.filter(matches).length / slots.length;
}

/**
 * The longest run of failed post slots after the endpoint had answered (before the deploy, or
 * earlier in the window). At `consecutive_error_limit` slots it is a reason: critical while it
 * lasts to the latest slot and is not only invalid payloads (the app answered those), a warning
 * when the endpoint recovered.
 */
function endpointFailures(evidence: Evidence): Finding | null {
  const limit = evidence.settings.consecutive_error_limit;
  const slots = [
    ...evidence.postSequences.map((sequence) => ({ sequence, kind: null })),
    ...evidence.failures
      .filter((failure) => failure.phase === "post")
      .map((failure) => ({ sequence: failure.sequence, kind: failure.kind })),
  ].sort((a, b) => a.sequence - b.sequence);

  let answered = evidence.answeredBeforeDeploy;
  let longest: { length: number; kinds: string[]; atEnd: boolean } | null = null;
  let run: string[] = [];
  slots.forEach((slot, index) => {
    if (slot.kind === null) {
      answered = true;
      run = [];
      return;
    }
    if (!answered) return;
    run.push(slot.kind);
    if (!longest || run.length >= longest.length) {
      longest = { length: run.length, kinds: [...run], atEnd: index === slots.length - 1 };
    }
  });
  const found = longest as { length: number; kinds: string[]; atEnd: boolean } | null;
  if (!found || found.length < limit) return null;
  const onlyInvalid = found.kinds.every((kind) => kind === "invalid");
  const severity = found.atEnd && !onlyInvalid ? "critical" : "warning";
  const kinds = describeKinds(found.kinds);
  const tail = found.atEnd
    ? onlyInvalid
      ? "; the application answers, but with payloads that are not valid metrics"
      : "; still failing at the end of the window"
    : "; then it answered again";
  return {
    kind: severity === "critical" ? "dead" : "data",
    evidence: 1 - 0.5 ** found.length,
    reason: makeReason({
      metric: null,
      rule: "endpoint_failures",
      baseline: null,
      observed: found.length,
      threshold: limit,
      exceed_ratio: null,
      tolerance: null,
      severity,
      message: `the metrics endpoint failed ${found.length} post samples in a row (${kinds}) after it had answered${tail}`,
    }),
  };
}

function describeKinds(kinds: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const kind of kinds) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts.entries()].map(([kind, count]) => `${count} ${kind}`).join(", ");
}

/** Keeps one reason per metric: the most severe, then the clearest kind, then by rule rank. */
function strongestPerMetric(findings: Finding[]): Finding[] {
  const order = (a: Finding, b: Finding) =>
    severityRank(a.reason.severity) - severityRank(b.reason.severity) ||
    KIND_RANK[a.kind] - KIND_RANK[b.kind] ||
    RULE_RANK[a.reason.rule] - RULE_RANK[b.reason.rule];
  const strongest = new Map<string | null, Finding>();
  for (const finding of findings) {
    const kept = strongest.get(finding.reason.metric);
    if (!kept || order(finding, kept) < 0) strongest.set(finding.reason.metric, finding);
  }
  return findings.filter((finding) => strongest.get(finding.reason.metric) === finding);
}

function capToWarning(finding: Finding): Finding {
  if (finding.reason.severity === "warning") return finding;
  return {
    ...finding,
    reason: {
      ...finding.reason,
      severity: "warning",
      message: `${finding.reason.message}; too few post samples to recommend rollback`,
    },
  };
}

function missingBaseline(input: EngineInput): Finding {
  const failed = input.failures.filter((f) => f.phase === "baseline").length;
  return {
    kind: "data",
    evidence: 0.5,
    reason: makeReason({
      metric: null,
      rule: "insufficient_data",
      baseline: null,
      observed: 0,
      threshold: 1,
      exceed_ratio: null,
      tolerance: null,
      severity: "warning",
      needed: { baseline_observations: 1, post_observations: null },
      message:
        `no valid baseline observations (0 valid, ${failed} failed) and no last known good deployment; ` +
        "regression and traffic drop could not be judged",
    }),
  };
}

function tooFewPostFinding(evidence: Evidence, input: EngineInput, required: number): Finding {
  const failed = input.failures.filter((f) => f.phase === "post").length;
  return {
    kind: "data",
    evidence: 0.5,
    reason: makeReason({
      metric: null,
      rule: "insufficient_data",
      baseline: null,
      observed: evidence.post.length,
      threshold: required,
      exceed_ratio: null,
      tolerance: null,
      severity: "warning",
      needed: { baseline_observations: null, post_observations: required },
      message:
        `only ${pluralize(evidence.post.length, "valid post sample")} (${failed} failed), at least ${required} required ` +
        `(minimum ${evidence.settings.min_post_samples}, ${formatPercent(evidence.settings.min_post_ratio)} of ${input.plannedPostSamples} planned)`,
    }),
  };
}

/**
 * Score = share of collection attempts that produced a valid observation, per phase, with post
 * weighted twice the baseline (the verdict is mostly about post). A phase with no valid one scores 0.
 */
function assessDataQuality(
  evidence: Evidence,
  requiredPost: number,
  cutShort: boolean,
  notes: string[],
  limits: readonly DetectionLimit[],
): DataQuality {
  const { baseline, post, failures, plannedPostSamples } = evidence;
  const issues: string[] = [];
  const yieldOf = (phase: "baseline" | "post", valid: number): number => {
    const phaseFailures = failures.filter((f) => f.phase === phase);
    if (phaseFailures.length > 0) {
      issues.push(
        `${phase}: ${phaseFailures.length} of ${valid + phaseFailures.length} samples unusable (${describeKinds(phaseFailures.map((f) => f.kind))})`,
      );
    }
    const attempts = valid + phaseFailures.length;
    return attempts === 0 ? 0 : valid / attempts;
  };
  const ownBaseline = evidence.baselineSource === "observations" ? baseline.length : 0;
  const baselineYield = evidence.baselineSource === "last_known_good" ? 1 : yieldOf("baseline", ownBaseline);
  const postYield = yieldOf("post", post.length);

  if (evidence.baselineSource === "none") issues.push("no valid baseline observations");
  if (evidence.baselineSource === "last_known_good") {
    issues.push(
      `no baseline of its own: compared with ${pluralize(baseline.length, "post sample")} of the last ok deployment`,
    );
  }
  if (baseline.length === 1) {
    issues.push("a single baseline observation: regressions of latency, cpu and memory can only warn");
  }
  if (evidence.estimatedCounts > 0) {
    issues.push(
      `request and error counts estimated from requests_per_sec × interval for ${evidence.estimatedCounts} of ${evidence.countedObservations} observations`,
    );
  }
  if (evidence.droppedPercentiles > 0) {
    issues.push(
      `latency_p95 ignored in ${pluralize(evidence.droppedPercentiles, "observation")} with fewer than ${MIN_REQUESTS_FOR_PERCENTILE} requests (no data)`,
    );
  }
  const traffic = [...baseline, ...post].reduce((sum, slot) => sum + (slot.requests ?? 0), 0);
  if (evidence.countedObservations > 0 && traffic === 0) {
    issues.push("no requests before or after the deploy: latency and errors not judged");
  }
  issues.push(...notes);
  if (cutShort && post.length < plannedPostSamples) {
    issues.push(
      `window cut short by fail-fast after ${post.length} of ${plannedPostSamples} planned post samples`,
    );
  } else if (post.length < requiredPost) {
    issues.push(`only ${post.length} valid post samples, ${requiredPost} required`);
  }
  issues.push(...limits.map(describeLimit));
  return {
    score: roundTo(3, (baselineYield + 2 * postYield) / 3),
    issues,
    ...(limits.length > 0 ? { detection_limits: [...limits] } : {}),
  };
}

/**
 * With `require_detection`, a window that could not have caught what a gate must is inconclusive:
 * a warning that says what would have been needed, instead of an ok.
 */
function undetectable(limit: DetectionLimit, evidence: Evidence): Finding {
  const samples =
    limit.needed_post_requests === null
      ? null
      : Math.ceil((evidence.post.length * limit.needed_post_requests) / limit.post_requests);
  return {
    kind: "uncertain",
    evidence: 0.5,
    reason: makeReason({
      metric: limit.metric,
      rule: "inconclusive",
      baseline: limit.baseline,
      observed: null,
      threshold: limit.rollback_at,
      exceed_ratio: null,
      tolerance: null,
      severity: "warning",
      needed: { baseline_observations: null, post_observations: samples },
      message: describeLimit(limit),
    }),
  };
}

function describeLimit(limit: DetectionLimit): string {
  const needed =
    limit.needed_post_requests === null
      ? "no longer window alone would (a larger baseline, e.g. history, may)"
      : `about ${countText(limit.needed_post_requests)} post requests (a window ×${ratioOf(limit.needed_post_requests, limit.post_requests)} as long) would`;
  const requests = `${countText(limit.post_requests)} post requests`;
  if (limit.metric === "error_rate") {
    const guarded =
      limit.baseline > 0
        ? `errors ×${GUARDED_ERROR_RATIO} the baseline's (${formatValue("error_rate", limit.guarded)})`
        : `an error rate of ${formatValue("error_rate", limit.guarded)} over a baseline without errors`;
    const at =
      limit.rollback_at === null
        ? "not even every request failing would have"
        : `only an error rate of ${formatValue("error_rate", limit.rollback_at)} or more would have`;
    return `error_rate: ${requests} could not have caught ${guarded}: ${at} recommended a rollback; ${needed}`;
  }
  const at =
    limit.rollback_at === null
      ? "no drop, not even to zero, would have"
      : `only traffic of ${formatValue("requests_per_sec", limit.rollback_at)} or less would have`;
  return `requests_per_sec: ${requests} could not have caught a ${formatPercent(GUARDED_TRAFFIC_DROP)} drop (from ${formatValue("requests_per_sec", limit.baseline)} to ${formatValue("requests_per_sec", limit.guarded)}): ${at} recommended a rollback; ${needed}`;
}

function ratioOf(value: number, reference: number): string {
  const ratio = value / reference;
  return ratio >= 10 ? ratio.toFixed(0) : ratio >= 1.1 ? ratio.toFixed(1) : ratio.toFixed(2);
}

/**
 * confidence = data quality × baseline factor × counts factor × post factor × evidence, where
 * - baseline factor: 1 with 5+ baseline observations, 0.85 with 2–4, 0.6 with one, 0.75 from the last
 *   known good deployment, 0.4 without;
 * - counts factor: 0.9 when counts were estimated from rates;
 * - post factor: n / (n + 1) for n valid post samples;
 * - evidence: for a non-ok verdict, the strongest finding of its severity, (1 − p) × Φ(margin past
 *   its threshold in standard errors), 0.5 for inconclusive or missing data; for ok, Φ of the
 *   smallest margin by which any check stayed clear of its threshold, halved when the window was too
 *   small to catch errors ×5 or a 60 % traffic drop (data_quality.detection_limits).
 */
const LIMITED_DETECTION_FACTOR = 0.5;

function confidenceOf(
  verdict: VerdictValue,
  findings: readonly Finding[],
  clearances: readonly Clearance[],
  evidence: Evidence,
  quality: DataQuality,
): number {
  const n = evidence.baseline.length;
  const baselineFactor =
    evidence.baselineSource === "none"
      ? 0.4
      : evidence.baselineSource === "last_known_good"
        ? 0.75
        : n >= 5
          ? 1
          : n >= 2
            ? 0.85
            : 0.6;
  const countsFactor = evidence.estimatedCounts > 0 ? 0.9 : 1;
  const postFactor = evidence.post.length / (evidence.post.length + 1);
  let support: number;
  if (verdict === "ok") {
    const weakest = Math.min(...clearances.map((clearance) => clearance.margin));
    support = clearances.length === 0 ? 0.5 : normalCdf(weakest);
    // An ok from a window too small to catch what a gate must is worth half as much.
    if ((quality.detection_limits?.length ?? 0) > 0) support *= LIMITED_DETECTION_FACTOR;
  } else {
    const severity = verdict === "rollback_recommended" ? "critical" : "warning";
    support = Math.max(...findings.filter((f) => f.reason.severity === severity).map((f) => f.evidence));
  }
  return roundTo(3, quality.score * baselineFactor * countsFactor * postFactor * support);
}

function summarize(
  verdict: VerdictValue,
  reasons: VerdictReason[],
  evidence: Evidence,
  input: EngineInput,
  dryRun: boolean,
  limits: readonly DetectionLimit[],
): string {
  const prefix = dryRun ? "Dry run — " : "";
  const [main, ...others] = reasons;
  if (verdict === "ok" || !main) {
    const failed = input.failures.length;
    const failureNote = failed > 0 ? `, ${pluralize(failed, "collection failure")}` : "";
    const source = evidence.baselineSource === "last_known_good" ? " of the last ok deployment" : "";
    const missed = limits.map((limit) =>
      limit.metric === "error_rate"
        ? limit.baseline > 0
          ? `errors ×${GUARDED_ERROR_RATIO}`
          : `errors of ${formatValue("error_rate", limit.guarded)}`
        : `a ${formatPercent(GUARDED_TRAFFIC_DROP)} traffic drop`,
    );
    const caveat =
      missed.length > 0 ? ` This window could not have caught ${missed.join(" or ")}: see data quality.` : "";
    return (
      `${prefix}OK: ${pluralize(evidence.post.length, "post sample")} within limits and consistent with the baseline ` +
      `(${pluralize(evidence.baseline.length, "baseline observation")}${source}${failureNote}).${caveat}`
    );
  }
  const label = verdict === "rollback_recommended" ? "Rollback recommended" : "Warning";
  const more = others.length > 0 ? `; ${pluralize(others.length, "more reason")}` : "";
  const gate = dryRun ? " (recorded only: the project is in dry run)" : "";
  return `${prefix}${label}: ${main.message}${more}${gate}.`;
}

function severityRank(severity: VerdictReason["severity"]): number {
  return severity === "critical" ? 0 : 1;
}

function roundTo(decimals: number, value: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
