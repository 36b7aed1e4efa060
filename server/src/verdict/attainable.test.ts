import { describe, expect, it } from "vitest";
import {
  calibratedDetection,
  calibratedRandomizedTest,
  conditionalBinomialPower,
  gaussianShiftLogRatio,
  neymanPearsonMeanNeeded,
  neymanPearsonPoisson,
  poissonLowerTail,
  poissonPmf,
  poissonUpperTail,
  pooledNeymanPearsonPoisson,
} from "./attainable.js";

const e = Math.E;

describe("Poisson tails", () => {
  it.each([
    [0, 2, 1],
    [1, 2, 1 - Math.exp(-2)],
    [3, 1, 1 - 2.5 / e],
    [4, 1, 1 - 8 / 3 / e],
  ])("P(X ≥ %d) for mean %d", (k, mean, expected) => {
    expect(poissonUpperTail(k, mean)).toBeCloseTo(expected, 12);
  });

  it("sums the far tail exactly, where 1 − CDF would round to 0", () => {
    // P(X ≥ 40 | mean 2) ≈ 2⁴⁰ e⁻² / 40! (the first term dominates).
    const first = poissonPmf(40, 2);
    expect(first).toBeGreaterThan(0);
    expect(poissonUpperTail(40, 2) / first).toBeCloseTo(1 + 2 / 41 + 4 / (41 * 42), 3);
    expect(poissonLowerTail(0, 30) / Math.exp(-30)).toBeCloseTo(1, 12);
  });

  it("lower and upper tails add up to one", () => {
    for (const mean of [0.3, 4, 57.5]) {
      for (const k of [0, 3, 50, 80]) {
        expect(poissonLowerTail(k, mean) + poissonUpperTail(k + 1, mean)).toBeCloseTo(1, 12);
      }
    }
  });
});

describe("Neyman-Pearson on a Poisson count with a known baseline", () => {
  it("λ0 = 1 against λ1 = 3 at α = 0.05: reject X ≥ 4, randomise at X = 3 (worked by hand)", () => {
    // P0(X ≥ 4) = 1 − (8/3)/e = 0.01899 ≤ 0.05 < P0(X ≥ 3) = 1 − 2.5/e = 0.08030.
    const tail4 = 1 - 8 / 3 / e;
    const gamma = (0.05 - tail4) / (1 / (6 * e));
    const power = 1 - 13 * Math.exp(-3) + gamma * 4.5 * Math.exp(-3);
    const test = neymanPearsonPoisson(1, 3, 0.05);
    expect(test.critical).toBe(4);
    expect(test.randomization).toBeCloseTo(gamma, 12);
    expect(test.randomization).toBeCloseTo(0.50579, 4);
    expect(test.power).toBeCloseTo(power, 12);
    expect(test.power).toBeCloseTo(0.46609, 4);
  });

  it("λ0 = 4 against λ1 = 1 (a drop) at α = 0.05: reject X = 0, randomise at X = 1", () => {
    const gamma = (0.05 - Math.exp(-4)) / (4 * Math.exp(-4));
    const test = neymanPearsonPoisson(4, 0.25, 0.05);
    expect(test.critical).toBe(0);
    expect(test.randomization).toBeCloseTo(gamma, 12);
    expect(test.power).toBeCloseTo(Math.exp(-1) + gamma * Math.exp(-1), 12);
  });

  it("has exactly the size asked for and power above it", () => {
    for (const [mean, ratio] of [
      [0.44, 5],
      [113, 2],
      [42, 0.4],
    ] as const) {
      const test = neymanPearsonPoisson(mean, ratio, 0.005);
      const size =
        ratio > 1
          ? poissonUpperTail(test.critical, mean) + test.randomization * poissonPmf(test.critical - 1, mean)
          : poissonLowerTail(test.critical, mean) + test.randomization * poissonPmf(test.critical + 1, mean);
      expect(size).toBeCloseTo(0.005, 12);
      expect(test.power).toBeGreaterThan(0.005);
    }
  });

  it("errors × 5 need about 3.9 errors expected at the baseline rate for 99 % at α = 0.005", () => {
    const mean = neymanPearsonMeanNeeded(5, 0.005, 0.99);
    expect(neymanPearsonPoisson(mean, 5, 0.005).power).toBeGreaterThanOrEqual(0.99);
    expect(neymanPearsonPoisson(mean * 0.98, 5, 0.005).power).toBeLessThan(0.99);
    // By hand: at λ0 = 4, P0(X ≥ 11) = 0.00284 and P0(X ≥ 10) = 0.00813, so the test rejects X ≥ 11
    // and X = 10 with probability 0.408; its power P1(X ≥ 11) + 0.408 P1(X = 10) at λ1 = 20 is 0.9916.
    const at4 = neymanPearsonPoisson(4, 5, 0.005);
    expect(at4.critical).toBe(11);
    expect(at4.randomization).toBeCloseTo(0.40817, 4);
    expect(at4.power).toBeCloseTo(0.99156, 4);
    expect(mean).toBeGreaterThan(3.5);
    expect(mean).toBeLessThan(4);
  });
});

