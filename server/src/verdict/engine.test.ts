import {
  AnalysisResult,
  type AnalysisSettings,
  AnalysisSettingsPatch,
  type AnalysisSettingsPatchInput,
  AnalysisSettings as AnalysisSettingsSchema,
  DEFAULT_ANALYSIS_SETTINGS,
  mergeAnalysisSettings,
  type VerdictValue,
} from "@seqpulse/types";
import { describe, expect, it } from "vitest";
import {
  analyze,
  ENGINE_VERSION,
  type EngineInput,
  type Observation,
  type PostObservation,
  type SlotFailure,
  shouldFailFast,
} from "./engine.js";

const TRIGGER = Date.UTC(2026, 0, 15, 12, 0, 0);
const FINISH = TRIGGER + 120_000;

type Metrics = Record<string, number | null>;
const HEALTHY: Metrics = {
  requests_per_sec: 100,
  latency_p95: 100,
  error_rate: 0.002,
  cpu_usage: 0.3,
  memory_usage: 0.4,
};

/** Deterministic jitter so that rank tests see distinct values: ±`spread` around 1. */
function jitter(i: number, spread: number): number {
  return 1 + spread * Math.sin(i * 2.39996);
}

interface Series {
  count: number;
  metrics?: (i: number) => Metrics;
  /** Requests and errors per observation; omitted: rates only. */
  counts?: (i: number) => { requests: number; errors: number } | null;
  seconds?: number;
}

/** One-minute history buckets ending at the trigger, oldest first. */
function history({ count, metrics = () => ({}), counts, seconds = 60 }: Series): Observation[] {
  return Array.from({ length: count }, (_, i) => {
    const end = TRIGGER - (count - 1 - i) * seconds * 1000;
    const c = counts?.(i) ?? null;
    return {
      start: end - seconds * 1000,
      end,
      source: "history",
      requests: c?.requests ?? null,
      errors: c?.errors ?? null,
      metrics: { ...HEALTHY, latency_p95: 100 * jitter(i, 0.05), ...metrics(i) },
    };
  });
}

function posts({ count, metrics = () => ({}), counts, seconds = 60 }: Series): PostObservation[] {
  return Array.from({ length: count }, (_, i) => {
    const end = FINISH + (i + 1) * seconds * 1000;
    const c = counts?.(i) ?? null;
    return {
      start: end - seconds * 1000,
      end,
      source: "sample",
      sequence: i + 1,
      requests: c?.requests ?? null,
      errors: c?.errors ?? null,
      metrics: { ...HEALTHY, latency_p95: 100 * jitter(i + 7, 0.05), ...metrics(i) },
    };
  });
}

function settingsWith(patch: AnalysisSettingsPatchInput = {}): AnalysisSettings {
  return mergeAnalysisSettings(DEFAULT_ANALYSIS_SETTINGS, AnalysisSettingsPatch.parse(patch));
}

function input(overrides: Partial<EngineInput> = {}): EngineInput {
  const post = overrides.post ?? posts({ count: 10 });
  return {
    baseline: history({ count: 30 }),
    post,
    lastKnownGood: [],
    failures: [],
    plannedPostSamples: post.length + (overrides.failures?.filter((f) => f.phase === "post").length ?? 0),
    sampleIntervalSeconds: 60,
    settings: DEFAULT_ANALYSIS_SETTINGS,
    ...overrides,
  };
}

function run(overrides: Partial<EngineInput> = {}): AnalysisResult {
  // Every result must satisfy the public contract.
  return AnalysisResult.parse(analyze(input(overrides)));
}

interface VerdictCase {
  name: string;
  input: Partial<EngineInput>;
  verdict: VerdictValue;
  /** Expected [metric, rule, severity] of the reasons, in order. */
  reasons: [string | null, string, "warning" | "critical"][];
}

function expectCase({ input: caseInput, verdict, reasons }: VerdictCase): AnalysisResult {
  const result = run(caseInput);
  expect(result.reasons.map((r) => [r.metric, r.rule, r.severity])).toEqual(reasons);
  expect(result.verdict).toBe(verdict);
  if (verdict !== "ok") expect(result.hints?.length).toBeGreaterThan(0);
  return result;
}

const perMinute = (rps: number, errorRate: number) => () => ({
  requests: rps * 60,
  errors: Math.round(rps * 60 * errorRate),
});

