/**
 * Metrics judged on their values' distribution (latency_p95, cpu_usage, memory_usage, custom
 * metrics): absolute limit, regression against the baseline (Mann-Whitney U with a Hodges-Lehmann
 * shift, or a conservative rule against a single baseline point), trend (Theil-Sen with Kendall's
 * tau), each over the whole window and its latest half.
 */
import { median } from "@seqpulse/types";
import { type Evidence, latestHalf, type Slot } from "./evidence.js";
import {
  type Clearance,
  evidenceOf,
  type Finding,
  formatP,
  formatPercent,
  formatValue,
  type Judgement,
  lookAlpha,
  makeReason,
  marginOf,
  pluralize,
  rollbackAlpha,
} from "./findings.js";
import {
  finite,
  hodgesLehmann,
  kendallTau,
  mannWhitneyU,
  normalQuantile,
  robustSpread,
  type ShiftEstimate,
  theilSen,
} from "./stats.js";

export interface DistributionRule {
  metric: string;
  higherIsWorse: boolean;
  /** The limit compared against (× safety factor for the five), or null. */
  limit: number | null;
  tolerance: number;
  critical: boolean;
  minRatio: number;
  minDelta: number;
}

/** A trend needs this many post observations before Kendall's tau can say anything. */
const MIN_TREND_OBSERVATIONS = 5;
/**
 * An effect estimate past the threshold that is not significant is `inconclusive` only when the
 * test still leans that way, p below this many times the significance level: a noisy estimate with
 * no direction is not evidence either way.
 */
export const INCONCLUSIVE_FACTOR = 5;
/**
 * ...and only for a large apparent change, at least this many times the minimum effect: a change
 * just past the threshold that is not significant is what noise looks like.
 */
export const INCONCLUSIVE_EFFECT = 2;
/** Confidence of the Hodges-Lehmann interval whose width gives the shift's standard error. */
const SHIFT_INTERVAL = 0.9;

interface Series {
  slots: Slot[];
  /** Values oriented so that higher is worse. */
  values: number[];
}

export function judgeDistribution(rule: DistributionRule, evidence: Evidence): Judgement {
  const sign = rule.higherIsWorse ? 1 : -1;
  const seriesOf = (slots: Slot[]): Series => {
    const kept = slots.filter((slot) => slot.values.has(rule.metric));
    return { slots: kept, values: kept.map((slot) => sign * (slot.values.get(rule.metric) as number)) };
  };
  const post = seriesOf(evidence.post);
  if (post.values.length === 0) return { findings: [], clearances: [] };
  const base = seriesOf(evidence.baseline);
  const context: Context = { rule, sign, evidence, post, base, alpha: evidence.settings.significance_level };

  const regression = base.values.length > 0 ? judgeRegression(context) : { findings: [], clearances: [] };
  const regressed = regression.findings.some((finding) => finding.kind === "worse");
  const limit = rule.limit === null ? { findings: [], clearances: [] } : judgeLimit(context, regressed);
  const trend = judgeTrend(context);
  return {
    findings: [...limit.findings, ...regression.findings, ...trend.findings],
    clearances: [...limit.clearances, ...regression.clearances, ...trend.clearances],
  };
}

interface Context {
  rule: DistributionRule;
  sign: number;
  evidence: Evidence;
  post: Series;
  base: Series;
  alpha: number;
}

