import { describe, expect, it } from "vitest";
import { generate, generateTrial, mulberry32, type Scenario } from "../src/verdict/simulation.js";
import { attainable, ENGINE_MIN_REQUESTS_FOR_PERCENTILE, logP95Moments, volumesNeeded } from "./oracle.js";

// The oracle of `pnpm bench:verdict` on a small seeded run: what no test can beat at 0.35 rps.
const options = { trials: 600, seed: 3 };

describe("attainable figures of the verdict benchmark", { timeout: 60_000 }, () => {
  it("generateTrial draws the same services as generate (the engine's figures do not move)", () => {
    const scenario: Scenario = { profile: "noisy", fault: "errors_x2", baseline: "history", counts: false };
    const a = mulberry32(11);
    const b = mulberry32(11);
    for (let i = 0; i < 5; i++) expect(generateTrial(scenario, a).input).toEqual(generate(scenario, b));
  });

  it("errors × 5 at 0.35 rps: even the Neyman-Pearson bound is far below 99 % rollbacks at 0.5 % false ones", () => {
    for (const baseline of ["history", "single"] as const) {
      const low = attainable(
        { profile: "low_traffic", fault: "errors_x5", baseline, counts: true },
        0.005,
        options,
      );
      expect(low?.kind).toBe("bound");
      expect(low?.falseAlarms).toBeCloseTo(0.005, 6);
      expect(low?.detection).toBeGreaterThan(0.25);
      expect(low?.detection).toBeLessThan(0.6);
    }
    const busy = attainable(
      { profile: "busy", fault: "errors_x5", baseline: "single", counts: true },
      0.005,
      options,
    );
    expect(busy?.detection).toBeGreaterThan(0.999);
  });

  it("traffic − 60 % against one baseline sample at 0.35 rps: the best unbiased test misses 99 %", () => {
    const single = attainable(
      { profile: "low_traffic", fault: "traffic_-60%", baseline: "single", counts: true },
      0.005,
      options,
    );
    expect(single?.kind).toBe("umpu");
    expect(single?.detection).toBeLessThan(0.8);
    const history = attainable(
      { profile: "low_traffic", fault: "traffic_-60%", baseline: "history", counts: true },
      0.005,
      options,
    );
    expect(history?.detection).toBeGreaterThan(0.99);
  });

  it("latency × 1.6 at 0.35 rps: short on the engine's data (p95 from ≥ 20 requests), not on every p95", () => {
    const scenario: Scenario = {
      profile: "low_traffic",
      fault: "latency_x1.6",
      baseline: "history",
      counts: true,
    };
    const engineData = attainable(scenario, 0.03, {
      ...options,
      minRequestsForPercentile: ENGINE_MIN_REQUESTS_FOR_PERCENTILE,
    });
    const every = attainable(scenario, 0.03, options);
    expect(engineData?.detection).toBeLessThan(0.6);
    expect(every?.detection).toBeGreaterThan(0.95);
  });

  it("the p95 of few requests is their maximum: its log mean sits above the p95's and falls with n", () => {
    // 5 requests: the maximum of 5 log-normals (σ 0.6) is 1.163 σ over the median, the p95 1.645 σ.
    const five = logP95Moments("low_traffic", 5, 1);
    expect(five.mean).toBeCloseTo(Math.log(150) - 0.6 * 1.645 + 0.6 * 1.163, 1);
    expect(logP95Moments("low_traffic", 20, 4).mean).toBeGreaterThan(five.mean);
    expect(logP95Moments("busy", 1800, 1).variance).toBeLessThan(0.01);
  });

  it("says what volume would have made the low-traffic targets attainable", () => {
    const rows = volumesNeeded("low_traffic", {
      trials: 300,
      seed: 3,
      rollbackBudget: 0.005,
      warningBudget: 0.03,
    });
    const text = rows.map((row) => `${row.target}: ${row.needed}`).join("\n");
    expect(text).toMatch(/errors × 5.*≥ 9\d\d post requests/);
    expect(text).toMatch(/30 min baseline.*no post window/);
    expect(text).toMatch(/traffic − 60 %.*baseline sample of ≥ \d+ s/);
    expect(rows.filter((row) => row.target.startsWith("latency"))).toHaveLength(3);
  });
});
