/**
 * Errors and traffic, judged on counts (known, or estimated from rates × span): exact tests of
 * Poisson rates with a minimum effect, counts deflated by the baseline's own dispersion
 * (quasi-Poisson) so that bursty services do not look significant by volume alone.
 */
import type { AnalysisSettings } from "@seqpulse/types";
import { INCONCLUSIVE_EFFECT, INCONCLUSIVE_FACTOR } from "./distribution.js";
import { type Evidence, latestHalf, type Slot } from "./evidence.js";
import {
  cleanProduct,
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
  binomialUpperTail,
  finite,
  poissonRateRatioTest,
  pseudoMedian,
  smallestScale,
  theilSen,
} from "./stats.js";

/** An inconclusive count names the samples that would decide it, up to this many times as many. */
const MAX_INCONCLUSIVE_SCALE = 20;
const ONLY_A_LARGER_BASELINE_DECIDES =
  "no longer window would decide against so small a baseline; a larger one (history) would";

/** Post samples of a window `scale` times as long that `decides` (at the same rates); null past the cap. */
function samplesToDecide(observations: number, decides: (scale: number) => boolean): number | null {
  const scale = smallestScale(decides, MAX_INCONCLUSIVE_SCALE);
  return scale === null ? null : Math.ceil(observations * scale);
}

/** Dispersion can only be estimated from this many baseline observations with counts. */
export const MIN_DISPERSION_OBSERVATIONS = 3;
/** A baseline trend of traffic (e.g. the evening's decline) lowers the reference by at most max_drop. */
const MIN_OBSERVATIONS_FOR_BASELINE_TREND = 6;

export interface Totals {
  events: number;
  requests: number;
  seconds: number;
  observations: number;
}

function totals(slots: readonly Slot[]): Totals {
  let events = 0;
  let requests = 0;
  let seconds = 0;
  let observations = 0;
  for (const slot of slots) {
    if (slot.requests === null) continue;
    requests += slot.requests;
    seconds += slot.seconds;
    events += slot.errors ?? 0;
    observations++;
  }
  return { events, requests, seconds, observations };
}

/** Pearson χ² / (k − 1) of the counts around the pooled rate, at least 1; 1 when it cannot be estimated. */
function dispersion(
  slots: readonly Slot[],
  count: (slot: Slot) => number | null,
  exposure: (slot: Slot) => number,
): number {
  const usable = slots.filter((slot) => count(slot) !== null && exposure(slot) > 0);
  if (usable.length < MIN_DISPERSION_OBSERVATIONS) return 1;
  const total = usable.reduce((sum, slot) => sum + (count(slot) as number), 0);
  const totalExposure = usable.reduce((sum, slot) => sum + exposure(slot), 0);
  if (total <= 0) return 1;
  const rate = total / totalExposure;
  let chiSquare = 0;
  for (const slot of usable) {
    const expected = rate * exposure(slot);
    if (expected > 0) chiSquare += ((count(slot) as number) - expected) ** 2 / expected;
  }
  return Math.max(1, finite(chiSquare / (usable.length - 1)));
}

function errorSlots(slots: readonly Slot[]): Slot[] {
  return slots.filter((slot) => slot.requests !== null && slot.errors !== null);
}

export interface ErrorJudgement extends Judgement {
  /** The baseline was over the error limit and the post is significantly better: an incident the deploy fixed. */
  resolvedIncident: boolean;
}