describe("errors on counts", () => {
  const cases: VerdictCase[] = [
    {
      name: "1 error in 20 requests is not a 5 % incident",
      input: {
        baseline: history({ count: 30, counts: () => ({ requests: 20, errors: 0 }) }),
        post: posts({ count: 5, counts: (i) => ({ requests: 20, errors: i === 2 ? 1 : 0 }) }),
      },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "a doubled error rate at 100 rps recommends rollback",
      input: {
        baseline: history({ count: 30, counts: perMinute(100, 0.003) }),
        post: posts({ count: 10, counts: perMinute(100, 0.006) }),
      },
      verdict: "rollback_recommended",
      reasons: [["error_rate", "regression", "critical"]],
    },
    {
      name: "1,000 extra errors at 200 rps are never ok, even over a baseline already at 5 %",
      input: {
        baseline: history({ count: 30, counts: perMinute(200, 0.05) }),
        post: posts({ count: 5, counts: () => ({ requests: 12_000, errors: 800 }) }),
      },
      verdict: "warning",
      reasons: [["error_rate", "absolute_limit", "warning"]],
    },
    {
      name: "×3 but fewer excess errors than min_excess_errors is no regression",
      input: {
        baseline: history({ count: 30, counts: () => ({ requests: 600, errors: 0 }) }),
        post: posts({ count: 10, counts: (i) => ({ requests: 600, errors: i < 6 ? 1 : 0 }) }),
        settings: settingsWith({ error_rate: { min_excess_errors: 10 } }),
      },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "a new breach of the error limit at volume rolls back",
      input: {
        baseline: history({ count: 30, counts: perMinute(100, 0.001) }),
        post: posts({ count: 10, counts: perMinute(100, 0.03) }),
        settings: settingsWith({ fail_fast_enabled: false }),
      },
      verdict: "rollback_recommended",
      reasons: [["error_rate", "absolute_limit", "critical"]],
    },
    {
      name: "errors made non-critical only warn",
      input: {
        baseline: history({ count: 30, counts: perMinute(100, 0.001) }),
        post: posts({ count: 10, counts: perMinute(100, 0.03) }),
        settings: settingsWith({ error_rate: { critical: false } }),
      },
      verdict: "warning",
      reasons: [["error_rate", "absolute_limit", "warning"]],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    expectCase(testCase);
  });

  it("a regression reason carries the exact test, its statistic and p-value", () => {
    const [reason] = run(cases[1]?.input).reasons;
    expect(reason).toMatchObject({
      test: "poisson_rate_ratio",
      statistic: 360,
      baseline: 0.003,
      observed: 0.006,
      threshold: 0.0045,
      severity: "critical",
    });
    expect(reason?.p_value).toBeLessThan(1e-6);
    expect(reason?.message).toContain("×2");
    expect(reason?.message).toContain("180 more errors in 60,000 requests");
  });

  it("the minimum excess is met exactly at min_excess_errors", () => {
    const base = history({ count: 30, counts: () => ({ requests: 6000, errors: 0 }) });
    const withExcess = (errors: number) =>
      run({
        baseline: base,
        post: posts({ count: 10, counts: (i) => ({ requests: 6000, errors: i < errors ? 1 : 0 }) }),
        settings: settingsWith({
          error_rate: { min_excess_errors: 8, regression_min_delta: 0, critical: false },
        }),
      });
    expect(withExcess(7).reasons.map((r) => r.rule)).not.toContain("regression");
    expect(withExcess(8).reasons.map((r) => [r.metric, r.rule])).toEqual([["error_rate", "regression"]]);
  });

  it("an error rate exactly at limit × safety_factor (0.9 %) is no breach", () => {
    const atLimit = (errors: number) =>
      run({
        baseline: history({ count: 30, counts: () => ({ requests: 6000, errors: 54 }) }),
        post: posts({ count: 10, counts: () => ({ requests: 6000, errors }) }),
        settings: settingsWith({ significance_level: 0.2 }),
      }).reasons.filter((r) => r.rule === "absolute_limit");
    expect(atLimit(54)).toEqual([]);
    expect(atLimit(60).map((r) => [r.metric, r.threshold])).toEqual([["error_rate", 0.009]]);
  });

  it("without counts, estimates them from requests_per_sec × interval and says so", () => {
    const result = run({
      baseline: history({ count: 30, metrics: () => ({ requests_per_sec: 100, error_rate: 0.003 }) }),
      post: posts({ count: 10, metrics: () => ({ requests_per_sec: 100, error_rate: 0.006 }) }),
    });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.data_quality.issues).toContain(
      "request and error counts estimated from requests_per_sec × interval for 40 of 40 observations",
    );
  });

  it("errors above the requests and negative counts are made safe, not trusted", () => {
    const result = run({
      baseline: history({ count: 30, counts: () => ({ requests: 6000, errors: -5 }) }),
      post: posts({ count: 10, counts: () => ({ requests: 6000, errors: 9000 }) }),
    });
    expect(result.reasons[0]).toMatchObject({ metric: "error_rate", observed: 1 });
    for (const reason of result.reasons) expect(reason.observed === null || reason.observed <= 1).toBe(true);
  });
});

describe("an inconclusive count says what would decide it", () => {
  const noLimit = settingsWith({ fail_fast_enabled: false, error_rate: { limit: 0.5 } });
  // 600 requests a minute; a baseline whose errors come in bursts (6 every other minute, 0.5 %).
  const bursty = history({ count: 30, counts: (i) => ({ requests: 600, errors: i % 2 === 0 ? 6 : 0 }) });
  const postOf = (count: number) => posts({ count, counts: () => ({ requests: 600, errors: 7 }) });

  it("names the post samples at this traffic that decide, and that many do", () => {
    const result = run({ baseline: bursty, post: postOf(5), settings: noLimit });
    expect(result.reasons.map((r) => [r.metric, r.rule])).toEqual([["error_rate", "inconclusive"]]);
    const needed = result.reasons[0]?.needed?.post_observations as number;
    expect(needed).toBeGreaterThan(5);
    expect(result.reasons[0]?.message).toContain(`about ${needed} post samples at this traffic would decide`);
    const longer = run({ baseline: bursty, post: postOf(needed), settings: noLimit });
    expect(longer.reasons.map((r) => [r.metric, r.rule])).toEqual([["error_rate", "regression"]]);
  });

  it("against one baseline point no longer window decides, and it says a larger baseline would", () => {
    const single = history({ count: 1, counts: () => ({ requests: 600, errors: 6 }) });
    const result = run({
      baseline: single,
      post: posts({ count: 5, counts: () => ({ requests: 600, errors: 14 }) }),
      settings: noLimit,
    });
    expect(result.reasons[0]).toMatchObject({
      metric: "error_rate",
      rule: "inconclusive",
      needed: { baseline_observations: null, post_observations: null },
    });
    expect(result.reasons[0]?.message).toContain("no longer window would decide against so small a baseline");
  });
});