describe("pooled Neyman-Pearson over trials with different exposures", () => {
  it("equals the single test when every trial has the same exposure", () => {
    const pooled = pooledNeymanPearsonPoisson([1, 1, 1], 3, 0.05);
    expect(pooled.size).toBeCloseTo(0.05, 9);
    expect(pooled.power).toBeCloseTo(neymanPearsonPoisson(1, 3, 0.05).power, 6);
  });

  it("spends the whole budget on the trials with information: half of them with no requests", () => {
    // Trials with λ0 = 0 never see an error under either hypothesis; the others get α = 0.1.
    const pooled = pooledNeymanPearsonPoisson([0, 1], 3, 0.05);
    expect(pooled.size).toBeCloseTo(0.05, 9);
    expect(pooled.power).toBeCloseTo(0.5 * neymanPearsonPoisson(1, 3, 0.1).power, 6);
  });

  it("is at least as powerful as giving every trial the same α", () => {
    const means = [0.4, 0.9, 2, 6];
    const even =
      means.reduce((sum, mean) => sum + neymanPearsonPoisson(mean, 5, 0.005).power, 0) / means.length;
    const pooled = pooledNeymanPearsonPoisson(means, 5, 0.005);
    expect(pooled.size).toBeCloseTo(0.005, 9);
    expect(pooled.power).toBeGreaterThanOrEqual(even - 1e-9);
  });
});

describe("exact conditional binomial test of two Poisson counts", () => {
  it("size at equal means 0.5 and α = 0.25, the rejection region enumerated by hand", () => {
    // p < α strictly, as the engine tests. Rejected (baseline, post): (0, ≥ 3) — P(Y ≥ 2 | 2, ½) = ¼ is
    // not below ¼ —, (1, ≥ 4) as P(Y ≥ 4 | 5, ½) = 6/32, (2, ≥ 5) as 29/128, (3, ≥ 7) as 176/1024;
    // (4, ≥ 8) adds less than 1e-10.
    const q = Math.exp(-0.5);
    const upper = (k: number) => poissonUpperTail(k, 0.5);
    const expected = q * upper(3) + 0.5 * q * upper(4) + 0.125 * q * upper(5) + (0.125 / 6) * q * upper(7);
    const size = conditionalBinomialPower({
      rate: 0.5,
      baseExposure: 1,
      postExposure: 1,
      ratio: 1,
      direction: "greater",
      alpha: 0.25,
    });
    expect(size).toBeCloseTo(expected, 8);
    expect(size).toBeLessThan(0.25);
  });

  it("with a long baseline comes close to the exact Poisson test with the rate known", () => {
    // Known rate: post ~ Poisson(42) under the null, rejected at X ≤ 25 (P0 = 0.0033, P0(X ≤ 26) > 0.005);
    // a −30 % drop (mean 29.4) is caught with P(X ≤ 25) = 0.2406. A baseline of 4,200 requests is near that.
    expect(poissonLowerTail(25, 42)).toBeLessThan(0.005);
    expect(poissonLowerTail(26, 42)).toBeGreaterThan(0.005);
    const power = conditionalBinomialPower({
      rate: 0.14,
      baseExposure: 30_000,
      postExposure: 300,
      ratio: 0.7,
      direction: "less",
      alpha: 0.005,
    });
    expect(power).toBeCloseTo(poissonLowerTail(25, 29.4), 1);
  });

  it("a −60 % drop against one baseline sample of 15 s at 0.35 rps is far from 99 %", () => {
    const power = (baseExposure: number) =>
      conditionalBinomialPower({
        rate: 0.35,
        baseExposure,
        postExposure: 300,
        ratio: 0.4,
        direction: "less",
        alpha: 0.005,
      });
    expect(power(15)).toBeLessThan(0.5);
    expect(power(1800)).toBeGreaterThan(0.99);
  });
});

describe("calibration on healthy trials", () => {
  it("randomises at the tie so that exactly the budget is flagged", () => {
    // 1 of 5 healthy values is above 1 (20 %) and 2 are at or above (40 %): flag half the ties.
    const result = calibratedDetection([0, 0, 0, 1, 2], [1, 2, 3, 0], 0.3);
    expect(result.threshold).toBe(1);
    expect(result.falseAlarms).toBeCloseTo(0.3, 12);
    expect(result.detection).toBeCloseTo((2 + 0.5) / 4, 12);
  });

  it("a randomised discrete test gets the nominal level at which healthy trials use the budget exactly", () => {
    // Below level 0.1 the first healthy trial rejects with probability level / 0.1 and the second never:
    // mean 5 × level = 0.05 at level 0.01; the fault trial (p-value 0.02, nothing beyond) then rejects half the time.
    const result = calibratedRandomizedTest(
      [
        { beyond: 0, atOrBeyond: 0.1 },
        { beyond: 0.5, atOrBeyond: 1 },
      ],
      [{ beyond: 0, atOrBeyond: 0.02 }],
      0.05,
    );
    expect(result.level).toBeCloseTo(0.01, 9);
    expect(result.falseAlarms).toBeCloseTo(0.05, 9);
    expect(result.detection).toBeCloseTo(0.5, 9);
    // Capped at a level of 0.005 the healthy trials flag 2.5 %, the fault trial a quarter of the time.
    const capped = calibratedRandomizedTest(
      [
        { beyond: 0, atOrBeyond: 0.1 },
        { beyond: 0.5, atOrBeyond: 1 },
      ],
      [{ beyond: 0, atOrBeyond: 0.02 }],
      0.05,
      0.005,
    );
    expect(capped.level).toBe(0.005);
    expect(capped.falseAlarms).toBeCloseTo(0.025, 12);
    expect(capped.detection).toBeCloseTo(0.25, 12);
  });

  it("Gaussian shift log-likelihood ratio: δ Σ (x − μ)/σ² − δ² Σ 1/(2σ²)", () => {
    expect(gaussianShiftLogRatio([1, 2], [0, 0], [1, 4], 0.5)).toBeCloseTo(
      0.5 * (1 + 0.5) - 0.25 * (0.5 + 0.125),
      12,
    );
  });
});
