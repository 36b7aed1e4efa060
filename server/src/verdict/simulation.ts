/**
 * Generated services for the verdict benchmark (`pnpm bench:verdict`) and its seeded test: Poisson
 * request and error counts per 15-second tick (errors overdispersed, traffic with a diurnal drift),
 * p95 from the requests behind it, CPU and memory noise, scattered transient collection failures.
 * Deterministic for a seed.
 */
import { type AnalysisResult, DEFAULT_ANALYSIS_SETTINGS, type VerdictValue } from "@seqpulse/types";
import type { EngineInput, Observation, PostObservation, SlotFailure } from "./evidence.js";

export interface ServiceProfile {
  rps: number;
  errorRate: number;
  /** p95 latency in ms at the nominal state. */
  latencyP95: number;
  /** σ of the per-tick log-normal factor on latency (load, GC, neighbours). */
  latencyNoise: number;
  cpu: number;
  cpuNoise: number;
  memory: number;
  memoryNoise: number;
  /** σ of the per-tick log-normal factor on traffic (burstiness beyond Poisson). */
  trafficNoise: number;
}

export const PROFILES = {
  busy: {
    rps: 120,
    errorRate: 0.003,
    latencyP95: 120,
    latencyNoise: 0.06,
    cpu: 0.35,
    cpuNoise: 0.03,
    memory: 0.5,
    memoryNoise: 0.01,
    trafficNoise: 0.05,
  },
  noisy: {
    rps: 40,
    errorRate: 0.005,
    latencyP95: 200,
    latencyNoise: 0.18,
    cpu: 0.45,
    cpuNoise: 0.08,
    memory: 0.55,
    memoryNoise: 0.03,
    trafficNoise: 0.15,
  },
  low_traffic: {
    rps: 0.35,
    errorRate: 0.004,
    latencyP95: 150,
    latencyNoise: 0.1,
    cpu: 0.1,
    cpuNoise: 0.02,
    memory: 0.3,
    memoryNoise: 0.01,
    trafficNoise: 0.1,
  },
  batch: {
    rps: 0,
    errorRate: 0,
    latencyP95: 0,
    latencyNoise: 0,
    cpu: 0.45,
    cpuNoise: 0.1,
    memory: 0.45,
    memoryNoise: 0.04,
    trafficNoise: 0,
  },
} satisfies Record<string, ServiceProfile>;
export type ProfileName = keyof typeof PROFILES;

export const FAULTS = [
  "healthy",
  "errors_x2",
  "errors_x5",
  "latency_x1.3",
  "latency_x1.6",
  "latency_x3",
  "traffic_-30%",
  "traffic_-60%",
  "memory_leak",
  "late_regression",
] as const;
export type Fault = (typeof FAULTS)[number];

/** What a right verdict is: ok for a healthy service, non-ok for a fault, a rollback for the gross ones. */
const EXPECTED: Record<Fault, "ok" | "not_ok" | "rollback"> = {
  healthy: "ok",
  errors_x2: "not_ok",
  errors_x5: "rollback",
  "latency_x1.3": "not_ok",
  "latency_x1.6": "not_ok",
  latency_x3: "not_ok",
  "traffic_-30%": "not_ok",
  "traffic_-60%": "rollback",
  memory_leak: "not_ok",
  late_regression: "not_ok",
};

const LATENCY_FACTOR: Partial<Record<Fault, number>> = {
  "latency_x1.3": 1.3,
  "latency_x1.6": 1.6,
  latency_x3: 3,
};

/**
 * The right verdict for a fault on a profile. A latency fault smaller than the default minimum
 * effect (×1.25 and +50 ms: ×1.3 of a 120 ms p95 is +36 ms) is one the settings say to let pass.
 */
