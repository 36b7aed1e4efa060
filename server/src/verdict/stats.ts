/**
 * The statistics the verdict engine uses: exact tests on counts, rank tests, robust effect sizes
 * and trends. Pure functions of plain arrays; every p-value is one-sided.
 */
import { median } from "@seqpulse/types";

/** `greater`: the first sample (post) is larger than the second (baseline); `less`: smaller. */
export type Alternative = "greater" | "less";

/** The normal distribution's P(Z ≤ z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** The normal distribution's P(Z ≥ z), accurate far into the tail. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function (W. J. Cody's rational approximations, relative error below 1e-14). */
function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const y = Math.abs(x);
  let result: number;
  if (y < 0.5) {
    const z = y * y;
    const num =
      (((0.18577770618460315 * z + 3.1611237438705655) * z + 113.86415415105016) * z + 377.485237685302) * z +
      3209.3775891384694;
    const den =
      (((z + 23.601290952344122) * z + 244.02463793444417) * z + 1282.6165260773723) * z + 2844.236833439171;
    const erf = (y * num) / den;
    return x < 0 ? 1 + erf : 1 - erf;
  }
  if (y < 4) {
    const num =
      (((((((2.1531153547440383e-8 * y + 0.5641884969886701) * y + 8.883149794388377) * y +
        66.11919063714163) *
        y +
        298.6351381974001) *
        y +
        881.952221241769) *
        y +
        1712.0476126340707) *
        y +
        2051.0783778260716) *
        y +
      1230.3393547979972;
    const den =
      (((((((y + 15.744926110709835) * y + 117.6939508913125) * y + 537.1811018620099) * y +
        1621.3895745666903) *
        y +
        3290.7992357334597) *
        y +
        4362.619090143247) *
        y +
        3439.3676741437216) *
        y +
      1230.3393548037495;
    result = (num / den) * expNegSquare(y);
  } else if (y < 27) {
    const z = 1 / (y * y);
    const num =
      ((((0.016315387137302097 * z + 0.30532663496123236) * z + 0.36034489994980445) * z +
        0.12578172611122926) *
        z +
        0.016083785148742275) *
        z +
      0.0006587491615298378;
    const den =
      ((((z + 2.568520192289822) * z + 1.8729528499234673) * z + 0.5279051029514285) * z +
        0.06051834131244132) *
        z +
      0.0023352049762686918;
    result = ((0.5641895835477563 - (z * num) / den) / y) * expNegSquare(y);
  } else {
    result = 0;
  }
  return x < 0 ? 2 - result : result;
}

/** exp(-y²) without the cancellation of squaring a large y directly. */
function expNegSquare(y: number): number {
  const rounded = Math.trunc(y * 16) / 16;
  const rest = (y - rounded) * (y + rounded);
  return Math.exp(-rounded * rounded) * Math.exp(-rest);
}