describe("distributions against several baseline observations", () => {
  const slower = (factor: number) => (i: number) => ({ latency_p95: 100 * factor * jitter(i + 3, 0.05) });
  const cases: VerdictCase[] = [
    {
      name: "latency ×1.6 against a history baseline warns (latency is not critical)",
      input: { post: posts({ count: 10, metrics: slower(1.6) }) },
      verdict: "warning",
      reasons: [["latency_p95", "regression", "warning"]],
    },
    {
      name: "latency ×1.6 made critical rolls back",
      input: {
        post: posts({ count: 10, metrics: slower(1.6) }),
        settings: settingsWith({ latency_p95: { critical: true } }),
      },
      verdict: "rollback_recommended",
      reasons: [["latency_p95", "regression", "critical"]],
    },
    {
      name: "latency ×1.3 is below the default minimum effect (+50 ms)",
      input: { post: posts({ count: 10, metrics: slower(1.3) }) },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "cpu doubled warns",
      input: { post: posts({ count: 10, metrics: (i) => ({ cpu_usage: 0.6 + 0.01 * jitter(i, 1) }) }) },
      verdict: "warning",
      reasons: [["cpu_usage", "regression", "warning"]],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    expectCase(testCase);
  });

  it("reports the Mann-Whitney statistic and the Hodges-Lehmann location", () => {
    const [reason] = run(cases[0]?.input).reasons;
    expect(reason).toMatchObject({ test: "mann_whitney_u", statistic: 300 });
    expect(reason?.baseline).toBeCloseTo(100, 0);
    expect(reason?.threshold).toBeCloseTo((reason?.baseline ?? 0) + 50, 6);
    expect(reason?.observed).toBeGreaterThan(reason?.threshold ?? 0);
    expect(reason?.p_value).toBeLessThan(0.0001);
  });

  it("a shift exactly at the regression threshold counts", () => {
    // Baseline 99, 100, 101 (median 100, threshold 150); a constant post makes the shift exact.
    const base = history({ count: 30, metrics: (i) => ({ latency_p95: 99 + (i % 3) }) });
    const at = (latency: number) =>
      run({ baseline: base, post: posts({ count: 10, metrics: () => ({ latency_p95: latency }) }) });
    expect(at(150).reasons.map((r) => [r.rule, r.threshold])).toEqual([["regression", 150]]);
    expect(at(149.9).reasons).toEqual([]);
  });

  it("an effect that is not significant is inconclusive, with what would decide it", () => {
    const result = run({
      // 4 post samples above all 3 baseline ones (shift ≈ 2.5 × the minimum effect): exact p = 1/35,
      // under 5 × 0.01 but not under 0.01 / 2.
      baseline: history({ count: 3, metrics: (i) => ({ latency_p95: 100 + 30 * i }) }),
      post: posts({ count: 4, metrics: (i) => ({ latency_p95: [240, 250, 255, 260][i] ?? 0 }) }),
    });
    expect(result.verdict).toBe("warning");
    expect(result.reasons.map((r) => [r.metric, r.rule])).toEqual([["latency_p95", "inconclusive"]]);
    expect(result.reasons[0]?.p_value).toBeCloseTo(1 / 35, 4);
    expect(result.reasons[0]?.needed?.post_observations).toBe(6);
    expect(result.hints?.map((h) => h.code)).toContain("not_enough_evidence");
  });
});

describe("a single baseline observation", () => {
  it("never recommends a rollback on one point's noise: latency ×3 made critical only warns", () => {
    const result = run({
      baseline: history({ count: 1 }),
      post: posts({ count: 10, metrics: (i) => ({ latency_p95: 300 * jitter(i, 0.05) }) }),
      settings: settingsWith({ latency_p95: { critical: true, limit: 10_000 } }),
    });
    expect(result.verdict).toBe("warning");
    expect(result.reasons[0]).toMatchObject({ rule: "regression", severity: "warning" });
    expect(result.reasons[0]?.needed?.baseline_observations).toBeGreaterThanOrEqual(5);
    expect(result.data_quality.issues).toContain(
      "a single baseline observation: regressions of latency, cpu and memory can only warn",
    );
  });

  it("has lower confidence than the same post against a history baseline", () => {
    const post = posts({ count: 10 });
    expect(run({ baseline: history({ count: 1 }), post }).confidence).toBeLessThan(
      run({ baseline: history({ count: 30 }), post }).confidence,
    );
  });
});

