import {
  AnalysisResult,
  type AnalysisSettings,
  type AnalysisSettingsPatch,
  DEFAULT_ANALYSIS_SETTINGS,
  type MetricValues,
  mergeAnalysisSettings,
  type VerdictValue,
} from "@seqpulse/types";
import { describe, expect, it } from "vitest";
import { type AnalysisInput, analyze, shouldFailFast } from "./engine.js";

const HEALTHY: MetricValues = {
  requests_per_sec: 100,
  latency_p95: 100,
  error_rate: 0.001,
  cpu_usage: 0.3,
  memory_usage: 0.4,
};

function sample(overrides: Partial<MetricValues> = {}): MetricValues {
  return { ...HEALTHY, ...overrides };
}

function samples(count: number, overrides: Partial<MetricValues> = {}): MetricValues[] {
  return Array.from({ length: count }, () => sample(overrides));
}

/** `count` healthy samples, with `overrides` applied to the ones at `indexes`. */
function withSpikes(count: number, indexes: number[], overrides: Partial<MetricValues>): MetricValues[] {
  return Array.from({ length: count }, (_, i) => sample(indexes.includes(i) ? overrides : {}));
}

function settingsWith(patch: AnalysisSettingsPatch = {}): AnalysisSettings {
  return mergeAnalysisSettings(DEFAULT_ANALYSIS_SETTINGS, patch);
}

function input(overrides: Partial<AnalysisInput> = {}): AnalysisInput {
  const post = overrides.post ?? samples(5);
  return {
    baseline: samples(3),
    post,
    failures: [],
    plannedPostSamples: post.length,
    settings: DEFAULT_ANALYSIS_SETTINGS,
    ...overrides,
  };
}

function run(overrides: Partial<AnalysisInput> = {}): AnalysisResult {
  // Every result must satisfy the public contract.
  return AnalysisResult.parse(analyze(input(overrides)));
}

interface VerdictCase {
  name: string;
  input: Partial<AnalysisInput>;
  verdict: VerdictValue;
  /** Expected [metric, rule, severity] of the reasons, in order. */
  reasons: [string | null, string, "warning" | "critical"][];
}

function expectCase({ input: caseInput, verdict, reasons }: VerdictCase): AnalysisResult {
  const result = run(caseInput);
  expect(result.verdict).toBe(verdict);
  expect(result.reasons.map((r) => [r.metric, r.rule, r.severity])).toEqual(reasons);
  return result;
}