export function judgeErrors(evidence: Evidence): ErrorJudgement {
  const settings = evidence.settings;
  const rule = settings.error_rate;
  const alpha = settings.significance_level;
  const postSlots = errorSlots(evidence.post);
  const baseSlots = errorSlots(evidence.baseline);
  const post = totals(postSlots);
  const end = totals(latestHalf(postSlots));
  const base = totals(baseSlots);
  const none: ErrorJudgement = { findings: [], clearances: [], resolvedIncident: false };
  if (post.requests < 1) return none;

  const phi = dispersion(
    baseSlots,
    (slot) => slot.errors,
    (slot) => slot.requests ?? 0,
  );
  const deflate = (value: number) => Math.round(value / phi);
  const limit = errorLimit(settings);
  const postRate = post.events / post.requests;
  const endRate = end.requests > 0 ? end.events / end.requests : postRate;
  const baseRate = base.requests > 0 ? base.events / base.requests : null;
  const exceeding = (threshold: number) =>
    postSlots.filter(
      (slot) =>
        (slot.requests as number) > 0 && (slot.errors as number) / (slot.requests as number) > threshold,
    ).length / postSlots.length;

  const findings: Finding[] = [];
  const clearances: Judgement["clearances"] = [];
  let regressed = false;

  if (baseRate !== null) {
    const regression = judgeErrorRegression({ evidence, post, end, base, baseRate, phi, alpha, exceeding });
    findings.push(...regression.findings);
    clearances.push(...regression.clearances);
    regressed = regression.findings.some((finding) => finding.kind === "worse");
  }

  const limitTest = binomialUpperTail(
    deflate(post.events),
    Math.max(deflate(post.events), deflate(post.requests)),
    limit,
  );
  const limitError = Math.sqrt((phi * limit * (1 - limit)) / post.requests);
  const limitMargin = marginOf(postRate, limit, limitError);
  const breach = postRate > limit && limitTest < alpha;
  if (breach) {
    const preexisting = baseRate !== null && baseRate > limit && !regressed;
    const recovered = endRate <= limit;
    const severity =
      rule.critical &&
      !preexisting &&
      !recovered &&
      post.observations >= 2 &&
      limitTest < rollbackAlpha(alpha, false)
        ? "critical"
        : "warning";
    const note = preexisting
      ? `; already over the limit before the deploy (baseline ${formatValue("error_rate", baseRate)}) and not worse`
      : recovered
        ? "; recovered by the end of the window"
        : "";
    findings.push({
      kind: preexisting ? "preexisting" : recovered ? "recovered" : "worse",
      evidence: evidenceOf(limitTest, limitMargin),
      reason: makeReason({
        metric: "error_rate",
        rule: "absolute_limit",
        baseline: baseRate,
        observed: postRate,
        threshold: limit,
        exceed_ratio: exceeding(limit),
        tolerance: rule.tolerance,
        severity,
        test: "binomial_limit",
        statistic: post.events,
        p_value: limitTest,
        message:
          `error_rate ${formatValue("error_rate", postRate)} (${countText(post.events)} errors in ${countText(post.requests)} requests) ` +
          `over limit ${formatValue("error_rate", limit)} (exact binomial ${formatP(limitTest)})${note}`,
      }),
    });
  } else {
    clearances.push({ metric: "error_rate", margin: -limitMargin });
  }

  const resolvedIncident =
    baselineIncident(evidence) &&
    postRate <= limit &&
    poissonRateRatioTest(
      { events: deflate(post.events), exposure: post.requests },
      { events: deflate(base.events), exposure: base.requests },
      "less",
    ) < alpha;
  return { findings, clearances, resolvedIncident };
}

interface ErrorRegressionInput {
  evidence: Evidence;
  post: Totals;
  end: Totals;
  base: Totals;
  baseRate: number;
  phi: number;
  alpha: number;
  exceeding: (threshold: number) => number;
}