describe("what a window of this volume could catch", () => {
  // 0.35 req/s: 21 requests a minute, an error in every tenth minute of the baseline (≈ 0.5 %).
  const lowBaseline = history({ count: 30, counts: (i) => ({ requests: 21, errors: i % 10 === 0 ? 1 : 0 }) });
  const lowPost = (errors: (i: number) => number, requests = 21) =>
    posts({ count: 5, counts: (i) => ({ requests, errors: errors(i) }) });
  const spread = (total: number) => (i: number) =>
    Math.floor((total * (i + 1)) / 5) - Math.floor((total * i) / 5);
  const errorLimitOf = (result: AnalysisResult) =>
    result.data_quality.detection_limits?.find((limit) => limit.metric === "error_rate");

  it("a busy window that could catch errors ×5 and a 60 % drop reports no limit", () => {
    const result = run({
      baseline: history({ count: 30, counts: perMinute(100, 0.003) }),
      post: posts({ count: 10, counts: perMinute(100, 0.003) }),
    });
    expect(result.verdict).toBe("ok");
    expect(result.data_quality.detection_limits).toBeUndefined();
    expect(result.summary).not.toContain("could not have caught");
  });

  it("a low-traffic ok says which error rate would have rolled back, and the engine agrees at that rate", () => {
    const result = run({ baseline: lowBaseline, post: lowPost(() => 0) });
    expect(result.verdict).toBe("ok");
    expect(result.summary).toContain("This window could not have caught errors ×5");
    const limit = errorLimitOf(result);
    expect(limit).toMatchObject({ post_requests: 105, baseline: 3 / 630 });
    expect(limit?.guarded).toBeCloseTo((5 * 3) / 630, 10);
    const rollbackAt = limit?.rollback_at as number;
    expect(rollbackAt).toBeGreaterThan(limit?.guarded as number);
    expect(
      result.data_quality.issues.some((issue) =>
        issue.startsWith("error_rate: 105 post requests could not have caught"),
      ),
    ).toBe(true);
    // Whole errors above the reported rate, and well below it, spread over the same 105 requests
    // (whole errors land unevenly, so fail-fast may catch a little less than the even rate).
    const above = Math.ceil(rollbackAt * 105 * 1.05);
    const below = Math.floor(rollbackAt * 105 * 0.6);
    expect(run({ baseline: lowBaseline, post: lowPost(spread(above)) }).verdict).toBe("rollback_recommended");
    expect(run({ baseline: lowBaseline, post: lowPost(spread(below)) }).verdict).not.toBe(
      "rollback_recommended",
    );
  });

  it("the longer window it names catches errors ×5, and one a third as long does not", () => {
    const limit = errorLimitOf(run({ baseline: lowBaseline, post: lowPost(() => 0) }));
    const needed = limit?.needed_post_requests as number;
    expect(needed).toBeGreaterThan(105);
    const atGuard = (requests: number) => {
      const perSlot = Math.ceil(requests / 5);
      const errors = Math.ceil((limit?.guarded as number) * perSlot * 5 * 1.05);
      return run({ baseline: lowBaseline, post: lowPost(spread(errors), perSlot) }).verdict;
    };
    expect(atGuard(needed * 1.05)).toBe("rollback_recommended");
    expect(atGuard(needed / 3)).not.toBe("rollback_recommended");
  });

  it("against a single low-traffic baseline point, not even traffic stopping could roll back, and it says so", () => {
    const single = history({ count: 1, seconds: 5, counts: () => ({ requests: 2, errors: 0 }) });
    const result = run({ baseline: single, post: lowPost(() => 0) });
    const traffic = result.data_quality.detection_limits?.find(
      (limit) => limit.metric === "requests_per_sec",
    );
    expect(traffic).toMatchObject({ rollback_at: null, needed_post_requests: null });
    expect(result.data_quality.issues.join("\n")).toContain(
      "no drop, not even to zero, would have recommended a rollback",
    );
    expect(run({ baseline: single, post: lowPost(() => 0, 0) }).verdict).not.toBe("rollback_recommended");
  });

  it("reports no limit where the rules themselves stand aside or already said enough", () => {
    const trafficLimit = (result: AnalysisResult) =>
      result.data_quality.detection_limits?.find((limit) => limit.metric === "requests_per_sec");
    // A deploy that ended an error incident is not judged on traffic at all: no limit to report.
    const incident = run({
      baseline: history({ count: 1, counts: () => ({ requests: 6_000, errors: 660 }) }),
      post: posts({ count: 10, counts: () => ({ requests: 6_000, errors: 6 }) }),
    });
    expect(incident.data_quality.issues.join("\n")).toContain("traffic drop not judged");
    expect(trafficLimit(incident)).toBeUndefined();
    // A 60 % drop is exactly max_drop 0.3 × fail_fast_factor 2: rounding must not make it a limit.
    const edge = run({
      baseline: history({ count: 1, counts: () => ({ requests: 6_000, errors: 12 }) }),
      post: posts({ count: 10, counts: () => ({ requests: 6_000, errors: 12 }) }),
      settings: settingsWith({ requests_per_sec: { max_drop: 0.3 } }),
    });
    expect(trafficLimit(edge)).toBeUndefined();
    // Too few post samples is already the reason not to trust the window.
    const short = run({ baseline: lowBaseline, post: lowPost(() => 0).slice(0, 2), plannedPostSamples: 5 });
    expect(short.reasons.map((r) => r.rule)).toContain("insufficient_data");
    expect(short.data_quality.detection_limits).toBeUndefined();
    // Over a baseline at 20 % errors or more, ×5 is not a rate there can be.
    const awful = run({
      baseline: history({ count: 30, counts: () => ({ requests: 21, errors: 5 }) }),
      post: lowPost(() => 5),
      settings: settingsWith({ error_rate: { limit: 0.9 } }),
    });
    expect(errorLimitOf(awful)).toBeUndefined();
  });

  it("names a window that keeps catching errors ×5 above it, and stays within the contract at huge counts", () => {
    const limit = errorLimitOf(run({ baseline: lowBaseline, post: lowPost(() => 0) }));
    const needed = limit?.needed_post_requests as number;
    for (const factor of [1.02, 1.1, 1.3, 2]) {
      const perSlot = Math.ceil((needed * factor) / 5);
      const errors = Math.ceil((limit?.guarded as number) * perSlot * 5 * 1.01);
      const verdict = run({ baseline: lowBaseline, post: lowPost(spread(errors), perSlot) }).verdict;
      expect(verdict, `×${factor}`).toBe("rollback_recommended");
    }
    // run() parses every result with the public schema: integers stay safe integers.
    const huge = run({
      baseline: history({ count: 30, counts: () => ({ requests: 1e15, errors: 1e12 }) }),
      post: posts({ count: 10, counts: () => ({ requests: 1e15, errors: 1e12 }) }),
    });
    expect(huge.verdict).toBe("ok");
  });

  it("with require_detection, such a window is inconclusive: a warning that says what would have been needed", () => {
    const plain = run({ baseline: lowBaseline, post: lowPost(() => 0) });
    const strict = run({
      baseline: lowBaseline,
      post: lowPost(() => 0),
      settings: settingsWith({ require_detection: true }),
    });
    expect(plain.verdict).toBe("ok");
    expect(strict.verdict).toBe("warning");
    const limit = errorLimitOf(strict);
    expect(strict.reasons).toEqual([
      expect.objectContaining({
        metric: "error_rate",
        rule: "inconclusive",
        severity: "warning",
        needed: {
          baseline_observations: null,
          post_observations: Math.ceil((5 * (limit?.needed_post_requests as number)) / 105),
        },
      }),
    ]);
    expect(strict.reasons[0]?.threshold).toBeCloseTo(limit?.rollback_at as number, 4);
    expect(strict.summary).toMatch(/^Warning: error_rate: 105 post requests could not have caught errors ×5/);
    expect(strict.hints?.map((hint) => hint.code)).toEqual(["not_enough_evidence"]);
    // A busy window that could catch them stays ok.
    const busy = run({
      baseline: history({ count: 30, counts: perMinute(100, 0.003) }),
      post: posts({ count: 10, counts: perMinute(100, 0.003) }),
      settings: settingsWith({ require_detection: true }),
    });
    expect(busy.verdict).toBe("ok");
  });

  it("with require_detection, a metric keeps one reason, and a window without traffic stays within the contract", () => {
    const strict = settingsWith({ require_detection: true });
    const dropped = run({
      baseline: history({ count: 30, counts: () => ({ requests: 6, errors: 0 }) }),
      post: posts({ count: 3, counts: () => ({ requests: 2, errors: 0 }) }),
      settings: strict,
    });
    const metrics = dropped.reasons.map((reason) => reason.metric);
    expect(new Set(metrics).size).toBe(metrics.length);
    // run() parses the result: no NaN where no request came after the deploy.
    const silent = run({
      baseline: history({ count: 30, counts: (i) => ({ requests: i % 2 === 0 ? 0 : 12, errors: 0 }) }),
      post: posts({ count: 3, counts: () => ({ requests: 0, errors: 0 }) }),
      settings: strict,
    });
    expect(silent.data_quality.issues.join("\n")).not.toContain("NaN");
  });

  it("halves the confidence of an ok that could not have caught them", () => {
    const limited = run({ baseline: lowBaseline, post: lowPost(() => 0) });
    const ungated = run({
      baseline: lowBaseline,
      post: lowPost(() => 0),
      settings: settingsWith({ error_rate: { critical: false }, requests_per_sec: { critical: false } }),
    });
    expect(ungated.data_quality.detection_limits).toBeUndefined();
    expect(limited.confidence).toBeCloseTo(ungated.confidence / 2, 2);
  });

  it("a rule that cannot recommend rollback, or a verdict that already does, reports no limit", () => {
    const notGated = run({
      baseline: lowBaseline,
      post: lowPost(() => 0),
      settings: settingsWith({ error_rate: { critical: false } }),
    });
    expect(errorLimitOf(notGated)).toBeUndefined();
    const rolledBack = run({ baseline: lowBaseline, post: lowPost(() => 10) });
    expect(rolledBack.verdict).toBe("rollback_recommended");
    expect(rolledBack.data_quality.detection_limits).toBeUndefined();
  });
});

