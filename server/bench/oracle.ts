/**
 * The "attainable" figures of `pnpm bench:verdict`: how often a test that knows the simulation's
 * generative model (server/src/verdict/simulation.ts) would catch a fault when it may raise false
 * alarms on the matching healthy service as often as the healthy target allows. Each figure is
 * one of:
 *
 * - `bound` — errors: Neyman-Pearson on the post window's error count given each tick's expected
 *   errors (requests × baseline rate × the tick's burst factor, all known to the oracle), with one
 *   likelihood-ratio threshold over the trials. Given those, the errors are Poisson with that mean
 *   times the fault's factor, and every observation the engine gets is a function of the ticks, so
 *   no test on the engine's input, in any baseline or counts mode, can do better.
 * - `umpu` — traffic: the exact conditional binomial test of the post requests against the
 *   baseline's, with their exposures, on what the engine gets (counts, or the rolling last minute
 *   without counts), randomised at the boundary, at the budget as its nominal level (its exact
 *   size for Poisson counts), lowered where the healthy trials would flag more than the budget. The baseline's level is unknown to it, as it is to the engine against one
 *   sample: the uniformly most powerful unbiased test for Poisson counts. A strong reference
 *   (a bound among unbiased tests in the pure Poisson model; the simulation adds mild burstiness).
 * - `reference` — latency: the Gaussian likelihood ratio of a ×factor shift of every post sample's
 *   log p95, each standardised by the model's own mean and variance for the requests behind it,
 *   calibrated by Monte Carlo on healthy trials. A strong statistic, not a proven bound.
 */
import {
  calibratedDetection,
  calibratedRandomizedTest,
  conditionalBinomialPower,
  type DiscreteTail,
  firstMeeting,
  gaussianShiftLogRatio,
  neymanPearsonMeanNeeded,
  pooledNeymanPearsonPoisson,
} from "../src/verdict/attainable.js";
import type { Observation } from "../src/verdict/engine.js";
import {
  type Fault,
  type GeneratedTrial,
  generateTrial,
  mulberry32,
  PROFILES,
  type ProfileName,
  percentile95,
  type Scenario,
  TICK_SECONDS,
  type TrialOverrides,
} from "../src/verdict/simulation.js";
import { binomialLowerTail } from "../src/verdict/stats.js";

export type OracleKind = "bound" | "umpu" | "reference";

export interface Attainable {
  kind: OracleKind;
  /** Share of fault trials the oracle flags. */
  detection: number;
  /** Share of healthy trials it flags (the budget, used exactly). */
  falseAlarms: number;
}

/** p95 values from fewer requests are no data to the engine (MIN_REQUESTS_FOR_PERCENTILE). */
export const ENGINE_MIN_REQUESTS_FOR_PERCENTILE = 20;

const ERROR_FACTOR: Partial<Record<Fault, number>> = { errors_x2: 2, errors_x5: 5 };
const TRAFFIC_FACTOR: Partial<Record<Fault, number>> = { "traffic_-30%": 0.7, "traffic_-60%": 0.4 };
const LATENCY_FACTOR: Partial<Record<Fault, number>> = {
  "latency_x1.3": 1.3,
  "latency_x1.6": 1.6,
  latency_x3: 3,
};
const ROLLING_SECONDS = 60;

export interface OracleOptions {
  trials: number;
  seed: number;
  overrides?: TrialOverrides;
  /** Latency only: ignore p95 values from fewer requests (the engine's rule), or use every one. */
  minRequestsForPercentile?: number;
}

