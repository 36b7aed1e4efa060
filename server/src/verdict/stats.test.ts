import { describe, expect, it } from "vitest";
import {
  binomialLowerTail,
  binomialUpperTail,
  bisect,
  finite,
  hodgesLehmann,
  kendallTau,
  logGamma,
  mannWhitneyU,
  normalCdf,
  normalQuantile,
  normalUpperTail,
  poissonRateRatioTest,
  pseudoMedian,
  regularizedIncompleteBeta,
  robustSpread,
  smallestScale,
  theilSen,
} from "./stats.js";

// Reference values computed with scipy 1.17 (scipy.stats / scipy.special), quoted in each case.

function expectClose(actual: number, expected: number, relative = 1e-9) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * relative + 1e-300);
}

describe("normal distribution", () => {
  it.each([
    ["norm.sf(1.96)", () => normalUpperTail(1.96), 0.024997895148220435],
    ["norm.sf(3)", () => normalUpperTail(3), 0.0013498980316300933],
    ["norm.sf(8)", () => normalUpperTail(8), 6.22096057427174e-16],
    ["norm.sf(10)", () => normalUpperTail(10), 7.61985302416047e-24],
    ["norm.cdf(-0.3)", () => normalCdf(-0.3), 0.3820885778110474],
    ["norm.ppf(0.975)", () => normalQuantile(0.975), 1.959963984540054],
    ["norm.ppf(0.95)", () => normalQuantile(0.95), 1.6448536269514722],
    ["norm.ppf(0.001)", () => normalQuantile(0.001), -3.090232306167813],
    ["norm.ppf(1e-10)", () => normalQuantile(1e-10), -6.361340902404056],
  ])("%s", (_, compute, expected) => {
    expectClose(compute(), expected, 1e-12);
  });

  it("has a median of 0 and infinite quantiles at 0 and 1", () => {
    expect(Math.abs(normalQuantile(0.5))).toBeLessThan(1e-15);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("gamma and beta functions", () => {
  it.each([
    [0.5, 0.5723649429247],
    [10, 12.801827480081469],
    [171.5, 709.1431630309283],
  ])("gammaln(%d)", (x, expected) => {
    expectClose(logGamma(x), expected, 1e-12);
  });

  it.each([
    [0.3, 2.5, 4.0, 0.3521975859067672],
    [0.9, 50, 3, 0.09663328513725222],
  ])("beta.cdf(%d, %d, %d)", (x, a, b, expected) => {
    expectClose(regularizedIncompleteBeta(x, a, b), expected, 1e-10);
  });
});

describe("binomial tails", () => {
  it.each([
    ["binom.sf(4, 20, 0.1) = P(X ≥ 5)", binomialUpperTail(5, 20, 0.1), 0.04317449528446339],
    ["binom.sf(0, 10, 0.3) = P(X ≥ 1)", binomialUpperTail(1, 10, 0.3), 0.9717524751],
    ["binom.sf(9, 10, 0.5) = P(X ≥ 10)", binomialUpperTail(10, 10, 0.5), 0.0009765625],
    ["binom.cdf(3, 50, 0.2) = P(X ≤ 3)", binomialLowerTail(3, 50, 0.2), 0.005656361012155322],
    ["binom.sf(50999, 100000, 0.5)", binomialUpperTail(51000, 100_000, 0.5), 1.2943580191734472e-10],
    // 1 error in 20 requests against a 0.9 % limit is no evidence; 2 in 10 is.
    ["binomtest(1, 20, 0.009, greater)", binomialUpperTail(1, 20, 0.009), 0.16541016721746044],
    ["binomtest(2, 10, 0.009, greater)", binomialUpperTail(2, 10, 0.009), 0.003474114463190841],
  ])("%s", (_, actual, expected) => {
    expectClose(actual, expected, 1e-9);
  });

  it.each([
    ["k ≤ 0", binomialUpperTail(0, 10, 0.5), 1],
    ["k > n", binomialUpperTail(11, 10, 0.5), 0],
    ["p = 0", binomialUpperTail(1, 10, 0), 0],
    ["p = 1", binomialUpperTail(10, 10, 1), 1],
    ["lower k < 0", binomialLowerTail(-1, 10, 0.5), 0],
    ["lower k ≥ n", binomialLowerTail(10, 10, 0.5), 1],
  ])("edge: %s", (_, actual, expected) => {
    expect(actual).toBe(expected);
  });
});

describe("exact Poisson rate ratio test", () => {
  it.each([
    // binomtest(10, 15, 1000/3000, alternative="greater"): 10 errors in 1,000 vs 5 in 2,000
    [
      "10/1000 vs 5/2000, greater",
      { events: 10, exposure: 1000 },
      { events: 5, exposure: 2000 },
      "greater",
      1,
      0.008504271440326429,
    ],
    // binomtest(144, 216, 0.5, alternative="greater"): doubled errors over equal exposure
    [
      "144 vs 72, greater",
      { events: 144, exposure: 1 },
      { events: 72, exposure: 1 },
      "greater",
      1,
      5.459961686629086e-7,
    ],
    // binomtest(30, 40, 0.6, alternative="greater"): tested against a minimum ratio of 1.5
    [
      "30 vs 10 against ratio 1.5",
      { events: 30, exposure: 1000 },
      { events: 10, exposure: 1000 },
      "greater",
      1.5,
      0.035222480114168786,
    ],
    // binomtest(40, 160, 0.5, alternative="less"): 40 requests against 120 in as many seconds
    [
      "40 vs 120, less",
      { events: 40, exposure: 600 },
      { events: 120, exposure: 600 },
      "less",
      1,
      8.762250094256762e-11,
    ],
  ] as const)("%s", (_, post, base, alternative, ratio, expected) => {
    expectClose(poissonRateRatioTest(post, base, alternative, ratio), expected, 1e-9);
  });

  it("gives no evidence without events or exposure", () => {
    expect(poissonRateRatioTest({ events: 0, exposure: 100 }, { events: 0, exposure: 100 }, "greater")).toBe(
      1,
    );
    expect(poissonRateRatioTest({ events: 5, exposure: 0 }, { events: 1, exposure: 100 }, "greater")).toBe(1);
    expect(poissonRateRatioTest({ events: 5, exposure: 100 }, { events: 1, exposure: 0 }, "greater")).toBe(1);
  });
});

describe("Mann-Whitney U", () => {
  it.each([
    // mannwhitneyu([3,5,7,9,11], [1,2,4,6], alternative="greater", method="exact")
    ["exact, greater", [3, 5, 7, 9, 11], [1, 2, 4, 6], "greater", 17, 0.05555555555555555, "exact"],
    // mannwhitneyu([19,22,16,29,24], [20,11,17,12], "greater", method="exact"): the textbook example
    ["exact, textbook", [19, 22, 16, 29, 24], [20, 11, 17, 12], "greater", 17, 0.05555555555555555, "exact"],
    ["exact, less", [1, 2, 3], [4, 5, 6, 7], "less", 0, 0.02857142857142857, "exact"],
    // one baseline point: the exact p-value cannot fall below 1 / (n + 1)
    ["exact, single baseline", [5], [1, 2, 3, 4, 6, 7, 8, 9, 10], "greater", 4, 0.6, "exact"],
    // mannwhitneyu(x, y, "greater", method="asymptotic") with ties
    [
      "asymptotic with ties",
      [1.1, 2.2, 2.2, 3.3, 4.4, 5.5],
      [0.5, 2.2, 1.0, 3.3, 0.7],
      "greater",
      24.5,
      0.04823990175447919,
      "asymptotic",
    ],
  ] as const)("%s", (_, sample, reference, alternative, u, p, method) => {
    const result = mannWhitneyU(sample, reference, alternative);
    expect(result.u).toBe(u);
    expect(result.method).toBe(method);
    expectClose(result.pValue, p, 1e-12);
  });

  it("uses the normal approximation beyond 50 values (scipy asymptotic 0.004735082692268815)", () => {
    const sample = [1.5, 2.5, 3.5, ...Array.from({ length: 27 }, (_, i) => i + 8)];
    const reference = Array.from({ length: 24 }, (_, i) => i + 1);
    const result = mannWhitneyU(sample, reference, "greater");
    expect(result).toMatchObject({ u: 509.5, method: "asymptotic" });
    expectClose(result.pValue, 0.004735082692268815, 1e-12);
  });

  it("gives p = 1 for an empty sample or all-equal values", () => {
    expect(mannWhitneyU([], [1, 2], "greater").pValue).toBe(1);
    expect(mannWhitneyU([3, 3, 3], [3, 3, 3], "greater").pValue).toBe(1);
  });
});

describe("Hodges-Lehmann shift", () => {
  it("is the median of pairwise differences, with a distribution-free interval", () => {
    // numpy.median of the 20 differences of [3,5,7,9,11] − [1,2,4,6]
    expect(hodgesLehmann([3, 5, 7, 9, 11], [1, 2, 4, 6], 0.9)).toEqual({ shift: 3.5, lower: 1, upper: 7 });
  });

  it("has an unbounded interval when the samples are too small for it", () => {
    const estimate = hodgesLehmann([5], [1], 0.9);
    expect(estimate.shift).toBe(4);
    expect(estimate.lower).toBe(Number.NEGATIVE_INFINITY);
  });

  it("stays finite on extreme values", () => {
    const estimate = hodgesLehmann([1.7e308, 1.7e308], [-1.7e308], 0.9);
    expect(Number.isFinite(estimate.shift)).toBe(true);
  });
});

describe("Theil-Sen and Kendall's tau", () => {
  it("Theil-Sen ignores a single outlier (scipy theilslopes: slope 1, intercept 1)", () => {
    expect(theilSen([0, 1, 2, 3, 4], [1, 2, 3, 4, 100])).toEqual({ slope: 1, intercept: 1 });
    expect(theilSen([1, 2, 3, 4, 5], [2, 4, 5, 9, 10])).toEqual({ slope: 2, intercept: -1 });
  });

  it.each([
    ["perfect rise, exact", [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], "greater", 1, 0.008333333333333333, "exact"],
    [
      "two swaps, exact",
      [1, 2, 3, 4, 5, 6],
      [1, 3, 2, 5, 4, 6],
      "greater",
      0.7333333333333333,
      0.027777777777777776,
      "exact",
    ],
    [
      "twelve points, exact",
      Array.from({ length: 12 }, (_, i) => i),
      [3, 1, 4, 1.5, 5, 9, 2, 6, 5.5, 3.5, 8, 9.7],
      "greater",
      0.5151515151515151,
      0.010490175815696648,
      "exact",
    ],
    ["perfect fall, less", [0, 1, 2, 3, 4, 5], [6, 5, 4, 3, 2, 1], "less", -1, 0.001388888888888889, "exact"],
    [
      "ties, asymptotic",
      [0, 1, 2, 3, 4, 5, 6, 7],
      [1, 1, 2, 2, 3, 3, 4, 4],
      "greater",
      0.9258200997725515,
      0.001090085188702053,
      "asymptotic",
    ],
  ] as const)("%s", (_, x, y, alternative, tau, p, method) => {
    const result = kendallTau(x, y, alternative);
    expectClose(result.tau, tau, 1e-12);
    expect(result.method).toBe(method);
    expectClose(result.pValue, p, 1e-9);
  });

  it("gives p = 1 for a constant series", () => {
    expect(kendallTau([1, 2, 3, 4], [5, 5, 5, 5], "greater").pValue).toBe(1);
  });
});

describe("helpers", () => {
  it("pseudoMedian is the median of pairwise means (numpy: 3.0 and 21.5)", () => {
    expect(pseudoMedian([1, 2, 3, 4, 100])).toBe(3);
    expect(pseudoMedian([21, 24, 19, 30, 18, 22])).toBe(21.5);
  });

  it("robustSpread is 1.4826 × MAD", () => {
    expect(robustSpread([1, 2, 3, 4, 100])).toBeCloseTo(1.4826, 10);
    expect(robustSpread([])).toBe(0);
  });

  it("finite keeps extreme arithmetic finite", () => {
    expect(finite(1.7e308 * 2)).toBe(Number.MAX_VALUE);
    expect(finite(-Infinity)).toBe(-Number.MAX_VALUE);
    expect(finite(Number.NaN)).toBe(0);
    expect(finite(3)).toBe(3);
  });
});

describe("bisect and smallestScale", () => {
  it("finds the edge of a monotone predicate from either side", () => {
    expect(bisect(0, 1, (x) => x >= 0.3)).toBeCloseTo(0.3, 3);
    expect(bisect(1, 0, (x) => x <= 0.7)).toBeCloseTo(0.7, 3);
    // The answer always satisfies the predicate.
    expect(bisect(0, 1, (x) => x >= 0.3)).toBeGreaterThanOrEqual(0.3);
  });

  it("gives the smallest growth factor, 1 when none is needed, null past the cap", () => {
    expect(smallestScale((scale) => scale >= 7.5, 20)).toBeCloseTo(7.5, 2);
    expect(smallestScale(() => true, 20)).toBe(1);
    expect(smallestScale((scale) => scale >= 21, 20)).toBeNull();
  });
});