describe("end state and trend", () => {
  it("a latency breach at the start that recovered is at most a warning", () => {
    const result = run({
      post: posts({ count: 10, metrics: (i) => ({ latency_p95: i < 3 ? 900 : 100 * jitter(i, 0.05) }) }),
      settings: settingsWith({ latency_p95: { critical: true } }),
    });
    expect(result.verdict).toBe("warning");
    expect(result.reasons[0]?.message).toContain("recovered by the end of the window");
    expect(result.hints?.map((h) => h.code)).toContain("warm_up");
  });

  it("a regression that starts halfway is caught in the latest half", () => {
    const result = run({
      baseline: history({ count: 30, counts: perMinute(100, 0.003) }),
      post: posts({ count: 10, counts: (i) => (i < 5 ? perMinute(100, 0.003)() : perMinute(100, 0.012)()) }),
    });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.reasons[0]).toMatchObject({ metric: "error_rate", severity: "critical" });
  });

  it("a steady memory creep is a trend warning with a leak hint", () => {
    const result = run({ post: posts({ count: 10, metrics: (i) => ({ memory_usage: 0.4 + 0.025 * i }) }) });
    expect(result.verdict).toBe("warning");
    expect(result.reasons.map((r) => [r.metric, r.rule, r.test])).toEqual([
      ["memory_usage", "trend", "kendall_tau"],
    ]);
    expect(result.reasons[0]?.message).toMatch(/rising .* per minute/);
    expect(result.hints?.map((h) => h.code)).toEqual(["memory_leak"]);
  });

  it("a flat noisy series is no trend", () => {
    const result = run({
      post: posts({ count: 10, metrics: (i) => ({ memory_usage: 0.4 + 0.02 * jitter(i, 1) }) }),
    });
    expect(result.verdict).toBe("ok");
  });
});

describe("baseline-aware limits", () => {
  it("a metric already over its limit and not worse is a warning about the service, not a rollback", () => {
    const result = run({
      baseline: history({ count: 30, counts: perMinute(100, 0.03) }),
      post: posts({ count: 10, counts: perMinute(100, 0.03) }),
    });
    expect(result.verdict).toBe("warning");
    expect(result.reasons[0]?.message).toContain("already over the limit before the deploy");
    expect(result.hints?.map((h) => h.code)).toContain("preexisting_problem");
  });

  it("a deploy that fixes an incident, and its retry storm, is ok", () => {
    const result = run({
      baseline: history({ count: 30, counts: perMinute(300, 0.05) }),
      post: posts({ count: 10, counts: perMinute(100, 0.002) }),
    });
    expect(result.verdict).toBe("ok");
    expect(result.data_quality.issues.join(" ")).toContain("traffic drop not judged");
  });

  it("a worse breach over a bad baseline still rolls back", () => {
    const result = run({
      baseline: history({ count: 30, counts: perMinute(100, 0.02) }),
      post: posts({ count: 10, counts: perMinute(100, 0.08) }),
      settings: settingsWith({ fail_fast_enabled: false }),
    });
    expect(result.verdict).toBe("rollback_recommended");
  });

  it("latency already over its limit before the deploy is a preexisting warning", () => {
    const slow = (i: number) => ({ latency_p95: 400 * jitter(i, 0.05) });
    const result = run({
      baseline: history({ count: 30, metrics: slow }),
      post: posts({ count: 10, metrics: slow }),
      settings: settingsWith({ latency_p95: { critical: true } }),
    });
    expect(result.reasons.map((r) => [r.metric, r.rule, r.severity])).toEqual([
      ["latency_p95", "absolute_limit", "warning"],
    ]);
  });
});

