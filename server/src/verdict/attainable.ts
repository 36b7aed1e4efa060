/**
 * What the best possible test could do at a given volume: the yardstick `pnpm bench:verdict` puts
 * beside the engine's figures. Pure arithmetic, no I/O.
 *
 * - Neyman-Pearson on a Poisson count whose null mean is known: the most powerful test of that
 *   size, so its power is an upper bound for every test (randomised ones included).
 * - The exact conditional binomial test of two Poisson counts with known exposures: the uniformly
 *   most powerful unbiased test when the common level is unknown (a reference, not a bound).
 * - A Monte Carlo calibration: the detection of any statistic at a false-alarm budget measured on
 *   healthy trials, with randomisation at ties so that the budget is used exactly.
 */
import { binomialLowerTail, binomialUpperTail, logGamma } from "./stats.js";

export type Direction = "greater" | "less";

export function poissonPmf(k: number, mean: number): number {
  if (!Number.isInteger(k) || k < 0) return 0;
  if (mean <= 0) return k === 0 ? 1 : 0;
  return Math.exp(k * Math.log(mean) - mean - logGamma(k + 1));
}

/** P(X ≥ k) for X ~ Poisson(mean), summed from k upwards (exact in the far tail too). */
export function poissonUpperTail(k: number, mean: number): number {
  if (k <= 0) return 1;
  if (mean <= 0) return 0;
  if (k < mean) return Math.max(0, 1 - poissonLowerTail(k - 1, mean));
  let term = poissonPmf(k, mean);
  let total = 0;
  for (let x = k; term > 0; x++) {
    total += term;
    if (term < total * 1e-17) break;
    term *= mean / (x + 1);
  }
  return Math.min(1, total);
}

/** P(X ≤ k) for X ~ Poisson(mean), summed from k downwards. */
export function poissonLowerTail(k: number, mean: number): number {
  if (k < 0) return 0;
  if (mean <= 0) return 1;
  if (k > mean) return Math.max(0, 1 - poissonUpperTail(k + 1, mean));
  let term = poissonPmf(k, mean);
  let total = 0;
  for (let x = k; x >= 0 && term > 0; x--) {
    total += term;
    if (term < total * 1e-17) break;
    term *= x / mean;
  }
  return Math.min(1, total);
}

export interface PoissonTest {
  /** Probability of rejecting under the alternative. */
  power: number;
  /** Rejects outright beyond this count (≥ for "greater", ≤ for "less")… */
  critical: number;
  /** …and with this probability at the count just inside it. */
  randomization: number;
}

/**
 * The most powerful test of size `alpha` of Poisson(mean0) against Poisson(ratio × mean0): reject
 * for large counts when ratio > 1 (small when < 1), randomised at the boundary count.
 */
export function neymanPearsonPoisson(mean0: number, ratio: number, alpha: number): PoissonTest {
  const mean1 = mean0 * ratio;
  if (ratio > 1) {
    let critical = Math.max(0, Math.floor(mean0));
    while (poissonUpperTail(critical, mean0) > alpha) critical++;
    while (critical > 0 && poissonUpperTail(critical - 1, mean0) <= alpha) critical--;
    const boundary = critical - 1;
    const mass = poissonPmf(boundary, mean0);
    const randomization = mass > 0 ? (alpha - poissonUpperTail(critical, mean0)) / mass : 0;
    const power = poissonUpperTail(critical, mean1) + randomization * poissonPmf(boundary, mean1);
    return { power: Math.min(1, power), critical, randomization };
  }
  let critical = Math.ceil(mean0);
  while (critical >= 0 && poissonLowerTail(critical, mean0) > alpha) critical--;
  while (poissonLowerTail(critical + 1, mean0) <= alpha) critical++;
  const boundary = critical + 1;
  const mass = poissonPmf(boundary, mean0);
  const randomization = mass > 0 ? (alpha - poissonLowerTail(critical, mean0)) / mass : 0;
  const power = poissonLowerTail(critical, mean1) + randomization * poissonPmf(boundary, mean1);
  return { power: Math.min(1, power), critical, randomization };
}

/**
 * Neyman-Pearson over a mixture of known null means (one per trial, e.g. each trial's exposure):
 * reject when the likelihood ratio passes one threshold common to all trials, randomised so that
 * the mean size over the trials is exactly `alpha`. The most powerful test whose false-alarm share
 * over these trials is `alpha`: it spends more of the budget where a trial has more information.
 */