function judgeLimit(context: Context, regressed: boolean): Judgement {
  const { rule, sign, post, base } = context;
  const limit = sign * (rule.limit as number);
  const breaching = post.values.filter((value) => value > limit);
  const share = breaching.length / post.values.length;
  const endLevel = median(latestHalf(post.values)) as number;
  const wholeBreach = share > rule.tolerance;
  const endBreach = endLevel > limit;
  const location = median(post.values) as number;
  const margin = marginOf(location, limit, locationError(post.values));
  if (!wholeBreach && !endBreach)
    return { findings: [], clearances: [{ metric: rule.metric, margin: -margin }] };

  const baseLevel = median(base.values);
  const preexisting = baseLevel !== undefined && baseLevel > limit && !regressed;
  const recovered = !endBreach;
  const persistent = wholeBreach && endBreach && breaching.length >= 2;
  const severity = rule.critical && persistent && !preexisting ? "critical" : "warning";
  const observed = sign * (median(breaching.length > 0 ? breaching : latestHalf(post.values)) as number);
  const past = rule.higherIsWorse ? "over" : "under";
  const note = preexisting
    ? `; already ${past} the limit before the deploy (baseline ${formatValue(rule.metric, sign * baseLevel)}) and not worse`
    : recovered
      ? "; recovered by the end of the window"
      : !wholeBreach
        ? `; only in the latest half of the window (latest median ${formatValue(rule.metric, sign * endLevel)})`
        : breaching.length < 2 && rule.critical
          ? "; a single sample is not enough to recommend rollback"
          : "";
  const finding: Finding = {
    kind: preexisting ? "preexisting" : recovered ? "recovered" : "worse",
    evidence: evidenceOf(null, Math.abs(margin)),
    reason: makeReason({
      metric: rule.metric,
      rule: "absolute_limit",
      baseline: baseLevel === undefined ? null : sign * baseLevel,
      observed,
      threshold: rule.limit,
      exceed_ratio: share,
      tolerance: rule.tolerance,
      severity,
      message:
        `${rule.metric} ${formatValue(rule.metric, observed)} ${past} limit ${formatValue(rule.metric, rule.limit as number)} ` +
        `in ${breaching.length} of ${post.values.length} post samples (tolerance ${formatPercent(rule.tolerance)})${note}`,
    }),
  };
  return { findings: [finding], clearances: [] };
}

/** The shift past the baseline that counts as a regression: both the ratio and the delta. */
function requiredShift(baseline: number, minRatio: number, minDelta: number): number {
  return Math.max(finite(Math.abs(baseline) * (minRatio - 1)), minDelta);
}

function judgeRegression(context: Context): Judgement {
  const { rule, base } = context;
  const baseLevel = median(base.values) as number;
  const required = requiredShift(baseLevel, rule.minRatio, rule.minDelta);
  return base.values.length === 1
    ? judgeAgainstOnePoint(context, baseLevel, required)
    : judgeAgainstDistribution(context, baseLevel, required);
}

interface Comparison {
  values: number[];
  shift: ShiftEstimate;
  u: number;
  pValue: number;
  reached: boolean;
  significant: boolean;
}

function judgeAgainstDistribution(context: Context, baseLevel: number, required: number): Judgement {
  const { rule, sign, post, base, alpha } = context;
  const compare = (values: number[]): Comparison => {
    const shift = hodgesLehmann(values, base.values, SHIFT_INTERVAL);
    const test = mannWhitneyU(values, base.values, "greater");
    return {
      values,
      shift,
      u: test.u,
      pValue: test.pValue,
      reached: shift.shift >= required,
      significant: test.pValue < lookAlpha(alpha),
    };
  };
  const whole = compare(post.values);
  const end = compare(latestHalf(post.values));
  const threshold = sign * (baseLevel + required);
  const margin = (comparison: Comparison) =>
    marginOf(comparison.shift.shift, required, shiftError(comparison.shift));

  const wholeFinds = whole.reached && whole.significant;
  const endFinds = end.reached && end.significant;
  if (wholeFinds || endFinds) {
    const deciding = wholeFinds ? whole : end;
    const recovered = !end.reached;
    const offending = post.values.filter((value) => value >= baseLevel + required).length;
    const severity =
      rule.critical &&
      !recovered &&
      whole.significant &&
      offending >= 2 &&
      deciding.pValue < rollbackAlpha(alpha, false)
        ? "critical"
        : "warning";
    const observed = sign * (baseLevel + deciding.shift.shift);
    const where = endFinds && !wholeFinds ? " in the latest half of the window" : "";
    const note = recovered ? "; recovered by the end of the window" : "";
    return {
      clearances: [],
      findings: [
        {
          kind: recovered ? "recovered" : "worse",
          evidence: evidenceOf(deciding.pValue, margin(deciding)),
          reason: makeReason({
            metric: rule.metric,
            rule: "regression",
            baseline: sign * baseLevel,
            observed,
            threshold,
            exceed_ratio: offending / post.values.length,
            tolerance: rule.tolerance,
            severity,
            test: "mann_whitney_u",
            statistic: deciding.u,
            p_value: deciding.pValue,
            message:
              `${rule.metric} ${rule.higherIsWorse ? "rose" : "fell"} from baseline ${formatValue(rule.metric, sign * baseLevel)} ` +
              `to ${formatValue(rule.metric, observed)}${where} (Hodges-Lehmann estimate over ${pluralize(deciding.values.length, "post sample")} ` +
              `against ${base.values.length} baseline observations; Mann-Whitney ${formatP(deciding.pValue)}), ` +
              `past the regression threshold ${formatValue(rule.metric, threshold)}${note}`,
          }),
        },
      ],
    };
  }

  const leaning = [whole, end].find(
    (comparison) =>
      comparison.shift.shift >= INCONCLUSIVE_EFFECT * required &&
      comparison.pValue < INCONCLUSIVE_FACTOR * alpha,
  );
  if (leaning) {
    const observed = sign * (baseLevel + leaning.shift.shift);
    const needed = postObservationsNeeded(leaning.values.length, leaning.pValue, alpha);
    return {
      clearances: [],
      findings: [
        {
          kind: "uncertain",
          evidence: 0.5,
          reason: makeReason({
            metric: rule.metric,
            rule: "inconclusive",
            baseline: sign * baseLevel,
            observed,
            threshold,
            exceed_ratio: null,
            tolerance: rule.tolerance,
            severity: "warning",
            test: "mann_whitney_u",
            statistic: leaning.u,
            p_value: leaning.pValue,
            needed: { baseline_observations: null, post_observations: needed },
            message:
              `${rule.metric} looks ${rule.higherIsWorse ? "worse" : "lower"} than the baseline ` +
              `(${formatValue(rule.metric, sign * baseLevel)} → ${formatValue(rule.metric, observed)}, past ${formatValue(rule.metric, threshold)}) ` +
              `but the difference is not significant (Mann-Whitney ${formatP(leaning.pValue)}, needs p < ${lookAlpha(alpha)})` +
              (needed === null ? "" : `; about ${needed} post samples would decide`),
          }),
        },
      ],
    };
  }
  return {
    findings: [],
    clearances: [{ metric: rule.metric, margin: -Math.max(margin(whole), margin(end)) } satisfies Clearance],
  };
}