describe("traffic", () => {
  const traffic = (rate: (i: number) => number) => (i: number) => ({
    requests: Math.round(rate(i) * 60),
    errors: 0,
  });
  const cases: VerdictCase[] = [
    {
      name: "a diurnal ramp is not a drop",
      input: {
        baseline: history({ count: 30, counts: traffic((i) => 100 - 0.5 * i) }),
        post: posts({ count: 10, counts: traffic((i) => 83 - 0.5 * i) }),
      },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "a 60 % fall rolls back",
      input: {
        baseline: history({ count: 30, counts: traffic(() => 100) }),
        post: posts({ count: 10, counts: traffic(() => 40) }),
        settings: settingsWith({ fail_fast_enabled: false }),
      },
      verdict: "rollback_recommended",
      reasons: [["requests_per_sec", "traffic_drop", "critical"]],
    },
    {
      name: "a decline only the latest half shows, short of a gross drop, only warns (a long window sees the day's own)",
      input: {
        baseline: history({ count: 30, counts: traffic(() => 100) }),
        post: posts({ count: 10, counts: traffic((i) => (i < 5 ? 95 : 75)) }),
        settings: settingsWith({ fail_fast_enabled: false }),
      },
      verdict: "warning",
      reasons: [["requests_per_sec", "traffic_drop", "warning"]],
    },
    {
      name: "traffic lost halfway, a gross drop, rolls back",
      input: {
        baseline: history({ count: 30, counts: traffic(() => 100) }),
        post: posts({ count: 10, counts: traffic((i) => (i < 5 ? 100 : 30)) }),
        settings: settingsWith({ fail_fast_enabled: false }),
      },
      verdict: "rollback_recommended",
      reasons: [["requests_per_sec", "traffic_drop", "critical"]],
    },
    {
      name: "traffic lost late in the window, grossly, still rolls back",
      input: {
        baseline: history({ count: 30, counts: traffic(() => 100) }),
        post: posts({ count: 10, counts: traffic((i) => (i < 7 ? 100 : 40)) }),
        settings: settingsWith({ fail_fast_enabled: false }),
      },
      verdict: "rollback_recommended",
      reasons: [["requests_per_sec", "traffic_drop", "critical"]],
    },
    {
      name: "exactly max_drop (20 %) below the baseline is no drop",
      input: {
        baseline: history({ count: 30, counts: traffic(() => 100) }),
        post: posts({ count: 10, counts: traffic(() => 80) }),
      },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "a baseline under min_baseline_rps is not judged, even when traffic stops",
      input: {
        baseline: history({ count: 30, counts: traffic(() => 0.05) }),
        post: posts({ count: 10, counts: traffic(() => 0) }),
      },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "traffic stopping after the deploy rolls back with an app-not-serving hint",
      input: {
        baseline: history({ count: 30, counts: traffic(() => 50) }),
        post: posts({ count: 10, counts: traffic(() => 0) }),
        settings: settingsWith({ fail_fast_enabled: false }),
      },
      verdict: "rollback_recommended",
      reasons: [["requests_per_sec", "traffic_drop", "critical"]],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    const result = expectCase(testCase);
    if (testCase.name.startsWith("traffic stopping")) expect(result.hints?.[0]?.code).toBe("app_not_serving");
  });

  it("a zero-traffic batch service is judged on resources only", () => {
    const batch = { requests_per_sec: 0, error_rate: 0, latency_p95: 0 };
    const result = run({
      baseline: history({ count: 30, metrics: () => batch, counts: () => ({ requests: 0, errors: 0 }) }),
      post: posts({ count: 10, metrics: () => batch, counts: () => ({ requests: 0, errors: 0 }) }),
    });
    expect(result.verdict).toBe("ok");
    expect(result.data_quality.issues).toContain(
      "no requests before or after the deploy: latency and errors not judged",
    );
  });

  it("a p95 measured on almost no requests is no data", () => {
    const result = run({
      baseline: history({ count: 30, counts: () => ({ requests: 30, errors: 0 }) }),
      post: posts({
        count: 10,
        metrics: () => ({ latency_p95: 5000 }),
        counts: () => ({ requests: 5, errors: 0 }),
      }),
      settings: settingsWith({ requests_per_sec: { critical: false } }),
    });
    expect(result.reasons.map((r) => r.metric)).not.toContain("latency_p95");
    expect(result.data_quality.issues).toContain(
      "latency_p95 ignored in 10 observations with fewer than 20 requests (no data)",
    );
  });
});