/** The normal quantile function (Acklam's algorithm refined by one Halley step). */
export function normalQuantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const [a0, a1, a2, a3, a4, a5] = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const [b0, b1, b2, b3, b4] = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const [c0, c1, c2, c3, c4, c5] = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const [d0, d1, d2, d3] = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  const low = 0.02425;
  let x: number;
  if (p < low) {
    x = tail(Math.sqrt(-2 * Math.log(p)));
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
      (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    x = -tail(Math.sqrt(-2 * Math.log(1 - p)));
  }
  const error = normalCdf(x) - p;
  const u = error * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const coefficients = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
    12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  const shifted = x - 1;
  let sum = coefficients[0] as number;
  for (let i = 1; i < coefficients.length; i++) sum += (coefficients[i] as number) / (shifted + i);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The regularized incomplete beta function I_x(a, b), by Lentz's continued fraction. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  // The fraction converges quickly on the side of the mean; the other side follows by symmetry.
  if (x > (a + 1) / (a + b + 2)) return 1 - regularizedIncompleteBeta(1 - x, b, a);
  return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    const even = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + even * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + even / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + odd * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + odd / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return clampProbability(regularizedIncompleteBeta(p, k, n - k + 1));
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialLowerTail(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  return clampProbability(regularizedIncompleteBeta(1 - p, n - k, k + 1));
}

export interface Counts {
  /** Events (errors, requests), rounded to a whole number. */
  events: number;
  /** What the events happened over (requests for errors, seconds for requests); positive. */
  exposure: number;
}

/**
 * Exact conditional test of two Poisson rates: given the total, the post events are binomial with
 * p = r·E_post / (r·E_post + E_base) under H0 (post rate = r × baseline rate). One-sided p-value
 * for `greater` (post rate above r × baseline) or `less` (below).
 */
export function poissonRateRatioTest(
  post: Counts,
  base: Counts,
  alternative: Alternative,
  ratio = 1,
): number {
  const postEvents = Math.round(post.events);
  const total = postEvents + Math.round(base.events);
  if (total === 0 || post.exposure <= 0 || base.exposure <= 0) return 1;
  const weighted = ratio * post.exposure;
  const p = weighted / (weighted + base.exposure);
  return alternative === "greater"
    ? binomialUpperTail(postEvents, total, p)
    : binomialLowerTail(postEvents, total, p);
}

export interface RankTest {
  /** U of the first sample: pairs where it is larger, ties counting one half. */
  u: number;
  pValue: number;
  method: "exact" | "asymptotic";
}

/** Largest combined size for the exact Mann-Whitney distribution (its counts stay exact in doubles). */
const MAX_EXACT_MANN_WHITNEY = 50;

/**
 * Mann-Whitney U test of `sample` against `reference`. Exact without ties and up to 50 values in
 * all; otherwise the normal approximation with tie and continuity correction (as scipy's
 * `mannwhitneyu(sample, reference, alternative, method="asymptotic")`).
 */
export function mannWhitneyU(
  sample: readonly number[],
  reference: readonly number[],
  alternative: Alternative,
): RankTest {
  const m = sample.length;
  const n = reference.length;
  if (m === 0 || n === 0) return { u: 0, pValue: 1, method: "exact" };
  const { ranks, tieTerm } = rank([...sample, ...reference]);
  let rankSum = 0;
  for (let i = 0; i < m; i++) rankSum += ranks[i] as number;
  const u = rankSum - (m * (m + 1)) / 2;
  const total = m + n;
  if (tieTerm === 0 && total <= MAX_EXACT_MANN_WHITNEY) {
    const frequencies = uFrequencies(m, n);
    const all = frequencies.reduce((sum, f) => sum + f, 0);
    let tail = 0;
    if (alternative === "greater")
      for (let v = Math.ceil(u); v < frequencies.length; v++) tail += frequencies[v] as number;
    else for (let v = 0; v <= Math.floor(u); v++) tail += frequencies[v] as number;
    return { u, pValue: clampProbability(tail / all), method: "exact" };
  }
  const mean = (m * n) / 2;
  const variance = ((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  if (variance <= 0) return { u, pValue: 1, method: "asymptotic" };
  const sd = Math.sqrt(variance);
  const pValue =
    alternative === "greater" ? normalUpperTail((u - mean - 0.5) / sd) : normalCdf((u - mean + 0.5) / sd);
  return { u, pValue: clampProbability(pValue), method: "asymptotic" };
}

/**
 * How many arrangements give each U for samples of sizes m and n: the coefficients of the Gaussian
 * binomial [m+n choose m]_q, built as the product of (1 − q^(n+j)) / (1 − q^j) for j = 1..m.
 */
function uFrequencies(m: number, n: number): number[] {
  const key = `${Math.min(m, n)}:${Math.max(m, n)}`;
  const cached = U_FREQUENCIES.get(key);
  if (cached) return cached;
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  const poly = new Array<number>(small * large + small + 1).fill(0);
  poly[0] = 1;
  let degree = 0;
  for (let j = 1; j <= small; j++) {
    const shift = large + j;
    for (let d = degree; d >= 0; d--) (poly[d + shift] as number) -= poly[d] as number;
    degree += shift;
    for (let d = j; d <= degree; d++) (poly[d] as number) += poly[d - j] as number;
    degree -= j;
  }
  const frequencies = poly.slice(0, small * large + 1);
  U_FREQUENCIES.set(key, frequencies);
  return frequencies;
}
const U_FREQUENCIES = new Map<string, number[]>();

/** Average ranks (1-based) and the tie term Σ(t³ − t) over groups of equal values. */
function rank(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]?.value === order[start]?.value) end++;
    const average = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) ranks[(order[i] as { index: number }).index] = average;
    const t = end - start + 1;
    tieTerm += t * t * t - t;
    start = end + 1;
  }
  return { ranks, tieTerm };
}

export interface ShiftEstimate {
  /** Hodges-Lehmann estimate: the median of all differences sample − reference. */
  shift: number;
  /** Distribution-free confidence interval of the shift (normal approximation of U's quantiles). */
  lower: number;
  upper: number;
}