/** The oracle's detection of the scenario's fault at a false-alarm budget, or null for a fault it does not model. */
export function attainable(scenario: Scenario, budget: number, options: OracleOptions): Attainable | null {
  const errorFactor = ERROR_FACTOR[scenario.fault];
  if (errorFactor !== undefined) {
    const trials = trialsOf(scenario, options);
    const means = trials.map((trial) => postTicks(trial).reduce((sum, tick) => sum + tick.errorExposure, 0));
    const result = pooledNeymanPearsonPoisson(means, errorFactor, budget);
    return { kind: "bound", detection: result.power, falseAlarms: result.size };
  }
  const trafficFactor = TRAFFIC_FACTOR[scenario.fault];
  if (trafficFactor !== undefined) {
    const tail = (trial: GeneratedTrial) => trafficTail(trial, scenario.counts);
    const healthy = trialsOf({ ...scenario, fault: "healthy" }, options).map(tail);
    const faulty = trialsOf(scenario, options).map(tail);
    // Nominal level = the budget (its exact size for Poisson counts), lowered where the healthy
    // trials' burstiness would make it flag more: no noisy quantile of rare healthy p-values.
    const result = calibratedRandomizedTest(healthy, faulty, budget, budget);
    return { kind: "umpu", detection: result.detection, falseAlarms: result.falseAlarms };
  }
  const latencyFactor = LATENCY_FACTOR[scenario.fault];
  if (latencyFactor !== undefined) {
    const minimum = options.minRequestsForPercentile ?? 1;
    const statistic = (trial: GeneratedTrial) =>
      latencyLogRatio(scenario.profile, trial, Math.log(latencyFactor), minimum);
    const healthy = trialsOf({ ...scenario, fault: "healthy" }, options).map(statistic);
    const faulty = trialsOf(scenario, options).map(statistic);
    const result = calibratedDetection(healthy, faulty, budget);
    return { kind: "reference", detection: result.detection, falseAlarms: result.falseAlarms };
  }
  return null;
}

const trialCache = new Map<string, GeneratedTrial[]>();

/** Generated trials of a scenario, cached: the oracles of one row share them. */
function trialsOf(scenario: Scenario, options: OracleOptions): GeneratedTrial[] {
  const key = JSON.stringify([scenario, options.trials, options.seed, options.overrides ?? {}]);
  const cached = trialCache.get(key);
  if (cached) return cached;
  const random = mulberry32(hash(`oracle:${key}`));
  const trials = Array.from({ length: options.trials }, () =>
    generateTrial(scenario, random, options.overrides),
  );
  // Only the latest few scenarios are kept: the what-if scans generate many.
  if (trialCache.size > 8) trialCache.delete(trialCache.keys().next().value as string);
  trialCache.set(key, trials);
  return trials;
}

function postTicks(trial: GeneratedTrial) {
  return trial.ticks.filter((tick) => tick.start >= trial.finish && tick.start < trial.postEnd);
}

/** Requests over an observation's span as the engine gets them: counted, or the rolling last minute. */
function requestWindow(observation: Observation, counts: boolean) {
  if (counts) {
    return { start: observation.start, end: observation.end, requests: observation.requests ?? 0 };
  }
  const rate = observation.metrics.requests_per_sec ?? 0;
  return {
    start: observation.end - ROLLING_SECONDS * 1000,
    end: observation.end,
    requests: Math.round(rate * ROLLING_SECONDS),
  };
}

/** The latest observations whose spans do not overlap (history buckets and the sample at trigger do). */
function disjointTotals(observations: readonly Observation[], counts: boolean) {
  const windows = observations
    .map((observation) => requestWindow(observation, counts))
    .sort((a, b) => b.end - a.end);
  let requests = 0;
  let seconds = 0;
  let earliest = Number.POSITIVE_INFINITY;
  for (const window of windows) {
    if (window.end > earliest) continue;
    requests += window.requests;
    seconds += (window.end - window.start) / 1000;
    earliest = window.start;
  }
  return { requests, seconds };
}

/**
 * The exact conditional binomial test of fewer post requests than the baseline's rate predicts:
 * given the total, the post count is Binomial(total, post exposure / both exposures).
 */
function trafficTail(trial: GeneratedTrial, counts: boolean): DiscreteTail {
  const base = disjointTotals(trial.input.baseline, counts);
  const post = disjointTotals(trial.input.post, counts);
  const total = base.requests + post.requests;
  if (base.seconds <= 0 || post.seconds <= 0 || total === 0) return { beyond: 1, atOrBeyond: 1 };
  const share = post.seconds / (post.seconds + base.seconds);
  return {
    beyond: binomialLowerTail(post.requests - 1, total, share),
    atOrBeyond: binomialLowerTail(post.requests, total, share),
  };
}