describe("absolute limits and tolerance", () => {
  const cases: VerdictCase[] = [
    {
      name: "healthy post is ok",
      input: {},
      verdict: "ok",
      reasons: [],
    },
    {
      name: "latency breaching in exactly the tolerance share (1 of 5 = 20%) is ok",
      input: { post: withSpikes(5, [2], { latency_p95: 280 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "latency breaching in more than the tolerance share (2 of 5) warns",
      input: { post: withSpikes(5, [1, 3], { latency_p95: 280 }) },
      verdict: "warning",
      reasons: [["latency_p95", "absolute_limit", "warning"]],
    },
    {
      name: "latency exactly at limit × safety_factor (270 ms) is not a breach",
      input: { baseline: samples(3, { latency_p95: 200 }), post: samples(5, { latency_p95: 270 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "latency just above limit × safety_factor is a breach",
      input: { baseline: samples(3, { latency_p95: 200 }), post: samples(5, { latency_p95: 270.5 }) },
      verdict: "warning",
      reasons: [["latency_p95", "absolute_limit", "warning"]],
    },
    {
      name: "error_rate exactly at limit × safety_factor (0.9%) is not a breach",
      input: { baseline: samples(3, { error_rate: 0.008 }), post: samples(5, { error_rate: 0.009 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "lone error spike (1 of 5 = 20% > 5% tolerance) warns, never rolls back",
      input: { post: withSpikes(5, [2], { error_rate: 0.015 }) },
      verdict: "warning",
      reasons: [["error_rate", "absolute_limit", "warning"]],
    },
    {
      name: "lone error spike far above fail-fast level is still only a warning",
      input: { post: withSpikes(5, [2], { error_rate: 0.5 }) },
      verdict: "warning",
      reasons: [["error_rate", "absolute_limit", "warning"]],
    },
    {
      name: "one error breach in 20 samples (exactly 5%) is within tolerance",
      input: { post: withSpikes(20, [7], { error_rate: 0.015 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "two non-consecutive error breaches in 10 samples roll back",
      input: { post: withSpikes(10, [2, 6], { error_rate: 0.015 }) },
      verdict: "rollback_recommended",
      reasons: [["error_rate", "absolute_limit", "critical"]],
    },
    {
      name: "cpu breaching in all samples warns (non-critical)",
      input: { post: samples(5, { cpu_usage: 0.95 }) },
      verdict: "warning",
      reasons: [["cpu_usage", "absolute_limit", "warning"]],
    },
    {
      name: "memory breaching 1 of 10 (10% = tolerance) is ok",
      input: { post: withSpikes(10, [0], { memory_usage: 0.9 }) },
      verdict: "ok",
      reasons: [],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    expectCase(testCase);
  });

  it("lone spike on a critical metric says why it does not roll back", () => {
    const [reason] = run({ post: withSpikes(5, [2], { error_rate: 0.015 }) }).reasons;
    expect(reason?.message).toContain("1 of 5 post samples");
    expect(reason?.message).toContain("single sample is not enough");
  });

  it("persistent error breach reports the numbers and a readable summary", () => {
    const result = run({
      post: samples(5, { error_rate: 0.015 }),
      settings: settingsWith({ fail_fast_enabled: false }),
    });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.summary).toBe(
      "Rollback recommended: error_rate 1.5% exceeded limit 0.9% in 5 of 5 post samples (tolerance 5%).",
    );
    expect(result.reasons).toEqual([
      {
        metric: "error_rate",
        rule: "absolute_limit",
        baseline: 0.001,
        observed: 0.015,
        threshold: 0.009,
        exceed_ratio: 1,
        tolerance: 0.05,
        severity: "critical",
        message: "error_rate 1.5% exceeded limit 0.9% in 5 of 5 post samples (tolerance 5%)",
      },
    ]);
  });

  it("rounds reported values to 4 significant digits", () => {
    const [reason] = run({ post: samples(5, { latency_p95: 312.34567 }) }).reasons;
    expect(reason).toMatchObject({ observed: 312.3, threshold: 270, exceed_ratio: 1, tolerance: 0.2 });
    expect(reason?.message).toBe(
      "latency_p95 312.3 ms exceeded limit 270 ms in 5 of 5 post samples (tolerance 20%)",
    );
  });

  it("observed is the median of the breaching samples and exceed_ratio their share", () => {
    const post = [
      sample(),
      sample({ latency_p95: 400 }),
      sample(),
      sample({ latency_p95: 500 }),
      sample({ latency_p95: 600 }),
    ];
    const [reason] = run({ post }).reasons;
    expect(reason).toMatchObject({ rule: "absolute_limit", observed: 500, exceed_ratio: 0.6 });
  });
});

describe("regression against the baseline", () => {
  const cases: VerdictCase[] = [
    {
      name: "5× slower but under the absolute limit warns via regression",
      input: { baseline: samples(3, { latency_p95: 50 }), post: samples(5, { latency_p95: 250 }) },
      verdict: "warning",
      reasons: [["latency_p95", "regression", "warning"]],
    },
    {
      name: "×1.4 slower is below the minimum ratio",
      input: { baseline: samples(3, { latency_p95: 150 }), post: samples(5, { latency_p95: 210 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "just under both ×1.5 and +50 ms is not a regression",
      input: { baseline: samples(3, { latency_p95: 100 }), post: samples(5, { latency_p95: 149.9 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "exactly ×1.5 and +50 ms is a regression",
      input: { baseline: samples(3, { latency_p95: 100 }), post: samples(5, { latency_p95: 150 }) },
      verdict: "warning",
      reasons: [["latency_p95", "regression", "warning"]],
    },
    {
      name: "×3 but only +30 ms on a small baseline is not a regression",
      input: { baseline: samples(3, { latency_p95: 15 }), post: samples(5, { latency_p95: 45 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "near-zero error baseline: ×20 but +0.19 points is not a regression",
      input: { baseline: samples(3, { error_rate: 0.0001 }), post: samples(5, { error_rate: 0.002 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "zero error baseline with a small absolute increase is not a regression",
      input: { baseline: samples(3, { error_rate: 0 }), post: samples(5, { error_rate: 0.004 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "a single slow outlier does not move the median",
      input: { baseline: samples(3, { latency_p95: 90 }), post: withSpikes(5, [4], { latency_p95: 260 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "persistent error_rate regression under the limit rolls back (critical)",
      input: { baseline: samples(3, { error_rate: 0.001 }), post: samples(5, { error_rate: 0.008 }) },
      verdict: "rollback_recommended",
      reasons: [["error_rate", "regression", "critical"]],
    },
    {
      name: "critical regression not persisting beyond a custom tolerance only warns",
      input: {
        baseline: samples(3, { error_rate: 0.001 }),
        post: withSpikes(5, [0, 1, 2], { error_rate: 0.008 }),
        settings: settingsWith({ error_rate: { tolerance: 0.6 } }),
      },
      verdict: "warning",
      reasons: [["error_rate", "regression", "warning"]],
    },
    {
      name: "cpu regression by settings (+0.2 and ×1.5) warns",
      input: { baseline: samples(3, { cpu_usage: 0.2 }), post: samples(5, { cpu_usage: 0.45 }) },
      verdict: "warning",
      reasons: [["cpu_usage", "regression", "warning"]],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    expectCase(testCase);
  });

  it("zero latency baseline uses the absolute delta without dividing by zero", () => {
    const [reason] = run({
      baseline: samples(3, { latency_p95: 0 }),
      post: samples(5, { latency_p95: 60 }),
    }).reasons;
    expect(reason).toMatchObject({
      metric: "latency_p95",
      rule: "regression",
      baseline: 0,
      observed: 60,
      threshold: 50,
      exceed_ratio: 1,
    });
  });

  it("regression reason carries baseline median, post median and combined threshold", () => {
    const result = run({
      baseline: [sample({ latency_p95: 40 }), sample({ latency_p95: 50 }), sample({ latency_p95: 70 })],
      post: samples(5, { latency_p95: 250 }),
    });
    expect(result.reasons[0]).toMatchObject({
      baseline: 50,
      observed: 250,
      threshold: 100,
      exceed_ratio: 1,
      tolerance: 0.2,
    });
    expect(result.summary).toMatch(/^Warning: latency_p95 regressed from baseline 50 ms to median 250 ms/);
    expect(result.summary).toContain("threshold 100 ms");
  });

  it("a limit breach and a regression on the same metric report one reason", () => {
    const result = run({ baseline: samples(3, { latency_p95: 50 }), post: samples(5, { latency_p95: 400 }) });
    expect(result.reasons.map((r) => [r.metric, r.rule])).toEqual([["latency_p95", "absolute_limit"]]);
  });

  it("a critical regression outranks a non-critical lone-spike warning on the same metric", () => {
    const post = [
      sample({ error_rate: 0.008 }),
      sample({ error_rate: 0.008 }),
      sample({ error_rate: 0.008 }),
      sample({ error_rate: 0.008 }),
      sample({ error_rate: 0.012 }),
    ];
    const result = run({ baseline: samples(3, { error_rate: 0.001 }), post });
    expect(result.reasons.map((r) => [r.metric, r.rule, r.severity])).toEqual([
      ["error_rate", "regression", "critical"],
    ]);
  });
});

describe("traffic drop", () => {
  const cases: VerdictCase[] = [
    {
      name: "30% below baseline rolls back (traffic is critical)",
      input: { post: samples(5, { requests_per_sec: 70 }) },
      verdict: "rollback_recommended",
      reasons: [["requests_per_sec", "traffic_drop", "critical"]],
    },
    {
      name: "exactly 20% below baseline is not a drop",
      input: { post: samples(5, { requests_per_sec: 80 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "traffic going up is fine",
      input: { post: samples(5, { requests_per_sec: 300 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "baseline below min_baseline_rps is not judged, even when traffic stops",
      input: { baseline: samples(3, { requests_per_sec: 0.4 }), post: samples(5, { requests_per_sec: 0 }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "baseline exactly at min_baseline_rps is judged",
      input: {
        baseline: samples(3, { requests_per_sec: 0.5 }),
        post: samples(5, { requests_per_sec: 0.35 }),
      },
      verdict: "rollback_recommended",
      reasons: [["requests_per_sec", "traffic_drop", "critical"]],
    },
    {
      name: "one dipped sample (1 of 3 > 20%) is a lone dip: warning",
      input: { post: withSpikes(3, [1], { requests_per_sec: 50 }) },
      verdict: "warning",
      reasons: [["requests_per_sec", "traffic_drop", "warning"]],
    },
    {
      name: "one dipped sample in 5 (20% = tolerance) is ok",
      input: { post: withSpikes(5, [1], { requests_per_sec: 50 }) },
      verdict: "ok",
      reasons: [],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    expectCase(testCase);
  });

  it("a lone dip says why it does not roll back", () => {
    const [reason] = run({ post: withSpikes(3, [1], { requests_per_sec: 50 }) }).reasons;
    expect(reason?.message).toContain("single sample is not enough");
  });

  it("reports baseline, dropped median and floor", () => {
    const [reason] = run({ post: samples(5, { requests_per_sec: 70 }) }).reasons;
    expect(reason).toMatchObject({
      baseline: 100,
      observed: 70,
      threshold: 80,
      exceed_ratio: 1,
      tolerance: 0.2,
    });
  });
});

describe("critical vs non-critical per settings", () => {
  const cases: VerdictCase[] = [
    {
      name: "latency made critical rolls back on a persistent breach",
      input: {
        post: samples(5, { latency_p95: 280 }),
        settings: settingsWith({ latency_p95: { critical: true } }),
      },
      verdict: "rollback_recommended",
      reasons: [["latency_p95", "absolute_limit", "critical"]],
    },
    {
      name: "error_rate made non-critical only warns, and does not fail fast",
      input: {
        post: samples(5, { error_rate: 0.5 }),
        settings: settingsWith({ error_rate: { critical: false } }),
      },
      verdict: "warning",
      reasons: [["error_rate", "absolute_limit", "warning"]],
    },
    {
      name: "traffic made non-critical only warns",
      input: {
        post: samples(5, { requests_per_sec: 70 }),
        settings: settingsWith({ requests_per_sec: { critical: false } }),
      },
      verdict: "warning",
      reasons: [["requests_per_sec", "traffic_drop", "warning"]],
    },
    {
      name: "custom limit and safety_factor move the threshold",
      input: {
        post: samples(5, { latency_p95: 150 }),
        settings: settingsWith({ safety_factor: 1, latency_p95: { limit: 140 } }),
      },
      verdict: "warning",
      reasons: [["latency_p95", "absolute_limit", "warning"]],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    expectCase(testCase);
  });

  it("sorts critical reasons first", () => {
    const result = run({
      post: samples(5, { latency_p95: 280, cpu_usage: 0.95, error_rate: 0.015 }),
      settings: settingsWith({ fail_fast_enabled: false }),
    });
    expect(result.reasons.map((r) => [r.metric, r.severity])).toEqual([
      ["error_rate", "critical"],
      ["latency_p95", "warning"],
      ["cpu_usage", "warning"],
    ]);
    expect(result.summary).toMatch(/^Rollback recommended: error_rate .*; 2 more reasons\.$/);
  });
});

describe("shouldFailFast", () => {
  const bad = { error_rate: 0.05 };
  const cases: {
    name: string;
    post: MetricValues[];
    baseline?: MetricValues[];
    settings?: AnalysisSettingsPatch;
    expected: boolean;
  }[] = [
    {
      name: "two consecutive latest samples at fail-fast level",
      post: withSpikes(4, [2, 3], bad),
      expected: true,
    },
    {
      name: "exactly at limit × safety × factor (1.8%) counts",
      post: samples(2, { error_rate: 0.018 }),
      expected: true,
    },
    { name: "just below fail-fast level", post: samples(2, { error_rate: 0.0179 }), expected: false },
    { name: "non-consecutive bad samples", post: withSpikes(4, [1, 3], bad), expected: false },
    {
      name: "bad run that recovered in the latest sample",
      post: withSpikes(4, [1, 2], bad),
      expected: false,
    },
    { name: "only one sample so far", post: samples(1, bad), expected: false },
    { name: "no samples", post: [], expected: false },
    { name: "disabled", post: samples(3, bad), settings: { fail_fast_enabled: false }, expected: false },
    {
      name: "fail_fast_consecutive 3 needs three",
      post: withSpikes(3, [1, 2], bad),
      settings: { fail_fast_consecutive: 3 },
      expected: false,
    },
    {
      name: "fail_fast_consecutive 1 still never acts on a single sample",
      post: withSpikes(2, [1], bad),
      settings: { fail_fast_consecutive: 1 },
      expected: false,
    },
    {
      name: "non-critical latency far over the limit",
      post: samples(3, { latency_p95: 5000 }),
      expected: false,
    },
    {
      name: "latency made critical",
      post: samples(2, { latency_p95: 540 }),
      settings: { latency_p95: { critical: true } },
      expected: true,
    },
    { name: "no baseline: error limits still apply", post: samples(2, bad), baseline: [], expected: true },
    {
      name: "traffic at 60% of baseline (40% drop)",
      post: samples(2, { requests_per_sec: 60 }),
      expected: true,
    },
    { name: "traffic at 61% of baseline", post: samples(2, { requests_per_sec: 61 }), expected: false },
    {
      name: "traffic collapse with a baseline under min_baseline_rps",
      post: samples(2, { requests_per_sec: 0 }),
      baseline: samples(3, { requests_per_sec: 0.2 }),
      expected: false,
    },
    {
      name: "traffic drop capped at 100%: zero traffic qualifies",
      post: samples(2, { requests_per_sec: 0 }),
      settings: { requests_per_sec: { max_drop: 0.8 } },
      expected: true,
    },
    {
      name: "traffic drop capped at 100%: any remaining traffic does not",
      post: samples(2, { requests_per_sec: 1 }),
      settings: { requests_per_sec: { max_drop: 0.8 } },
      expected: false,
    },
  ];
  it.each(cases)("$name -> $expected", ({ post, baseline, settings, expected }) => {
    expect(shouldFailFast(post, baseline ?? samples(3), settingsWith(settings))).toBe(expected);
  });
});

describe("fail-fast in analyze", () => {
  it("a window cut by fail-fast rolls back even with fewer than min_post_samples", () => {
    const result = run({ post: samples(2, { error_rate: 0.05 }), plannedPostSamples: 10 });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.reasons.map((r) => [r.metric, r.rule, r.severity])).toEqual([
      ["error_rate", "fail_fast", "critical"],
    ]);
    expect(result.reasons[0]).toMatchObject({ observed: 0.05, threshold: 0.018, exceed_ratio: 1 });
    expect(result.summary).toBe(
      "Rollback recommended: error_rate was at or above fail-fast threshold 1.8% (limit × safety 0.9 × 2) " +
        "in the last 2 consecutive post samples (lowest 5%).",
    );
    expect(result.data_quality.issues).toContain(
      "window cut short by fail-fast after 2 of 10 planned post samples",
    );
  });

  it("a traffic collapse cut by fail-fast rolls back", () => {
    const result = run({ post: samples(2, { requests_per_sec: 0 }), plannedPostSamples: 10 });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.reasons[0]).toMatchObject({ metric: "requests_per_sec", rule: "fail_fast", threshold: 60 });
  });

  it("fail-fast without a baseline still rolls back and flags the missing baseline", () => {
    const result = run({ baseline: [], post: samples(2, { error_rate: 0.05 }), plannedPostSamples: 10 });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.reasons.map((r) => [r.rule, r.severity])).toEqual([
      ["fail_fast", "critical"],
      ["insufficient_data", "warning"],
    ]);
  });

  it("short window over the limit but below fail-fast level is insufficient data, not rollback", () => {
    const result = run({ post: samples(2, { error_rate: 0.015 }), plannedPostSamples: 10 });
    expect(result.verdict).toBe("warning");
    expect(result.reasons.map((r) => [r.metric, r.rule, r.severity])).toEqual([
      [null, "insufficient_data", "warning"],
      ["error_rate", "absolute_limit", "warning"],
    ]);
    expect(result.reasons[1]?.message).toContain("too few post samples to recommend rollback");
  });

  it("fail-fast disabled: a short bad window is insufficient data", () => {
    const result = run({
      post: samples(2, { error_rate: 0.05 }),
      plannedPostSamples: 10,
      settings: settingsWith({ fail_fast_enabled: false }),
    });
    expect(result.verdict).toBe("warning");
    expect(result.reasons[0]?.rule).toBe("insufficient_data");
  });

  it("a full window whose latest samples are at fail-fast level reports fail_fast", () => {
    const result = run({ post: withSpikes(10, [8, 9], { error_rate: 0.05 }) });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.reasons[0]).toMatchObject({ rule: "fail_fast", exceed_ratio: 0.2 });
  });
});

describe("insufficient data", () => {
  const cases: (VerdictCase & { counts: string[] })[] = [
    {
      name: "no valid baseline",
      input: { baseline: [], failures: [{ phase: "baseline", kind: "permanent" }] },
      verdict: "warning",
      reasons: [[null, "insufficient_data", "warning"]],
      counts: ["0 valid", "1 failed"],
    },
    {
      name: "fewer post samples than min_post_samples",
      input: { post: samples(2), plannedPostSamples: 2 },
      verdict: "warning",
      reasons: [[null, "insufficient_data", "warning"]],
      counts: ["only 2 valid post samples", "at least 3 required"],
    },
    {
      name: "enough for min_post_samples but under min_post_ratio of planned",
      input: { post: samples(5), plannedPostSamples: 10 },
      verdict: "warning",
      reasons: [[null, "insufficient_data", "warning"]],
      counts: ["only 5 valid post samples", "at least 6 required", "60% of 10 planned"],
    },
    {
      name: "ratio rounds up: 4 of 7 planned is under ceil(4.2)",
      input: { post: samples(4), plannedPostSamples: 7 },
      verdict: "warning",
      reasons: [[null, "insufficient_data", "warning"]],
      counts: ["at least 5 required"],
    },
    {
      name: "no post samples at all",
      input: {
        post: [],
        plannedPostSamples: 5,
        failures: Array(5).fill({ phase: "post", kind: "transient" }),
      },
      verdict: "warning",
      reasons: [[null, "insufficient_data", "warning"]],
      counts: ["only 0 valid post samples (5 failed)"],
    },
    {
      name: "no baseline and too few post samples",
      input: { baseline: [], post: samples(1), plannedPostSamples: 5 },
      verdict: "warning",
      reasons: [
        [null, "insufficient_data", "warning"],
        [null, "insufficient_data", "warning"],
      ],
      counts: ["no valid baseline samples", "only 1 valid post sample "],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    const result = expectCase(testCase);
    const messages = result.reasons.map((r) => r.message).join(" | ");
    for (const count of testCase.counts) expect(messages).toContain(count);
    expect(result.summary).toMatch(/^Warning: /);
  });

  const enough: VerdictCase[] = [
    {
      name: "6 of 10 planned meets the ratio",
      input: { post: samples(6), plannedPostSamples: 10 },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "5 of 7 planned meets ceil(4.2)",
      input: { post: samples(5), plannedPostSamples: 7 },
      verdict: "ok",
      reasons: [],
    },
  ];
  it.each(enough)("$name", (testCase) => {
    expectCase(testCase);
  });

  it("insufficient post reason carries the counts as numbers", () => {
    const [reason] = run({ post: samples(5), plannedPostSamples: 10 }).reasons;
    expect(reason).toMatchObject({ metric: null, observed: 5, threshold: 6 });
  });

  it("no baseline still judges absolute limits", () => {
    const result = run({ baseline: [], post: samples(5, { error_rate: 0.015 }) });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.reasons.map((r) => [r.metric, r.rule])).toEqual([
      ["error_rate", "absolute_limit"],
      [null, "insufficient_data"],
    ]);
    expect(result.reasons[0]?.baseline).toBeNull();
  });

  it("no baseline skips regression and traffic drop", () => {
    const result = run({ baseline: [], post: samples(5, { latency_p95: 250, requests_per_sec: 1 }) });
    expect(result.reasons.map((r) => r.rule)).toEqual(["insufficient_data"]);
  });
});

describe("endpoint failures", () => {
  const transient = { phase: "post", kind: "transient" } as const;

  it("three transient failures then healthy samples is ok, with lower data quality", () => {
    const result = run({
      post: samples(5),
      plannedPostSamples: 8,
      failures: [transient, transient, transient],
    });
    expect(result.verdict).toBe("ok");
    expect(result.reasons).toEqual([]);
    expect(result.data_quality.score).toBeLessThan(1);
    expect(result.data_quality.issues).toEqual(["post: 3 of 8 samples unusable (3 transient)"]);
    expect(result.summary).toBe(
      "OK: 5 post samples within limits and consistent with baseline (3 baseline samples, 3 collection failures).",
    );
  });

  it("failure kinds are described separately per phase", () => {
    const result = run({
      failures: [
        { phase: "baseline", kind: "invalid" },
        { phase: "post", kind: "permanent" },
        { phase: "post", kind: "invalid" },
        { phase: "post", kind: "invalid" },
      ],
      plannedPostSamples: 8,
    });
    expect(result.data_quality.issues).toEqual([
      "baseline: 1 of 4 samples unusable (1 invalid values)",
      "post: 3 of 8 samples unusable (1 permanent, 2 invalid values)",
    ]);
  });

  it("clean data has a perfect score and no issues", () => {
    const result = run();
    expect(result.data_quality).toEqual({ score: 1, issues: [] });
    expect(result.summary).toBe(
      "OK: 5 post samples within limits and consistent with baseline (3 baseline samples).",
    );
  });
});

describe("confidence", () => {
  const confidenceFor = (overrides: Partial<AnalysisInput>) => run(overrides).confidence;

  it("rises strictly with more valid post samples", () => {
    const values = [3, 4, 5, 8, 12, 20].map((n) => confidenceFor({ post: samples(n) }));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] ?? 1);
  });

  it("rises strictly with more baseline samples", () => {
    const values = [1, 2, 3, 6].map((n) => confidenceFor({ baseline: samples(n) }));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] ?? 1);
  });

  it("drops with each additional failure", () => {
    const failures = (n: number) => Array(n).fill({ phase: "post", kind: "transient" });
    const values = [0, 1, 2, 3].map((n) => confidenceFor({ failures: failures(n), plannedPostSamples: 8 }));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1] ?? 0);
  });

  it("is much lower without a baseline and stays within 0..1", () => {
    const withBaseline = confidenceFor({});
    const withoutBaseline = confidenceFor({ baseline: [] });
    expect(withoutBaseline).toBeLessThan(withBaseline * 0.7);
    expect(withBaseline).toBeGreaterThan(0);
    expect(withBaseline).toBeLessThanOrEqual(1);
    expect(confidenceFor({ baseline: [], post: [], plannedPostSamples: 5 })).toBe(0);
  });
});

describe("determinism and purity", () => {
  const scenario = input({
    baseline: [sample({ latency_p95: 80 }), sample({ latency_p95: 95 }), sample({ latency_p95: 90 })],
    post: [sample({ latency_p95: 300, error_rate: 0.02 }), ...samples(6, { error_rate: 0.012 })],
    failures: [{ phase: "post", kind: "transient" }],
    plannedPostSamples: 8,
  });

  it("gives the same output for the same input", () => {
    expect(analyze(structuredClone(scenario))).toEqual(analyze(structuredClone(scenario)));
  });

  it("does not mutate its input", () => {
    const frozen = structuredClone(scenario);
    for (const list of [frozen.baseline, frozen.post, frozen.failures]) {
      for (const item of list) Object.freeze(item);
      Object.freeze(list);
    }
    expect(() => analyze(frozen)).not.toThrow();
    expect(frozen).toEqual(scenario);
  });

  it("every reason carries finite numbers for a metric finding", () => {
    const result = analyze(scenario);
    expect(result.reasons.length).toBeGreaterThan(0);
    for (const reason of result.reasons) {
      for (const value of [
        reason.baseline,
        reason.observed,
        reason.threshold,
        reason.exceed_ratio,
        reason.tolerance,
      ]) {
        expect(Number.isFinite(value)).toBe(true);
      }
    }
  });
});