export function expectedVerdict(profile: ProfileName, fault: Fault): "ok" | "not_ok" | "rollback" {
  const factor = LATENCY_FACTOR[fault];
  if (factor !== undefined) {
    const { regression_min_ratio, regression_min_delta } = DEFAULT_ANALYSIS_SETTINGS.latency_p95;
    const p95 = PROFILES[profile].latencyP95;
    if (factor < regression_min_ratio || p95 * (factor - 1) < regression_min_delta) return "ok";
  }
  return EXPECTED[fault];
}

export function isRight(profile: ProfileName, fault: Fault, verdict: VerdictValue): boolean {
  const expected = expectedVerdict(profile, fault);
  if (expected === "ok") return verdict === "ok";
  if (expected === "rollback") return verdict === "rollback_recommended";
  return verdict !== "ok";
}

export interface Scenario {
  profile: ProfileName;
  fault: Fault;
  /** One sample at trigger, or 30 one-minute history buckets and the sample at trigger. */
  baseline: "single" | "history";
  /** Request and error counts in every observation, or rates only (rolling over the last minute). */
  counts: boolean;
}

/** A batch service has no requests: only its resources can be faulty. */
export function applicable(profile: ProfileName, fault: Fault): boolean {
  return profile !== "batch" || fault === "healthy" || fault === "memory_leak";
}

export function allScenarios(): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const profile of Object.keys(PROFILES) as ProfileName[]) {
    for (const fault of FAULTS) {
      if (!applicable(profile, fault)) continue;
      for (const baseline of ["history", "single"] as const) {
        for (const counts of [true, false]) scenarios.push({ profile, fault, baseline, counts });
      }
    }
  }
  return scenarios;
}

export interface VerdictEngine {
  analyze(input: EngineInput): Pick<AnalysisResult, "verdict" | "confidence" | "data_quality">;
  shouldFailFast(input: EngineInput): boolean;
}

export interface Tally {
  trials: number;
  ok: number;
  warning: number;
  rollback: number;
  /** ok verdicts that said the window was too small to catch errors ×5 or a 60 % drop. */
  okLimited: number;
  right: number;
  rightConfidence: number;
  wrongConfidence: number;
}

export function runScenario(scenario: Scenario, trials: number, seed: number, engine: VerdictEngine): Tally {
  const random = mulberry32(
    hash(`${seed}:${scenario.profile}:${scenario.fault}:${scenario.baseline}:${scenario.counts}`),
  );
  const tally: Tally = {
    trials,
    ok: 0,
    warning: 0,
    rollback: 0,
    okLimited: 0,
    right: 0,
    rightConfidence: 0,
    wrongConfidence: 0,
  };
  for (let trial = 0; trial < trials; trial++) {
    const { verdict, confidence, data_quality } = runTrial(scenario, random, engine);
    if (verdict === "ok" && (data_quality.detection_limits?.length ?? 0) > 0) tally.okLimited++;
    if (verdict === "ok") tally.ok++;
    else if (verdict === "warning") tally.warning++;
    else tally.rollback++;
    if (isRight(scenario.profile, scenario.fault, verdict)) {
      tally.right++;
      tally.rightConfidence += confidence;
    } else {
      tally.wrongConfidence += confidence;
    }
  }
  return tally;
}

export const TICK_SECONDS = 15;
const TRIGGER = Date.UTC(2026, 11, 1, 12, 0, 0);
const HISTORY_BUCKETS = 30;
const DEPLOY_SECONDS = 120;
const ROLLING_SECONDS = 60;
const INTERVALS = [15, 30, 60];
const WINDOWS = [300, 600];
/** σ of a request's log latency: the p95 sits 1.645 σ above the median. */
const REQUEST_SPREAD = 0.6;
/** σ of the per-tick log factor on the error rate: errors come in bursts. */
const ERROR_BURSTINESS = 0.3;
const TRANSIENT_FAILURE_SHARE = 0.03;

/** One 15-second tick of a generated service, with what the oracle bound may know (server/bench/oracle.ts). */
export interface Tick {
  start: number;
  requests: number;
  errors: number;
  latencyFactor: number;
  /**
   * Expected errors of the tick without the fault (requests × error rate × the tick's burst factor):
   * given it, the errors are Poisson with this mean times the fault's factor.
   */
  errorExposure: number;
}