function judgeErrorRegression(input: ErrorRegressionInput): Judgement {
  const { evidence, post, end, base, baseRate, phi, alpha } = input;
  const rule = evidence.settings.error_rate;
  const assess = (window: Totals) => {
    const rate = window.requests > 0 ? window.events / window.requests : 0;
    const excess = window.events - window.requests * baseRate;
    const ratio = baseRate > 0 ? rate / baseRate : window.events > 0 ? Number.POSITIVE_INFINITY : 1;
    const reached =
      ratio >= rule.regression_min_ratio &&
      excess >= rule.min_excess_errors &&
      rate - baseRate >= rule.regression_min_delta;
    const pValue = poissonRateRatioTest(
      { events: Math.round(window.events / phi), exposure: window.requests },
      { events: Math.round(base.events / phi), exposure: base.requests },
      "greater",
    );
    // Margin of the weakest effect criterion: log rate ratio against the minimum ratio, excess against the minimum excess.
    const logRatio =
      Math.log((window.events + 0.5) / window.requests) - Math.log((base.events + 0.5) / base.requests);
    const ratioError = Math.sqrt(phi * (1 / (window.events + 0.5) + 1 / (base.events + 0.5)));
    const scale = window.requests / base.requests;
    const excessError = Math.sqrt(phi * (window.events + scale * scale * base.events) + 1);
    const margin = Math.min(
      marginOf(logRatio, Math.log(rule.regression_min_ratio), ratioError),
      marginOf(excess, rule.min_excess_errors, excessError),
    );
    const large =
      ratio >= 1 + INCONCLUSIVE_EFFECT * (rule.regression_min_ratio - 1) &&
      excess >= INCONCLUSIVE_EFFECT * rule.min_excess_errors &&
      rate - baseRate >= INCONCLUSIVE_EFFECT * rule.regression_min_delta;
    return {
      rate,
      excess,
      ratio,
      reached,
      large,
      pValue,
      margin,
      events: window.events,
      requests: window.requests,
    };
  };
  const whole = assess(post);
  const latest = assess(end);
  const threshold = Math.max(baseRate * rule.regression_min_ratio, baseRate + rule.regression_min_delta);
  const few = base.observations < MIN_DISPERSION_OBSERVATIONS;
  const strictAlpha = rollbackAlpha(alpha, few);

  const look = lookAlpha(alpha);
  const wholeFinds = whole.reached && whole.pValue < look;
  const endFinds = latest.reached && latest.pValue < look && latest.events >= 2;
  if (wholeFinds || endFinds) {
    const deciding = endFinds && !wholeFinds ? latest : whole;
    const recovered = !latest.reached;
    // Without the baseline's own dispersion, a rollback needs the post rate significantly above the
    // minimum effect itself, not only above the baseline.
    const rollbackP = few
      ? poissonRateRatioTest(
          { events: Math.round(deciding.events / phi), exposure: deciding.requests },
          { events: Math.round(base.events / phi), exposure: base.requests },
          "greater",
          rule.regression_min_ratio,
        )
      : deciding.pValue;
    // A regression seen only in the latest half recommends rollback when the whole window confirms it.
    const confirmed = deciding === whole || whole.pValue < look;
    const severity =
      rule.critical && !recovered && confirmed && rollbackP < strictAlpha && post.observations >= 2
        ? "critical"
        : "warning";
    const where = deciding === latest ? " in the latest half of the window" : "";
    const note = recovered
      ? "; recovered by the end of the window"
      : severity === "warning" && rule.critical && few
        ? `; against ${base.observations === 1 ? "a single baseline observation" : "so few baseline observations"} a rollback needs the rate significantly above ×${ratioText(rule.regression_min_ratio)} (p < ${strictAlpha})`
        : severity === "warning" && rule.critical
          ? `; a rollback needs p < ${strictAlpha}`
          : "";
    return {
      clearances: [],
      findings: [
        {
          kind: recovered ? "recovered" : "worse",
          evidence: evidenceOf(deciding.pValue, deciding.margin),
          reason: makeReason({
            metric: "error_rate",
            rule: "regression",
            baseline: baseRate,
            observed: deciding.rate,
            threshold,
            exceed_ratio: input.exceeding(threshold),
            tolerance: rule.tolerance,
            severity,
            test: "poisson_rate_ratio",
            statistic: deciding.events,
            p_value: deciding.pValue,
            message:
              `error_rate rose from baseline ${formatValue("error_rate", baseRate)} to ${formatValue("error_rate", deciding.rate)}${where} ` +
              `(×${ratioText(deciding.ratio)}, ${countText(deciding.excess)} more errors in ${countText(deciding.requests)} requests than the baseline rate predicts; ` +
              `exact Poisson rate test ${formatP(deciding.pValue)})${note}`,
          }),
        },
      ],
    };
  }
  const leaning = [whole, latest].find(
    (window) => window.large && window.pValue < INCONCLUSIVE_FACTOR * alpha,
  );
  if (leaning) {
    const needed = samplesToDecide(
      leaning === whole ? post.observations : end.observations,
      (scale) =>
        poissonRateRatioTest(
          { events: Math.round((leaning.events * scale) / phi), exposure: leaning.requests * scale },
          { events: Math.round(base.events / phi), exposure: base.requests },
          "greater",
        ) < lookAlpha(alpha),
    );
    return {
      clearances: [],
      findings: [
        {
          kind: "uncertain",
          evidence: 0.5,
          reason: makeReason({
            metric: "error_rate",
            rule: "inconclusive",
            baseline: baseRate,
            observed: leaning.rate,
            threshold,
            exceed_ratio: null,
            tolerance: rule.tolerance,
            severity: "warning",
            test: "poisson_rate_ratio",
            statistic: leaning.events,
            p_value: leaning.pValue,
            needed: { baseline_observations: null, post_observations: needed },
            message:
              `error_rate looks higher than the baseline (${formatValue("error_rate", baseRate)} → ${formatValue("error_rate", leaning.rate)}, ` +
              `${countText(leaning.excess)} more errors than predicted) but ${countText(leaning.events)} errors in ${countText(leaning.requests)} requests ` +
              `are not significant (exact Poisson rate test ${formatP(leaning.pValue)}, needs p < ${lookAlpha(alpha)}); ` +
              (needed === null
                ? ONLY_A_LARGER_BASELINE_DECIDES
                : `about ${needed} post samples at this traffic would decide`),
          }),
        },
      ],
    };
  }
  return {
    findings: [],
    clearances: [{ metric: "error_rate", margin: -Math.max(whole.margin, latest.margin) }],
  };
}