export function pooledNeymanPearsonPoisson(
  means0: readonly number[],
  ratio: number,
  alpha: number,
): { power: number; size: number } {
  if (means0.length === 0 || ratio === 1) return { power: alpha, size: alpha };
  const logRatio = Math.log(ratio);
  // Rejecting count k of trial i: k log r − (r − 1) λᵢ > t.
  const evaluate = (t: number) => {
    let size = 0;
    let power = 0;
    for (const mean0 of means0) {
      const bound = (t + (ratio - 1) * mean0) / logRatio;
      if (ratio > 1) {
        const critical = Math.max(0, Math.floor(bound) + 1);
        size += poissonUpperTail(critical, mean0);
        power += poissonUpperTail(critical, mean0 * ratio);
      } else {
        const critical = Math.ceil(bound) - 1;
        size += poissonLowerTail(critical, mean0);
        power += poissonLowerTail(critical, mean0 * ratio);
      }
    }
    return { size: size / means0.length, power: power / means0.length };
  };
  // Size falls as t rises: bracket the threshold where it crosses alpha, then close in on the step.
  let low = -1;
  while (evaluate(low).size <= alpha && low > -1e12) low *= 2;
  let high = 1;
  while (evaluate(high).size > alpha && high < 1e12) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * Math.max(1, Math.abs(high)); i++) {
    const middle = (low + high) / 2;
    if (evaluate(middle).size > alpha) low = middle;
    else high = middle;
  }
  const above = evaluate(low);
  const below = evaluate(high);
  const step = above.size - below.size;
  const share = step > 0 ? (alpha - below.size) / step : 0;
  return {
    power: Math.min(1, below.power + share * (above.power - below.power)),
    size: below.size + share * step,
  };
}

/**
 * Power of the exact conditional binomial test (p < alpha) of two Poisson counts with known
 * exposures: baseline count ~ Poisson(rate × baseExposure), post count ~ Poisson(rate × ratio ×
 * postExposure); under the null the post count given the total is Binomial(total,
 * postExposure / (postExposure + baseExposure)). The test needs no knowledge of `rate`.
 */
export function conditionalBinomialPower(input: {
  rate: number;
  baseExposure: number;
  postExposure: number;
  ratio: number;
  direction: Direction;
  alpha: number;
}): number {
  const { rate, baseExposure, postExposure, ratio, direction, alpha } = input;
  const baseMean = rate * baseExposure;
  const postMean = rate * ratio * postExposure;
  const share = postExposure / (postExposure + baseExposure);
  const range = (mean: number) => {
    const spread = 12 * Math.sqrt(mean) + 30;
    return { from: Math.max(0, Math.floor(mean - spread)), to: Math.ceil(mean + spread) };
  };
  const base = range(baseMean);
  const post = range(postMean);
  const critical = new Map<number, number>();
  // The largest post count rejected ("less") or the smallest ("greater") for a total.
  const criticalFor = (total: number) => {
    const known = critical.get(total);
    if (known !== undefined) return known;
    let low = -1;
    let high = total + 1;
    if (direction === "less") {
      // binomialLowerTail rises with k: find the largest k with tail < alpha.
      while (high - low > 1) {
        const k = Math.floor((low + high) / 2);
        if (binomialLowerTail(k, total, share) < alpha) low = k;
        else high = k;
      }
      critical.set(total, low);
      return low;
    }
    // binomialUpperTail falls with k: find the smallest k with tail < alpha.
    while (high - low > 1) {
      const k = Math.floor((low + high) / 2);
      if (binomialUpperTail(k, total, share) < alpha) high = k;
      else low = k;
    }
    critical.set(total, high);
    return high;
  };
  let power = 0;
  for (let x = base.from; x <= base.to; x++) {
    const baseMass = poissonPmf(x, baseMean);
    if (baseMass < 1e-300) continue;
    for (let y = post.from; y <= post.to; y++) {
      if (x + y === 0) continue;
      const limit = criticalFor(x + y);
      const rejected = direction === "less" ? y <= limit : y >= limit;
      if (rejected) power += baseMass * poissonPmf(y, postMean);
    }
  }
  return Math.min(1, power);
}

/**
 * Detection of a statistic (higher is more alarming) at a false-alarm budget measured on healthy
 * trials: the threshold where at most `budget` of the healthy values lie above it, randomised at
 * a tie so that exactly `budget` of them would be flagged.
 */