describe("failures are evidence", () => {
  const failed = (sequences: number[], kind: SlotFailure["kind"] = "transient"): SlotFailure[] =>
    sequences.map((sequence) => ({ phase: "post", sequence, kind }));
  const firstPosts = (count: number) => posts({ count });

  const cases: VerdictCase[] = [
    {
      name: "four failed slots in a row at the end, after the endpoint answered, roll back",
      input: { post: firstPosts(6), failures: failed([7, 8, 9, 10]), plannedPostSamples: 10 },
      verdict: "rollback_recommended",
      reasons: [[null, "endpoint_failures", "critical"]],
    },
    {
      name: "four failed slots in a row that recovered warn",
      input: {
        post: firstPosts(10).filter((p) => p.sequence < 3 || p.sequence > 6),
        failures: failed([3, 4, 5, 6]),
        plannedPostSamples: 10,
      },
      verdict: "warning",
      reasons: [[null, "endpoint_failures", "warning"]],
    },
    {
      name: "scattered transient failures only lower confidence",
      input: {
        post: firstPosts(10).filter((p) => ![2, 5, 8].includes(p.sequence)),
        failures: failed([2, 5, 8]),
        plannedPostSamples: 10,
      },
      verdict: "ok",
      reasons: [],
    },
    {
      name: "a run of invalid payloads is a warning: the application answers",
      input: { post: firstPosts(6), failures: failed([7, 8, 9, 10], "invalid"), plannedPostSamples: 10 },
      verdict: "warning",
      reasons: [[null, "endpoint_failures", "warning"]],
    },
    {
      name: "an endpoint that never answered is insufficient data, not a rollback",
      input: {
        baseline: [],
        post: [],
        failures: [{ phase: "baseline", sequence: 0, kind: "permanent" }, ...failed([1, 2, 3, 4, 5])],
        plannedPostSamples: 5,
      },
      verdict: "warning",
      reasons: [
        [null, "insufficient_data", "warning"],
        [null, "insufficient_data", "warning"],
      ],
    },
  ];
  it.each(cases)("$name", (testCase) => {
    expectCase(testCase);
  });

  it("scattered failures give lower confidence than none", () => {
    const clean = run({ post: firstPosts(10) });
    const scattered = run(cases[2]?.input);
    expect(scattered.confidence).toBeLessThan(clean.confidence);
    expect(scattered.data_quality.issues).toContain("post: 3 of 10 samples unusable (3 transient)");
  });

  it("an all-failed window after the endpoint had answered rolls back, never ok", () => {
    const result = run({ post: [], failures: failed([1, 2, 3, 4, 5]), plannedPostSamples: 5 });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.hints?.[0]?.code).toBe("app_not_serving");
  });
});

describe("insufficient data", () => {
  it("too few post samples caps findings to warnings and says what was required", () => {
    const result = run({
      baseline: history({ count: 30, counts: perMinute(100, 0.001) }),
      post: posts({ count: 2, counts: perMinute(100, 0.004) }),
      plannedPostSamples: 10,
      settings: settingsWith({ fail_fast_enabled: false }),
    });
    expect(result.verdict).toBe("warning");
    expect(
      result.reasons.some((r) => r.rule === "insufficient_data" && r.needed?.post_observations === 6),
    ).toBe(true);
  });

  it("uses the last known good deployment when there is no baseline of its own", () => {
    const result = run({ baseline: [], lastKnownGood: history({ count: 10 }) });
    expect(result.verdict).toBe("ok");
    expect(result.summary).toContain("of the last ok deployment");
    expect(result.data_quality.issues[0]).toContain("last ok deployment");
  });
});

describe("custom metrics", () => {
  const withQueue = (base: number, post: number) => ({
    baseline: history({
      count: 30,
      metrics: (i) => ({ queue_depth: base * jitter(i, 0.05), hit_ratio: 0.9 }),
    }),
    post: posts({ count: 10, metrics: (i) => ({ queue_depth: post * jitter(i, 0.05), hit_ratio: 0.9 }) }),
  });
  it("a critical custom metric over its limit rolls back", () => {
    const result = run({
      ...withQueue(10, 200),
      settings: settingsWith({
        fail_fast_enabled: false,
        custom_metrics: { queue_depth: { direction: "higher_is_worse", limit: 100, critical: true } },
      }),
    });
    expect(result.reasons.map((r) => [r.metric, r.rule, r.severity])).toEqual([
      ["queue_depth", "absolute_limit", "critical"],
    ]);
    expect(result.hints?.map((h) => h.code)).toContain("custom_metric");
  });

  it("a lower-is-worse custom metric that fell is a regression", () => {
    const result = run({
      baseline: history({ count: 30, metrics: (i) => ({ hit_ratio: 0.9 * jitter(i, 0.02) }) }),
      post: posts({ count: 10, metrics: (i) => ({ hit_ratio: 0.4 * jitter(i, 0.02) }) }),
      settings: settingsWith({ custom_metrics: { hit_ratio: { direction: "lower_is_worse" } } }),
    });
    expect(result.reasons.map((r) => [r.metric, r.rule])).toEqual([["hit_ratio", "regression"]]);
    expect(result.reasons[0]?.observed).toBeLessThan(0.5);
    expect(result.reasons[0]?.message).toContain("fell from baseline");
  });

  it("a custom metric without a rule is not judged", () => {
    expect(run(withQueue(10, 200)).verdict).toBe("ok");
  });
});

describe("settings", () => {
  it("settings stored before engine 2 parse, with the new fields' defaults", () => {
    const { significance_level, consecutive_error_limit, dry_run, custom_metrics, ...old } =
      DEFAULT_ANALYSIS_SETTINGS;
    const { min_excess_errors, ...oldErrors } = old.error_rate;
    const stored = { ...old, error_rate: oldErrors };
    const parsed = AnalysisSettingsSchema.parse(stored);
    expect(parsed).toMatchObject({
      significance_level: 0.01,
      consecutive_error_limit: 4,
      dry_run: false,
      custom_metrics: {},
    });
    expect(parsed.error_rate.min_excess_errors).toBe(10);
    expect(run({ settings: stored }).verdict).toBe("ok");
  });

  it("refuses custom metric names that are built-in or malformed", () => {
    for (const name of ["latency_p95", "Queue", "9lives"]) {
      const result = AnalysisSettingsSchema.safeParse({
        ...DEFAULT_ANALYSIS_SETTINGS,
        custom_metrics: { [name]: { direction: "higher_is_worse" } },
      });
      expect(result.success).toBe(false);
    }
  });

  it("dry_run is passed through to the verdict and its summary", () => {
    const result = run({
      baseline: history({ count: 30, counts: perMinute(100, 0.001) }),
      post: posts({ count: 10, counts: perMinute(100, 0.03) }),
      settings: settingsWith({ dry_run: true, fail_fast_enabled: false }),
    });
    expect(result).toMatchObject({
      verdict: "rollback_recommended",
      dry_run: true,
      engine_version: ENGINE_VERSION,
    });
    expect(result.summary).toMatch(
      /^Dry run — Rollback recommended: .*\(recorded only: the project is in dry run\)\.$/,
    );
  });
});