export interface TrafficReference {
  /** Requests per second the post window is compared with. */
  rate: number;
  /** The baseline's pooled rate (the reference may be lower when the baseline was declining). */
  pooled: number;
  totals: Totals;
  phi: number;
}

const referenceCache = new WeakMap<
  readonly Slot[],
  { maxDrop: number; reference: TrafficReference | null }
>();

/** The baseline's traffic level: its pseudo-median rate, or lower when the baseline itself was declining. */
export function trafficReference(evidence: Evidence): TrafficReference | null {
  const maxDrop = evidence.settings.requests_per_sec.max_drop;
  const cached = referenceCache.get(evidence.baseline);
  if (cached?.maxDrop === maxDrop) return cached.reference;
  const reference = computeTrafficReference(evidence.baseline, maxDrop);
  referenceCache.set(evidence.baseline, { maxDrop, reference });
  return reference;
}

function computeTrafficReference(baseline: readonly Slot[], maxDrop: number): TrafficReference | null {
  const slots = baseline.filter((slot) => slot.requests !== null);
  if (slots.length === 0) return null;
  const rates = slots.map((slot) => (slot.requests as number) / slot.seconds);
  const level = pseudoMedian(rates);
  const base = totals(slots);
  let rate = level;
  if (slots.length >= MIN_OBSERVATIONS_FOR_BASELINE_TREND) {
    const line = theilSen(
      slots.map((slot) => slot.minute),
      rates,
    );
    const atEnd = line.intercept + line.slope * ((slots[slots.length - 1] as Slot).end / 60_000);
    rate = Math.max(Math.min(level, atEnd), level * (1 - maxDrop));
  }
  const phi = dispersion(
    slots,
    (slot) => slot.requests,
    (slot) => slot.seconds,
  );
  return { rate, pooled: base.seconds > 0 ? base.requests / base.seconds : 0, totals: base, phi };
}

/** Requests over the post window against the baseline: one-sided exact test for fewer, scaled to the reference. */
export function trafficDropTest(reference: TrafficReference, window: Totals, share = 1): number {
  const ratio = share * (reference.pooled > 0 ? reference.rate / reference.pooled : 1);
  return poissonRateRatioTest(
    { events: Math.round(window.requests / reference.phi), exposure: window.seconds },
    { events: Math.round(reference.totals.requests / reference.phi), exposure: reference.totals.seconds },
    "less",
    ratio,
  );
}