export function calibratedDetection(
  healthy: readonly number[],
  faulty: readonly number[],
  budget: number,
): { detection: number; threshold: number; falseAlarms: number } {
  if (healthy.length === 0 || faulty.length === 0)
    return { detection: 0, threshold: Infinity, falseAlarms: 0 };
  const sorted = [...healthy].sort((a, b) => b - a);
  const allowed = budget * sorted.length;
  // The threshold: the healthy value at which the flagged count would pass the budget.
  const index = Math.min(sorted.length - 1, Math.floor(allowed));
  const threshold = sorted[index] as number;
  const over = sorted.filter((value) => value > threshold).length;
  const ties = sorted.filter((value) => value === threshold).length;
  const share = Math.max(0, Math.min(1, (allowed - over) / ties));
  const faultOver = faulty.filter((value) => value > threshold).length;
  const faultTies = faulty.filter((value) => value === threshold).length;
  return {
    detection: (faultOver + share * faultTies) / faulty.length,
    threshold,
    falseAlarms: (over + share * ties) / sorted.length,
  };
}

/** One trial of a discrete test: the null probability of a result more extreme than the one seen, and of as extreme. */
export interface DiscreteTail {
  /** P(more extreme than observed) under the null, e.g. P(Y < y) for a test of fewer. */
  beyond: number;
  /** P(at least as extreme as observed), e.g. P(Y ≤ y): the usual p-value. */
  atOrBeyond: number;
}

/** The randomised test at nominal level a: reject when the p-value ≤ a, and at the boundary in part. */
function randomizedRejection(trial: DiscreteTail, level: number): number {
  if (trial.atOrBeyond <= level) return 1;
  if (trial.beyond >= level) return 0;
  return (level - trial.beyond) / (trial.atOrBeyond - trial.beyond);
}

/**
 * A discrete exact test (e.g. the conditional binomial) made exactly of size `budget` on the
 * healthy trials: randomised at the boundary count (so that under a pure null its size is the
 * nominal level) and with the nominal level set so that the healthy trials' mean rejection is the
 * budget. Smoother than a quantile of p-values: the calibration averages rejection probabilities.
 */
export function calibratedRandomizedTest(
  healthy: readonly DiscreteTail[],
  faulty: readonly DiscreteTail[],
  budget: number,
  /** A level the test never exceeds (its exact size under a pure null), whatever the healthy trials allow. */
  maxLevel = 1,
): { detection: number; level: number; falseAlarms: number } {
  const mean = (trials: readonly DiscreteTail[], level: number) =>
    trials.reduce((sum, trial) => sum + randomizedRejection(trial, level), 0) / Math.max(1, trials.length);
  let low = 0;
  let high = 1;
  if (mean(healthy, maxLevel) <= budget) low = high = maxLevel;
  for (let i = 0; i < 100 && high > low; i++) {
    const middle = (low + high) / 2;
    if (mean(healthy, middle) > budget) high = middle;
    else low = middle;
  }
  return { detection: mean(faulty, low), level: low, falseAlarms: mean(healthy, low) };
}

/**
 * Log likelihood ratio of a shift `shift` in independent Gaussian values with known means and
 * variances (the most powerful statistic for that shift under the Gaussian model).
 */
export function gaussianShiftLogRatio(
  values: readonly number[],
  means: readonly number[],
  variances: readonly number[],
  shift: number,
): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const variance = variances[i] as number;
    if (!(variance > 0)) continue;
    total +=
      (shift * ((values[i] as number) - (means[i] as number))) / variance - (shift * shift) / (2 * variance);
  }
  return total;
}

/**
 * The smallest null mean (expected count) at which the Neyman-Pearson test reaches `target` power:
 * the least volume any test needs, however it is built, when the baseline rate is known exactly.
 */
export function neymanPearsonMeanNeeded(ratio: number, alpha: number, target: number): number {
  let high = 0.5;
  while (neymanPearsonPoisson(high, ratio, alpha).power < target && high < 1e9) high *= 1.25;
  let low = high / 1.25;
  for (let i = 0; i < 60; i++) {
    const middle = (low + high) / 2;
    if (neymanPearsonPoisson(middle, ratio, alpha).power >= target) high = middle;
    else low = middle;
  }
  return high;
}

/** The first candidate (in the order given) for which `meets` holds, or null. */
export function firstMeeting<T>(candidates: readonly T[], meets: (candidate: T) => boolean): T | null {
  for (const candidate of candidates) if (meets(candidate)) return candidate;
  return null;
}