describe("shouldFailFast", () => {
  const base = history({ count: 30, counts: perMinute(100, 0.002) });
  const cases: { name: string; input: Partial<EngineInput>; expected: boolean }[] = [
    {
      name: "errors at 2× the limit in the last two samples, at volume",
      input: { baseline: base, post: posts({ count: 2, counts: perMinute(100, 0.05) }) },
      expected: true,
    },
    {
      name: "two errors in ten requests are not enough evidence",
      input: {
        baseline: history({ count: 30, counts: () => ({ requests: 5, errors: 0 }) }),
        post: posts({ count: 2, counts: () => ({ requests: 5, errors: 1 }) }),
      },
      expected: false,
    },
    {
      name: "only the latest sample bad",
      input: {
        baseline: base,
        post: posts({
          count: 3,
          counts: (i) => (i === 2 ? perMinute(100, 0.05)() : perMinute(100, 0.002)()),
        }),
      },
      expected: false,
    },
    {
      name: "a baseline already at fail-fast level",
      input: {
        baseline: history({ count: 30, counts: perMinute(100, 0.05) }),
        post: posts({ count: 2, counts: perMinute(100, 0.05) }),
      },
      expected: false,
    },
    {
      name: "traffic collapsed in the last two samples",
      input: { baseline: base, post: posts({ count: 2, counts: () => ({ requests: 0, errors: 0 }) }) },
      expected: true,
    },
    {
      name: "disabled",
      input: {
        baseline: base,
        post: posts({ count: 2, counts: perMinute(100, 0.05) }),
        settings: settingsWith({ fail_fast_enabled: false }),
      },
      expected: false,
    },
    {
      name: "the endpoint failing four slots in a row after it answered",
      input: {
        baseline: base,
        post: posts({ count: 1, counts: perMinute(100, 0.002) }),
        failures: [2, 3, 4, 5].map((sequence) => ({ phase: "post", sequence, kind: "transient" })),
      },
      expected: true,
    },
    {
      name: "a healthy start",
      input: { baseline: base, post: posts({ count: 4, counts: perMinute(100, 0.002) }) },
      expected: false,
    },
  ];
  it.each(cases)("$name -> $expected", ({ input: caseInput, expected }) => {
    expect(shouldFailFast(input({ plannedPostSamples: 10, ...caseInput }))).toBe(expected);
  });

  it("a window cut by fail-fast rolls back even with fewer than min_post_samples", () => {
    const result = run({
      baseline: base,
      post: posts({ count: 2, counts: perMinute(100, 0.05) }),
      plannedPostSamples: 10,
    });
    expect(result.verdict).toBe("rollback_recommended");
    expect(result.reasons[0]).toMatchObject({
      metric: "error_rate",
      rule: "fail_fast",
      test: "binomial_limit",
    });
    expect(result.data_quality.issues).toContain(
      "window cut short by fail-fast after 2 of 10 planned post samples",
    );
  });
});

describe("arithmetic, determinism and purity", () => {
  it("extreme values give finite numbers everywhere", () => {
    const huge = (i: number) => ({ latency_p95: 1.7e308 * jitter(i, 0.01), cpu_usage: 1, memory_usage: 1 });
    const result = run({
      baseline: history({
        count: 30,
        metrics: () => ({ latency_p95: 1.7e308 }),
        counts: () => ({ requests: 1e300, errors: 1e300 }),
      }),
      post: posts({ count: 10, metrics: huge, counts: () => ({ requests: 1e300, errors: 0 }) }),
    });
    const numbers = result.reasons.flatMap((r) => [
      r.baseline,
      r.observed,
      r.threshold,
      r.exceed_ratio,
      r.statistic,
      r.p_value,
    ]);
    for (const value of numbers) expect(value === null || Number.isFinite(value)).toBe(true);
    expect(Number.isFinite(result.confidence)).toBe(true);
  });

  it("the median of two 1.7e308 baseline values is not Infinity", () => {
    const result = run({
      baseline: history({ count: 2, metrics: () => ({ latency_p95: 1.7e308 }) }),
      post: posts({ count: 10, metrics: () => ({ latency_p95: 1.7e308 }) }),
    });
    const latency = result.reasons.find((r) => r.metric === "latency_p95");
    expect(latency?.baseline).toBe(1.7e308);
  });

  it("gives the same output for the same input and does not mutate it", () => {
    const scenario = input({
      post: posts({ count: 10, metrics: (i) => ({ latency_p95: 200 + i }), counts: perMinute(100, 0.004) }),
      failures: [{ phase: "post", sequence: 11, kind: "transient" }],
    });
    const frozen = structuredClone(scenario);
    for (const list of [frozen.baseline, frozen.post, frozen.failures]) {
      for (const item of list) Object.freeze(item);
      Object.freeze(list);
    }
    expect(analyze(frozen)).toEqual(analyze(structuredClone(scenario)));
    expect(frozen).toEqual(scenario);
  });
});