/** Σ over usable post samples of the Gaussian log-likelihood ratio of a shift of their log p95. */
function latencyLogRatio(
  profile: ProfileName,
  trial: GeneratedTrial,
  shift: number,
  minimum: number,
): number {
  const values: number[] = [];
  const means: number[] = [];
  const variances: number[] = [];
  const tickMs = TICK_SECONDS * 1000;
  const first = trial.ticks[0]?.start ?? 0;
  const tickAt = (time: number) => Math.floor((time - first) / tickMs);
  for (const observation of trial.input.post) {
    const p95 = observation.metrics.latency_p95;
    const span = trial.ticks.slice(tickAt(observation.start), tickAt(observation.end));
    const requests = span.reduce((sum, tick) => sum + tick.requests, 0);
    if (typeof p95 !== "number" || !(p95 > 0) || requests < minimum) continue;
    const moments = logP95Moments(
      profile,
      requests,
      Math.max(1, Math.round((observation.end - observation.start) / tickMs)),
    );
    values.push(Math.log(p95));
    means.push(moments.mean);
    variances.push(moments.variance);
  }
  return gaussianShiftLogRatio(values, means, variances, shift);
}

const MOMENT_DRAWS = 4000;
/** The simulation computes a p95 from each request below this many requests, from the population above. */
const PER_REQUEST_BELOW = 200;
const momentCache = new Map<string, { mean: number; variance: number }>();

/**
 * Mean and variance of a healthy sample's log p95 from `requests` requests over `ticks` ticks,
 * by Monte Carlo through the simulation's own p95 function (a fixed seed per cell).
 */
export function logP95Moments(profile: ProfileName, requests: number, ticks: number) {
  const large = requests >= PER_REQUEST_BELOW;
  const key = `${profile}:${large ? "large" : requests}:${ticks}`;
  let moments = momentCache.get(key);
  if (!moments) {
    const { latencyP95, latencyNoise } = PROFILES[profile];
    const random = mulberry32(hash(`moments:${key}`));
    const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    let sum = 0;
    let squares = 0;
    for (let draw = 0; draw < MOMENT_DRAWS; draw++) {
      const counts = new Array<number>(ticks).fill(0);
      if (large) {
        for (let i = 0; i < ticks; i++) counts[i] = PER_REQUEST_BELOW * 10;
      } else {
        for (let i = 0; i < requests; i++) {
          const slot = Math.floor(random() * ticks);
          counts[slot] = (counts[slot] ?? 0) + 1;
        }
      }
      const span = counts.map((count) => ({
        requests: count,
        latencyFactor: Math.exp(latencyNoise * gauss()),
      }));
      // Above the per-request branch only the ticks' factors vary here; the sampling noise of the
      // p95 (1.27 / √requests in the log) is added below for the actual count.
      const value = large
        ? Math.log(
            (latencyP95 * span.reduce((total, tick) => total + tick.latencyFactor * tick.requests, 0)) /
              span.reduce((total, tick) => total + tick.requests, 0),
          )
        : Math.log(percentile95(span, latencyP95, random));
      sum += value;
      squares += value * value;
    }
    const mean = sum / MOMENT_DRAWS;
    moments = { mean, variance: Math.max(1e-12, squares / MOMENT_DRAWS - mean * mean) };
    momentCache.set(key, moments);
  }
  return large ? { mean: moments.mean, variance: moments.variance + 1.27 ** 2 / requests } : moments;
}

export interface VolumeNeeded {
  target: string;
  /** Plain words for the table. */
  needed: string;
  kind: OracleKind;
}

/**
 * What would have made each low-traffic target attainable at its false-alarm budget: errors and
 * traffic in closed form on the simulation's rates, latency by the Monte Carlo oracle over longer
 * sample intervals and windows.
 */
