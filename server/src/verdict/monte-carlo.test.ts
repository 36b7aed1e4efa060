import { AnalysisResult } from "@seqpulse/types";
import { describe, expect, it } from "vitest";
import { analyze, type EngineInput, shouldFailFast } from "./engine.js";
import {
  type Fault,
  type ProfileName,
  runScenario,
  type Scenario,
  type Tally,
  type VerdictEngine,
} from "./simulation.js";

// The targets on a smaller seeded run of the benchmark (pnpm bench:verdict runs ≥ 1,000 trials per row).
const SEED = 7;
const totals = { right: 0, rightConfidence: 0, wrong: 0, wrongConfidence: 0 };

/** The engine, checking the contract and the hints of every verdict it makes along the way. */
const checked: VerdictEngine = {
  analyze(input: EngineInput) {
    const result = AnalysisResult.parse(analyze(input));
    if (result.verdict !== "ok" && (result.hints ?? []).length === 0) {
      throw new Error(`a ${result.verdict} verdict without hints: ${result.summary}`);
    }
    return result;
  },
  shouldFailFast,
};

function tally(
  profile: ProfileName,
  fault: Fault,
  baseline: Scenario["baseline"],
  counts: boolean,
  trials: number,
): Tally {
  const result = runScenario({ profile, fault, baseline, counts }, trials, SEED, checked);
  totals.right += result.right;
  totals.rightConfidence += result.rightConfidence;
  totals.wrong += result.trials - result.right;
  totals.wrongConfidence += result.wrongConfidence;
  return result;
}

const PROFILES: ProfileName[] = ["busy", "noisy", "low_traffic", "batch"];
const MODES = [
  ["history", true],
  ["history", false],
  ["single", true],
  ["single", false],
] as const;

describe("Monte Carlo targets (seeded)", { timeout: 120_000 }, () => {
  // Per profile, pooled over its four baseline and counts modes (the targets are per profile).
  it.each(PROFILES)(
    "healthy %s: at most 0.5 percent rollbacks, with history at most 3 percent warnings",
    (profile) => {
      const results = MODES.map(([baseline, counts]) => ({
        baseline,
        result: tally(profile, "healthy", baseline, counts, baseline === "history" ? 150 : 60),
      }));
      const share = (rows: typeof results, count: (t: Tally) => number) =>
        rows.reduce((sum, row) => sum + count(row.result), 0) /
        rows.reduce((sum, row) => sum + row.result.trials, 0);
      expect(
        share(results, (t) => t.rollback),
        "rollbacks",
      ).toBeLessThanOrEqual(0.005);
      const history = results.filter((row) => row.baseline === "history");
      expect(
        share(history, (t) => t.warning),
        "warnings with a history baseline",
      ).toBeLessThanOrEqual(0.03);
    },
  );

  it.each([
    ["busy", "errors_x2"],
    ["busy", "latency_x1.6"],
    ["noisy", "latency_x1.6"],
  ] as const)("%s %s with a history baseline: detected in at least 95 percent", (profile, fault) => {
    for (const counts of [true, false]) {
      const result = tally(profile, fault, "history", counts, 40);
      expect((result.warning + result.rollback) / result.trials, `counts ${counts}`).toBeGreaterThanOrEqual(
        0.95,
      );
    }
  });

  it.each([
    ["busy", "errors_x5"],
    ["noisy", "errors_x5"],
    ["busy", "traffic_-60%"],
    ["noisy", "traffic_-60%"],
  ] as const)("%s %s: rollback in at least 99 percent", (profile, fault) => {
    for (const [baseline, counts] of MODES) {
      const result = tally(profile, fault, baseline, counts, baseline === "history" ? 30 : 100);
      expect(
        result.rollback / result.trials,
        `${baseline} baseline, counts ${counts}`,
      ).toBeGreaterThanOrEqual(0.99);
    }
  });

  it("right verdicts carry more confidence than wrong ones", () => {
    for (const fault of ["memory_leak", "late_regression", "traffic_-30%", "latency_x1.3"] as const) {
      tally("noisy", fault, "history", true, 30);
      tally("busy", fault, "single", false, 30);
    }
    expect(totals.wrong).toBeGreaterThan(0);
    expect(totals.rightConfidence / totals.right).toBeGreaterThan(totals.wrongConfidence / totals.wrong);
  });
});