export function judgeTraffic(evidence: Evidence, resolvedIncident: boolean): Judgement & { notes: string[] } {
  const settings = evidence.settings;
  const rule = settings.requests_per_sec;
  const alpha = settings.significance_level;
  const reference = trafficReference(evidence);
  const postSlots = evidence.post.filter((slot) => slot.requests !== null);
  const nothing = { findings: [], clearances: [], notes: [] };
  if (!reference || postSlots.length === 0 || reference.rate < rule.min_baseline_rps) return nothing;
  if (resolvedIncident) {
    return {
      ...nothing,
      notes: [
        "traffic drop not judged: the baseline was over the error limit and the deploy resolved it (retries inflate an incident's traffic)",
      ],
    };
  }
  const post = totals(postSlots);
  const end = totals(latestHalf(postSlots));
  const floor = cleanProduct(reference.rate * (1 - rule.max_drop));
  const postRate = post.requests / post.seconds;
  const endRate = end.requests / end.seconds;
  const below = postSlots.filter((slot) => (slot.requests as number) / slot.seconds < floor).length;
  const share = below / postSlots.length;
  const pValue = trafficDropTest(reference, post);
  const endP = trafficDropTest(reference, end);
  const logError = Math.sqrt(
    reference.phi * (1 / (post.requests + 0.5) + 1 / (reference.totals.requests + 0.5)),
  );
  const margin = marginOf(Math.log(floor + 1e-9), Math.log(postRate + 1e-9), logError);
  const reached = postRate < floor;
  const endReached = endRate < floor;

  const look = lookAlpha(alpha);
  if ((reached && pValue < look) || (endReached && endP < look)) {
    const drop = 1 - (endReached ? endRate : postRate) / reference.rate;
    const few = reference.totals.observations < MIN_DISPERSION_OBSERVATIONS;
    const failFastDrop = Math.min(1, rule.max_drop * settings.fail_fast_factor);
    const deciding = reached && pValue < look ? pValue : endP;
    const recovered = !endReached;
    // Against a single baseline observation, whose burstiness is unknown, a rollback needs a gross drop
    // (max_drop × fail_fast_factor) that is significantly below the floor itself.
    const strongEnough = few
      ? drop >= failFastDrop &&
        trafficDropTest(reference, endReached ? end : post, 1 - rule.max_drop) < rollbackAlpha(alpha, true)
      : deciding < rollbackAlpha(alpha, false);
    // A drop that only the latest half shows, and that is not gross where the window ends, is the
    // day's own decline as often as the deploy's (a long window sees it): at most a warning, unless
    // the whole window confirms it. A deploy that loses traffic, even late, loses a lot of it.
    const tail = totals(postSlots.slice(-Math.max(2, Math.ceil(postSlots.length / 4))));
    const tailDrop = tail.seconds > 0 ? 1 - tail.requests / tail.seconds / reference.rate : 0;
    const confirmed = (reached && pValue < look) || tailDrop >= failFastDrop;
    const spread = share > rule.tolerance && below >= 2;
    const severity =
      rule.critical && !recovered && confirmed && spread && strongEnough ? "critical" : "warning";
    const observed = endReached ? endRate : postRate;
    const needs = [
      ...(confirmed
        ? []
        : [
            `a drop of at least ${formatPercent(failFastDrop)} in the last ${pluralize(tail.observations, "post sample")} or the whole window significantly below the floor`,
          ]),
      ...(strongEnough
        ? []
        : [
            few
              ? `a drop of at least ${formatPercent(failFastDrop)} and p < ${rollbackAlpha(alpha, few)} against a single baseline observation`
              : `p < ${rollbackAlpha(alpha, few)}`,
          ]),
      ...(spread
        ? []
        : [
            `more than ${formatPercent(rule.tolerance)} of the post samples, and at least 2, below the floor`,
          ]),
    ];
    const note = recovered
      ? "; recovered by the end of the window"
      : severity === "warning" && rule.critical && needs.length > 0
        ? `; a rollback needs ${needs.join(" and ")}`
        : "";
    return {
      notes: [],
      clearances: [],
      findings: [
        {
          kind: recovered ? "recovered" : "worse",
          evidence: evidenceOf(deciding, margin),
          reason: makeReason({
            metric: "requests_per_sec",
            rule: "traffic_drop",
            baseline: reference.rate,
            observed,
            threshold: floor,
            exceed_ratio: share,
            tolerance: rule.tolerance,
            severity,
            test: "poisson_rate_ratio",
            statistic: Math.round(endReached && !reached ? end.requests : post.requests),
            p_value: deciding,
            message:
              `requests_per_sec dropped to ${formatValue("requests_per_sec", observed)}, ${formatPercent(drop)} under the baseline's ` +
              `${formatValue("requests_per_sec", reference.rate)} (floor ${formatValue("requests_per_sec", floor)}, ${below} of ${postSlots.length} post samples below; ` +
              `exact Poisson rate test ${formatP(deciding)})${note}`,
          }),
        },
      ],
    };
  }
  // Leaning towards a large drop (twice max_drop) that lasts to the end, but not significantly.
  const largeDrop = 1 - postRate / reference.rate >= Math.min(1, INCONCLUSIVE_EFFECT * rule.max_drop);
  if (largeDrop && endReached && pValue < INCONCLUSIVE_FACTOR * alpha) {
    const needed = samplesToDecide(
      post.observations,
      (scale) =>
        trafficDropTest(reference, {
          ...post,
          requests: post.requests * scale,
          seconds: post.seconds * scale,
        }) < lookAlpha(alpha),
    );
    return {
      notes: [],
      clearances: [],
      findings: [
        {
          kind: "uncertain",
          evidence: 0.5,
          reason: makeReason({
            metric: "requests_per_sec",
            rule: "inconclusive",
            baseline: reference.rate,
            observed: postRate,
            threshold: floor,
            exceed_ratio: share,
            tolerance: rule.tolerance,
            severity: "warning",
            test: "poisson_rate_ratio",
            statistic: Math.round(post.requests),
            p_value: pValue,
            needed: { baseline_observations: null, post_observations: needed },
            message:
              `requests_per_sec looks lower than the baseline (${formatValue("requests_per_sec", reference.rate)} → ${formatValue("requests_per_sec", postRate)}) ` +
              `but not beyond the baseline's own variation (exact Poisson rate test ${formatP(pValue)}, needs p < ${lookAlpha(alpha)}); ` +
              (needed === null
                ? ONLY_A_LARGER_BASELINE_DECIDES
                : `about ${needed} post samples would decide`),
          }),
        },
      ],
    };
  }
  return { notes: [], findings: [], clearances: [{ metric: "requests_per_sec", margin: -margin }] };
}