/**
 * One baseline point has no spread: no rank test can reach significance against it (the exact
 * p-value is at least 1 / (n + 1)). The conservative rule: the post median, the latest half's
 * median and more than the tolerance share of samples past the threshold — and at most a warning.
 */
function judgeAgainstOnePoint(context: Context, baseLevel: number, required: number): Judgement {
  const { rule, sign, post } = context;
  const threshold = baseLevel + required;
  const location = median(post.values) as number;
  const endLevel = median(latestHalf(post.values)) as number;
  const offending = post.values.filter((value) => value >= threshold).length;
  const share = offending / post.values.length;
  const spread = robustSpread(post.values) * Math.sqrt(1 + 1 / post.values.length);
  const margin = marginOf(Math.min(location, endLevel), threshold, spread);
  if (location < threshold || endLevel < threshold || share <= rule.tolerance) {
    return { findings: [], clearances: [{ metric: rule.metric, margin: -margin }] };
  }
  const needed = baselineObservationsNeeded(post.values.length, context.alpha);
  return {
    clearances: [],
    findings: [
      {
        kind: "worse",
        evidence: evidenceOf(null, margin),
        reason: makeReason({
          metric: rule.metric,
          rule: "regression",
          baseline: sign * baseLevel,
          observed: sign * location,
          threshold: sign * threshold,
          exceed_ratio: share,
          tolerance: rule.tolerance,
          severity: "warning",
          needed: { baseline_observations: needed, post_observations: null },
          message:
            `${rule.metric} ${rule.higherIsWorse ? "rose" : "fell"} from the single baseline observation ` +
            `${formatValue(rule.metric, sign * baseLevel)} to median ${formatValue(rule.metric, sign * location)}, ` +
            `past the regression threshold ${formatValue(rule.metric, sign * threshold)} in ${offending} of ${post.values.length} post samples; ` +
            `one baseline point cannot tell this from noise, so at most a warning (a baseline of ${needed} observations would)`,
        }),
      },
    ],
  };
}