/** A generated deployment: the engine's input and the ticks it was observed from. */
export interface GeneratedTrial {
  input: EngineInput;
  ticks: Tick[];
  /** End of the deploy: the post window is [finish, postEnd). */
  finish: number;
  postEnd: number;
  interval: number;
  window: number;
}

/** Fixed sample interval and window (seconds) instead of the generator's draws (for volume what-ifs). */
export interface TrialOverrides {
  interval?: number;
  window?: number;
}

/** One deployment of the scenario's service, through the collector's fail-fast loop to its verdict. */
export function runTrial(scenario: Scenario, random: () => number, engine: VerdictEngine) {
  const input = generate(scenario, random);
  // The collector asks for fail-fast after every settled post slot.
  const slots = [
    ...input.post.map((observation) => observation.sequence),
    ...input.failures.map((failure) => failure.sequence),
  ].sort((a, b) => a - b);
  for (const sequence of slots.slice(0, -1)) {
    const partial = {
      ...input,
      post: input.post.filter((observation) => observation.sequence <= sequence),
      failures: input.failures.filter((failure) => failure.sequence <= sequence),
    };
    if (engine.shouldFailFast(partial)) return engine.analyze(partial);
  }
  return engine.analyze(input);
}

export function generate(scenario: Scenario, random: () => number): EngineInput {
  return generateTrial(scenario, random).input;
}