/** Hodges-Lehmann shift of `sample` over `reference`, with a two-sided `confidence` interval. */
export function hodgesLehmann(
  sample: readonly number[],
  reference: readonly number[],
  confidence = 0.9,
): ShiftEstimate {
  const m = sample.length;
  const n = reference.length;
  const differences = new Float64Array(m * n);
  let next = 0;
  for (const s of sample) for (const r of reference) differences[next++] = finite(s - r);
  differences.sort();
  const shift = middleOfSorted(differences);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const k = Math.floor((m * n) / 2 - z * Math.sqrt((m * n * (m + n + 1)) / 12));
  if (k < 0 || differences.length === 0) {
    return { shift, lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY };
  }
  return {
    shift,
    lower: differences[k] as number,
    upper: differences[differences.length - 1 - k] as number,
  };
}

export interface Line {
  slope: number;
  intercept: number;
}

/** Theil-Sen line: the median of pairwise slopes, intercept median(y) − slope × median(x) (as scipy's `theilslopes`). */
export function theilSen(x: readonly number[], y: readonly number[]): Line {
  const slopes = new Float64Array((x.length * (x.length - 1)) / 2);
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = (x[j] as number) - (x[i] as number);
      if (dx !== 0) slopes[count++] = finite(((y[j] as number) - (y[i] as number)) / dx);
    }
  }
  const slope = middleOfSorted(slopes.subarray(0, count).sort());
  const intercept = finite((median(y) ?? 0) - slope * (median(x) ?? 0));
  return { slope, intercept };
}

export interface TrendTest {
  /** Kendall's tau-b. */
  tau: number;
  /** Kendall's S: concordant minus discordant pairs. */
  s: number;
  pValue: number;
  method: "exact" | "asymptotic";
}

/** Largest series for the exact null distribution of S (counts of permutations by inversions). */
const MAX_EXACT_KENDALL = 50;

/**
 * Kendall rank correlation of y against x. Exact without ties up to 50 points (as scipy's
 * `kendalltau(x, y, alternative, method="exact")`); otherwise the normal approximation of S with
 * the tie-corrected variance and no continuity correction (scipy's `method="asymptotic"`).
 */
export function kendallTau(x: readonly number[], y: readonly number[], alternative: Alternative): TrendTest {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      s += Math.sign((x[j] as number) - (x[i] as number)) * Math.sign((y[j] as number) - (y[i] as number));
    }
  }
  const pairs = (n * (n - 1)) / 2;
  const xTies = tieGroups(x);
  const yTies = tieGroups(y);
  const xTied = sumOver(xTies, (t) => (t * (t - 1)) / 2);
  const yTied = sumOver(yTies, (t) => (t * (t - 1)) / 2);
  const denominator = Math.sqrt((pairs - xTied) * (pairs - yTied));
  const tau = denominator > 0 ? s / denominator : 0;
  if (n < 2 || denominator === 0) return { tau, s, pValue: 1, method: "exact" };

  if (xTied === 0 && yTied === 0 && n <= MAX_EXACT_KENDALL) {
    const discordant = (pairs - s) / 2;
    const counts = inversionCounts(n);
    const all = counts.reduce((sum, c) => sum + c, 0);
    let tail = 0;
    if (alternative === "greater") for (let k = 0; k <= discordant; k++) tail += counts[k] as number;
    else for (let k = discordant; k < counts.length; k++) tail += counts[k] as number;
    return { tau, s, pValue: clampProbability(tail / all), method: "exact" };
  }
  const variance =
    (n * (n - 1) * (2 * n + 5) -
      sumOver(xTies, (t) => t * (t - 1) * (2 * t + 5)) -
      sumOver(yTies, (t) => t * (t - 1) * (2 * t + 5))) /
      18 +
    (sumOver(xTies, (t) => t * (t - 1) * (t - 2)) * sumOver(yTies, (t) => t * (t - 1) * (t - 2))) /
      (9 * n * (n - 1) * (n - 2)) +
    (sumOver(xTies, (t) => t * (t - 1)) * sumOver(yTies, (t) => t * (t - 1))) / (2 * n * (n - 1));
  if (variance <= 0) return { tau, s, pValue: 1, method: "asymptotic" };
  const z = s / Math.sqrt(variance);
  const pValue = alternative === "greater" ? normalUpperTail(z) : normalCdf(z);
  return { tau, s, pValue: clampProbability(pValue), method: "asymptotic" };
}