function judgeTrend(context: Context): Judgement {
  const { rule, sign, post, base, alpha } = context;
  if (post.values.length < MIN_TREND_OBSERVATIONS) return { findings: [], clearances: [] };
  const minutes = post.slots.map((slot) => slot.minute);
  const test = kendallTau(minutes, post.values, "greater");
  // No trend: clear by how far the rank correlation is from significance.
  const clear = {
    findings: [],
    clearances: [
      { metric: rule.metric, margin: normalQuantile(1 - alpha) - normalQuantile(1 - test.pValue) },
    ],
  };
  if (test.pValue >= alpha) return clear;
  // A rising series whose latest half is not even weakly above the baseline is noise, not a creep.
  const endAboveBaseline =
    base.values.length < 2 ||
    mannWhitneyU(latestHalf(post.values), base.values, "greater").pValue < INCONCLUSIVE_FACTOR * alpha;
  if (!endAboveBaseline) return clear;
  const line = theilSen(minutes, post.values);
  if (!(line.slope > 0)) return { findings: [], clearances: [] };

  const first = post.slots[0] as Slot;
  const last = post.slots[post.slots.length - 1] as Slot;
  const now = last.end / 60_000;
  const horizon = (last.end - first.start) / 60_000;
  const level = finite(line.intercept + line.slope * now);
  const projected = finite(level + line.slope * horizon);
  const targets: { value: number; label: string }[] = [];
  if (rule.limit !== null) targets.push({ value: sign * rule.limit, label: "limit" });
  const baseLevel = median(base.values);
  if (baseLevel !== undefined) {
    targets.push({
      value: baseLevel + requiredShift(baseLevel, rule.minRatio, rule.minDelta),
      label: "regression threshold",
    });
  }
  const target = targets
    .filter((candidate) => candidate.value > level && candidate.value <= projected)
    .sort((a, b) => a.value - b.value)[0];
  if (!target) return { findings: [], clearances: [] };

  const perMinute = sign * line.slope;
  return {
    clearances: [],
    findings: [
      {
        kind: "trend",
        evidence: evidenceOf(test.pValue, 0),
        reason: makeReason({
          metric: rule.metric,
          rule: "trend",
          baseline: baseLevel === undefined ? null : sign * baseLevel,
          observed: sign * level,
          threshold: sign * target.value,
          exceed_ratio: null,
          tolerance: null,
          severity: "warning",
          test: "kendall_tau",
          statistic: test.tau,
          p_value: test.pValue,
          message:
            `${rule.metric} is ${rule.higherIsWorse ? "rising" : "falling"} ${formatValue(rule.metric, Math.abs(perMinute))} per minute ` +
            `(Theil-Sen; Kendall tau ${roundTau(test.tau)}, ${formatP(test.pValue)}): ${formatValue(rule.metric, sign * level)} now, ` +
            `${formatValue(rule.metric, sign * projected)} ${Math.round(horizon)} minutes ahead, past the ${target.label} ${formatValue(rule.metric, sign * target.value)}`,
        }),
      },
    ],
  };
}

function roundTau(tau: number): number {
  return Math.round(tau * 100) / 100;
}

/** Standard error of a Hodges-Lehmann shift from its interval's width. */
function shiftError(shift: ShiftEstimate): number {
  const z = normalQuantile(1 - (1 - SHIFT_INTERVAL) / 2);
  return (shift.upper - shift.lower) / (2 * z);
}

/** Standard error of a median (√(π/2) × spread / √n). */
function locationError(values: number[]): number {
  return (1.2533 * robustSpread(values)) / Math.sqrt(values.length);
}

/**
 * Post samples that would make an effect of the size seen significant, scaling the sample by the
 * ratio of the z-scores needed and reached; null when the test does not lean that way at all.
 */
function postObservationsNeeded(current: number, pValue: number, alpha: number): number | null {
  if (pValue >= 0.5) return null;
  const reached = normalQuantile(1 - pValue);
  const wanted = normalQuantile(1 - alpha);
  return Math.min(current * 20, Math.ceil(current * (wanted / reached) ** 2));
}

/**
 * Baseline observations with which a rank test over `post` samples could reach p < alpha even in
 * the clearest case (every post value above every baseline one: p = 1 / C(n + m, m)), and at least 5.
 */
function baselineObservationsNeeded(post: number, alpha: number): number {
  let size = 1;
  let combinations = post + 1;
  while (1 / combinations >= alpha / 10 && size < 1000) {
    size++;
    combinations = (combinations * (post + size)) / size;
  }
  return Math.max(5, size);
}