export function volumesNeeded(
  profile: ProfileName,
  options: { trials: number; seed: number; rollbackBudget: number; warningBudget: number },
): VolumeNeeded[] {
  const { rps, errorRate } = PROFILES[profile];
  const rows: VolumeNeeded[] = [];
  const minutes = (seconds: number) => `${Math.round(seconds / 60)} min`;
  const count = (value: number) => String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

  // Errors × 5, rollback: the mean error rate per request with bursts is errorRate × E[burst].
  const sample = trialsOf({ profile, fault: "healthy", baseline: "single", counts: true }, options);
  const ticks = sample.flatMap(postTicks);
  const perRequest =
    ticks.reduce((sum, tick) => sum + tick.errorExposure, 0) /
    Math.max(
      1,
      ticks.reduce((sum, tick) => sum + tick.requests, 0),
    );
  const rate = perRequest > 0 ? perRequest : errorRate;
  const errorMean = neymanPearsonMeanNeeded(5, options.rollbackBudget, 0.99);
  const errorRequests = errorMean / rate;
  rows.push({
    target: "errors × 5: rollback ≥ 99 %",
    kind: "bound",
    needed:
      `≥ ${count(errorRequests)} post requests (${errorMean.toFixed(1)} errors expected at the baseline rate), ` +
      `a ${minutes(errorRequests / rps)} window at ${rps} rps, with the baseline rate known exactly`,
  });
  const postCandidates = [15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720].map((m) => m * 60);
  for (const baseMinutes of [30, 120, 480]) {
    const baseRequests = rps * baseMinutes * 60;
    const post = firstMeeting(
      postCandidates.map((seconds) => seconds * rps),
      (postRequests) =>
        conditionalBinomialPower({
          rate,
          baseExposure: baseRequests,
          postExposure: postRequests,
          ratio: 5,
          direction: "greater",
          alpha: options.rollbackBudget,
        }) >= 0.99,
    );
    rows.push({
      target: "errors × 5: rollback ≥ 99 %",
      kind: "umpu",
      needed:
        `with the rate estimated from a ${minutes(baseMinutes * 60)} baseline (${count(baseRequests)} requests): ` +
        (post === null
          ? `no post window up to ${minutes(postCandidates.at(-1) as number)} is enough`
          : `≥ ${count(post)} post requests, a ${minutes(post / rps)} window`),
    });
  }

  // Traffic − 60 % against one baseline sample: how long that sample must be.
  for (const window of [300, 600]) {
    const baseSeconds = firstMeeting(
      Array.from({ length: 240 }, (_, i) => (i + 1) * 15),
      (seconds) =>
        conditionalBinomialPower({
          rate: rps,
          baseExposure: seconds,
          postExposure: window,
          ratio: 0.4,
          direction: "less",
          alpha: options.rollbackBudget,
        }) >= 0.99,
    );
    rows.push({
      target: "traffic − 60 %, single baseline: rollback ≥ 99 %",
      kind: "umpu",
      needed:
        baseSeconds === null
          ? `no baseline sample up to 1 hour is enough for a ${minutes(window)} window`
          : `a baseline sample of ≥ ${baseSeconds} s (${count(baseSeconds * rps)} requests) for a ${minutes(window)} window ` +
            "(or a history baseline)",
    });
  }

  // Latency × 1.6 with a history baseline, p95 only from ≥ 20 requests (the engine's rule).
  const scenario: Scenario = { profile, fault: "latency_x1.6", baseline: "history", counts: true };
  for (const interval of [60, 90, 120]) {
    const samples = firstMeeting([3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40], (count) => {
      const result = attainable(scenario, options.warningBudget, {
        trials: options.trials,
        seed: options.seed,
        overrides: { interval, window: count * interval },
        minRequestsForPercentile: ENGINE_MIN_REQUESTS_FOR_PERCENTILE,
      });
      return (result?.detection ?? 0) >= 0.95;
    });
    rows.push({
      target: "latency × 1.6, history baseline: detected ≥ 95 %",
      kind: "reference",
      needed:
        `samples every ${interval} s (${count(interval * rps)} requests each, p95 kept from ≥ 20): ` +
        (samples === null
          ? "no window up to 40 samples is enough"
          : `${samples} post samples, a ${minutes(samples * interval)} window`),
    });
  }
  return rows;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