/**
 * The baseline was an error incident: its errors significantly over the limit (exact binomial
 * p < significance), so that one bursty baseline observation is not taken for one.
 */
export function baselineIncident(evidence: Evidence): boolean {
  const base = totals(errorSlots(evidence.baseline));
  const limit = errorLimit(evidence.settings);
  if (base.requests <= 0 || base.events / base.requests <= limit) return false;
  const pValue = binomialUpperTail(Math.round(base.events), Math.round(base.requests), limit);
  return pValue < evidence.settings.significance_level;
}

/** Requests, errors and seconds summed over the observations that have counts. */
export function pooledTotals(slots: readonly Slot[]): Totals {
  return totals(slots);
}

/** The pooled error rate of the observations with error counts, when they had requests. */
export function pooledErrorRate(slots: readonly Slot[]): number | null {
  const pooled = totals(errorSlots(slots));
  return pooled.requests > 0 ? pooled.events / pooled.requests : null;
}

export function errorLimit(settings: AnalysisSettings): number {
  return cleanProduct(settings.error_rate.limit * settings.safety_factor);
}

/** A count with thousands separators (1,843,221). */
export function countText(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function ratioText(ratio: number): string {
  return Number.isFinite(ratio) ? String(Math.round(ratio * 100) / 100) : "∞";
}