/** As `generate`, with the ticks behind the observations (the random draws are the same). */
export function generateTrial(
  scenario: Scenario,
  random: () => number,
  overrides: TrialOverrides = {},
): GeneratedTrial {
  const profile: ServiceProfile = PROFILES[scenario.profile];
  const gauss = () => normal(random);
  const interval = overrides.interval ?? pick(INTERVALS, random);
  const window = overrides.window ?? pick(WINDOWS, random);
  const drift = (random() * 2 - 1) * 0.15;
  const finish = TRIGGER + DEPLOY_SECONDS * 1000;
  const postEnd = finish + window * 1000;
  const firstTick = TRIGGER - HISTORY_BUCKETS * 60_000;
  const fault = scenario.fault;

  const effect = (time: number) => {
    const after = time >= finish;
    const late = time >= finish + (window * 1000) / 2;
    return {
      traffic: after && fault === "traffic_-30%" ? 0.7 : after && fault === "traffic_-60%" ? 0.4 : 1,
      errors:
        after && fault === "errors_x2"
          ? 2
          : after && fault === "errors_x5"
            ? 5
            : late && fault === "late_regression"
              ? 3
              : 1,
      latency:
        after && fault === "latency_x1.3"
          ? 1.3
          : after && fault === "latency_x1.6"
            ? 1.6
            : after && fault === "latency_x3"
              ? 3
              : late && fault === "late_regression"
                ? 2
                : 1,
      memory: after && fault === "memory_leak" ? (0.15 * (time - finish)) / (window * 1000) : 0,
    };
  };

  const ticks: Tick[] = [];
  for (let start = firstTick; start < postEnd; start += TICK_SECONDS * 1000) {
    const middle = start + (TICK_SECONDS * 1000) / 2;
    const change = effect(middle);
    const level = Math.max(0, 1 + (drift * (middle - TRIGGER)) / 3_600_000);
    const rate = profile.rps * level * change.traffic * Math.exp(profile.trafficNoise * gauss());
    const requests = poisson(rate * TICK_SECONDS, random);
    const burst = Math.exp(ERROR_BURSTINESS * gauss());
    const errorProbability = Math.min(1, profile.errorRate * change.errors * burst);
    const errors = Math.min(requests, poisson(requests * errorProbability, random));
    ticks.push({
      start,
      requests,
      errors,
      latencyFactor: change.latency * Math.exp(profile.latencyNoise * gauss()),
      errorExposure: requests * profile.errorRate * burst,
    });
  }
  const tickAt = (time: number) => Math.floor((time - firstTick) / (TICK_SECONDS * 1000));

  const observe = (start: number, end: number, source: Observation["source"]): Observation => {
    const span = ticks.slice(tickAt(start), tickAt(end));
    const requests = sum(span, (tick) => tick.requests);
    const errors = sum(span, (tick) => tick.errors);
    const rolling = scenario.counts ? span : ticks.slice(tickAt(end - ROLLING_SECONDS * 1000), tickAt(end));
    const rollingRequests = sum(rolling, (tick) => tick.requests);
    const rollingErrors = sum(rolling, (tick) => tick.errors);
    const seconds = scenario.counts ? (end - start) / 1000 : ROLLING_SECONDS;
    const change = effect(end);
    return {
      start,
      end,
      source,
      requests: scenario.counts ? requests : null,
      errors: scenario.counts ? errors : null,
      metrics: {
        requests_per_sec: rollingRequests / seconds,
        error_rate: rollingRequests > 0 ? rollingErrors / rollingRequests : 0,
        latency_p95: percentile95(span, profile.latencyP95, random),
        cpu_usage: clamp01(profile.cpu + profile.cpuNoise * gauss()),
        memory_usage: clamp01(profile.memory + change.memory + profile.memoryNoise * gauss()),
      },
    };
  };

  const baseline: Observation[] = [];
  if (scenario.baseline === "history") {
    for (let bucket = HISTORY_BUCKETS; bucket >= 1; bucket--) {
      const end = TRIGGER - (bucket - 1) * 60_000;
      baseline.push(observe(end - 60_000, end, "history"));
    }
  }
  baseline.push(observe(TRIGGER - interval * 1000, TRIGGER, "sample"));

  const post: PostObservation[] = [];
  const failures: SlotFailure[] = [];
  const planned = window / interval;
  for (let sequence = 1; sequence <= planned; sequence++) {
    const end = finish + sequence * interval * 1000;
    const observation = observe(end - interval * 1000, end, "sample");
    if (random() < TRANSIENT_FAILURE_SHARE) failures.push({ phase: "post", sequence, kind: "transient" });
    else post.push({ ...observation, sequence });
  }
  const input: EngineInput = {
    baseline,
    post,
    lastKnownGood: [],
    failures,
    plannedPostSamples: planned,
    sampleIntervalSeconds: interval,
    settings: DEFAULT_ANALYSIS_SETTINGS,
  };
  return { input, ticks, finish, postEnd, interval, window };
}

/**
 * The p95 an SDK would report over these ticks: from each request's latency when there are few
 * (0 with none, as endpoints report), else the population p95 with its sampling noise.
 */
export function percentile95(
  span: readonly Pick<Tick, "requests" | "latencyFactor">[],
  p95: number,
  random: () => number,
): number {
  const requests = sum(span, (tick) => tick.requests);
  if (requests === 0) return 0;
  const factor = sum(span, (tick) => tick.latencyFactor * tick.requests) / requests;
  if (requests >= 200) return p95 * factor * Math.exp((1.27 / Math.sqrt(requests)) * normal(random));
  const medianLatency = p95 / Math.exp(1.645 * REQUEST_SPREAD);
  const latencies: number[] = [];
  for (const tick of span) {
    for (let i = 0; i < tick.requests; i++) {
      latencies.push(medianLatency * tick.latencyFactor * Math.exp(REQUEST_SPREAD * normal(random)));
    }
  }
  latencies.sort((a, b) => a - b);
  return latencies[Math.ceil(0.95 * latencies.length) - 1] as number;
}

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function poisson(mean: number, random: () => number): number {
  if (mean <= 0) return 0;
  if (mean >= 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(random)));
  const limit = Math.exp(-mean);
  let count = 0;
  for (let product = random(); product > limit; product *= random()) count++;
  return count;
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