/** Permutations of n items by number of inversions (Mahonian numbers), as doubles. */
function inversionCounts(n: number): number[] {
  const cached = INVERSION_COUNTS.get(n);
  if (cached) return cached;
  let counts = [1];
  for (let size = 2; size <= n; size++) {
    const next = new Array<number>(counts.length + size - 1).fill(0);
    let window = 0;
    for (let k = 0; k < next.length; k++) {
      window += counts[k] ?? 0;
      if (k - size >= 0) window -= counts[k - size] ?? 0;
      next[k] = window;
    }
    counts = next;
  }
  INVERSION_COUNTS.set(n, counts);
  return counts;
}
const INVERSION_COUNTS = new Map<number, number[]>();

function tieGroups(values: readonly number[]): number[] {
  const sizes = new Map<number, number>();
  for (const value of values) sizes.set(value, (sizes.get(value) ?? 0) + 1);
  return [...sizes.values()].filter((size) => size > 1);
}

function sumOver(groups: number[], term: (size: number) => number): number {
  return groups.reduce((sum, size) => sum + term(size), 0);
}

/**
 * Hodges-Lehmann location (pseudo-median): the median of all pairwise means (x_i + x_j) / 2, i ≤ j.
 * As robust to outliers as a median for practical purposes (29 % breakdown), but far less coarse
 * on small counts: the median of Poisson(21) buckets jumps by whole requests.
 */
export function pseudoMedian(values: readonly number[]): number {
  const n = values.length;
  const means = new Float64Array((n * (n + 1)) / 2);
  let next = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) means[next++] = (values[i] as number) / 2 + (values[j] as number) / 2;
  }
  return middleOfSorted(means.sort());
}

/**
 * The median of values already sorted (the shared `median` sorts its own copy); the middle two are
 * halved before adding so that extreme values stay finite.
 */
function middleOfSorted(sorted: Float64Array): number {
  if (sorted.length === 0) return 0;
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] as number;
  return sorted.length % 2 === 1 ? upper : (sorted[middle - 1] as number) / 2 + upper / 2;
}

/** Median absolute deviation from the median, scaled (×1.4826) to estimate a normal standard deviation. */
export function robustSpread(values: readonly number[]): number {
  const center = median(values);
  if (center === undefined) return 0;
  return 1.4826 * (median(values.map((value) => Math.abs(finite(value - center)))) ?? 0);
}

/** Keeps arithmetic on extreme values finite: ±Infinity becomes ±Number.MAX_VALUE, NaN becomes 0. */
export function finite(value: number): number {
  if (Number.isNaN(value)) return 0;
  if (value === Number.POSITIVE_INFINITY) return Number.MAX_VALUE;
  if (value === Number.NEGATIVE_INFINITY) return -Number.MAX_VALUE;
  return value;
}

function clampProbability(p: number): number {
  if (Number.isNaN(p)) return 1;
  return Math.min(1, Math.max(0, p));
}

/**
 * The edge of a monotone predicate between `from` (false) and `to` (true), to `steps` halvings:
 * the value nearest `from` for which it holds.
 */
export function bisect(from: number, to: number, holds: (value: number) => boolean, steps = 12): number {
  let miss = from;
  let hit = to;
  for (let step = 0; step < steps; step++) {
    const middle = (miss + hit) / 2;
    if (holds(middle)) hit = middle;
    else miss = middle;
  }
  return hit;
}

/**
 * The smallest factor (at least 1, at most `max`) by which a window must grow for `holds` to be
 * true and stay true, searched on a log scale; null when even `max` is not enough. Exact tests on
 * whole counts are not quite monotone in the window's length (a sawtooth of rounding), so a factor
 * found by bisection is checked a little above and the search goes on from any miss there.
 */
export function smallestScale(holds: (scale: number) => boolean, max: number): number | null {
  if (!holds(max)) return null;
  let from = 0;
  for (let round = 0; round < SCALE_ROUNDS; round++) {
    const found = from === 0 && holds(1) ? 0 : bisect(from, Math.log(max), (log) => holds(Math.exp(log)));
    const miss = SCALE_CHECKS.map((step) => Math.min(Math.log(max), found + step)).find(
      (log) => !holds(Math.exp(log)),
    );
    if (miss === undefined) return Math.exp(found);
    from = miss;
  }
  return max;
}

// Checked above a found factor: ×1.02 to ×1.5.
const SCALE_CHECKS = [0.02, 0.05, 0.1, 0.2, 0.4];
const SCALE_ROUNDS = 4;
