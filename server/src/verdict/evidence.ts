/**
 * The engine's input (the seam the server fills) and its preparation into evidence: counts known or
 * estimated, values that are no data dropped, observations in time order.
 */
import {
  type AnalysisSettings,
  type AnalysisSettingsInput,
  AnalysisSettings as AnalysisSettingsSchema,
  type FailureKind,
  type MetricName,
  metricNames,
  type ObservationSource,
} from "@seqpulse/types";

/** What the service looked like over [start, end). */
export interface Observation {
  /** Epoch milliseconds. A point sample covers the sample interval before it (end − interval). */
  start: number;
  end: number;
  source: ObservationSource;
  /** Requests and errors counted over [start, end) (from counters or history); null when unknown. */
  requests: number | null;
  errors: number | null;
  /** The five metrics and custom ones by name; null or absent when not measured. */
  metrics: Readonly<Record<string, number | null | undefined>>;
}

/** A post-deploy observation: always a sample of one slot of the window. */
export interface PostObservation extends Observation {
  /** The slot's number in the window (1, 2, …), shared with the failures of other slots. */
  sequence: number;
}

export interface SlotFailure {
  phase: "baseline" | "post";
  /** The failed slot's number (0 for the baseline sample at trigger). */
  sequence: number;
  kind: FailureKind;
}

/** Observations are read, never changed; the engine may remember what it derived from each one. */
export interface EngineInput {
  /** Observations from before the deploy (samples and history buckets), any order. */
  baseline: readonly Observation[];
  /** Valid post samples, any order (sorted by sequence here). */
  post: readonly PostObservation[];
  /** Post samples of the last deployment whose verdict was ok; the baseline when there is no other. */
  lastKnownGood: readonly Observation[];
  /** Slots that gave no valid sample. */
  failures: readonly SlotFailure[];
  /** How many post samples the window planned. */
  plannedPostSamples: number;
  /** The project's sample interval: the exposure assumed for an observation without a usable span. */
  sampleIntervalSeconds: number;
  /** Stored project settings; fields added since they were stored take their defaults. */
  settings: AnalysisSettings | AnalysisSettingsInput;
}

/** The p95 of fewer than 20 requests is their maximum (nearest rank): no data. */
export const MIN_REQUESTS_FOR_PERCENTILE = 20;
/** Counts above this are capped, so that sums of them stay exact and finite. */
const MAX_COUNT = 1e15;

/** One observation, prepared. */
export interface Slot {
  start: number;
  end: number;
  /** Middle of the span, in minutes since the epoch (trend slopes read per minute). */
  minute: number;
  seconds: number;
  /** Requests over the span, known or estimated; null when neither counts nor a rate exist. */
  requests: number | null;
  /** Errors over the span (at most the requests); null when unknown. */
  errors: number | null;
  countsEstimated: boolean;
  /** A p95 was reported but dropped: too few requests were behind it. */
  percentileDropped: boolean;
  /** Usable metric values by name: finite, non-negative for the five, p95 dropped at (almost) no requests. */
  values: ReadonlyMap<string, number>;
}

export interface Evidence {
  settings: AnalysisSettings;
  /** Observations the baseline is made of (the input's, or the last known good's). */
  baseline: Slot[];
  baselineSource: "observations" | "last_known_good" | "none";
  /** Post observations by sequence. */
  post: Slot[];
  postSequences: number[];
  /** Observations that came with a usable baseline from the project's own source (not last known good). */
  answeredBeforeDeploy: boolean;
  failures: readonly SlotFailure[];
  plannedPostSamples: number;
  /** How many observations had their counts estimated from rates, and how many had counts at all. */
  estimatedCounts: number;
  countedObservations: number;
  /** p95 values dropped because too few requests were behind them. */
  droppedPercentiles: number;
}

const settingsCache = new WeakMap<object, AnalysisSettings>();

/** Parses stored settings once per settings object (old projects lack the fields of engine 2). */
function resolveSettings(settings: AnalysisSettings | AnalysisSettingsInput): AnalysisSettings {
  const cached = settingsCache.get(settings);
  if (cached) return cached;
  const resolved = AnalysisSettingsSchema.parse(settings);
  settingsCache.set(settings, resolved);
  return resolved;
}

export function prepareEvidence(input: EngineInput): Evidence {
  const settings = resolveSettings(input.settings);
  const prepare = (observation: Observation) => preparedSlot(observation, input.sampleIntervalSeconds);
  const baselineOf = (observations: readonly Observation[]) =>
    observations.map(prepare).filter(hasAnyValue).sort(byEnd);

  const own = baselineOf(input.baseline);
  const lastKnownGood = own.length === 0 ? baselineOf(input.lastKnownGood) : [];
  const posted = input.post
    .map((observation) => ({ sequence: observation.sequence, slot: prepare(observation) }))
    .sort((a, b) => a.sequence - b.sequence);
  const baseline = own.length > 0 ? own : lastKnownGood;
  const post = posted.map((entry) => entry.slot);
  const all = [...baseline, ...post];

  return {
    settings,
    baseline,
    baselineSource: own.length > 0 ? "observations" : lastKnownGood.length > 0 ? "last_known_good" : "none",
    post,
    postSequences: posted.map((entry) => entry.sequence),
    answeredBeforeDeploy: own.length > 0,
    failures: input.failures,
    plannedPostSamples: input.plannedPostSamples,
    estimatedCounts: all.filter((slot) => slot.countsEstimated).length,
    countedObservations: all.filter((slot) => slot.requests !== null).length,
    droppedPercentiles: all.filter((slot) => slot.percentileDropped).length,
  };
}

/** Prepared observations: the collector's fail-fast checks see the same observations many times. */
const slotCache = new WeakMap<Observation, { interval: number; slot: Slot }>();

function preparedSlot(observation: Observation, interval: number): Slot {
  const cached = slotCache.get(observation);
  if (cached?.interval === interval) return cached.slot;
  const slot = prepareSlot(observation, interval);
  slotCache.set(observation, { interval, slot });
  return slot;
}

function prepareSlot(observation: Observation, intervalSeconds: number): Slot {
  const span = (observation.end - observation.start) / 1000;
  const seconds = Number.isFinite(span) && span > 0 ? span : Math.max(1, intervalSeconds);
  const values = new Map<string, number>();
  for (const [name, value] of Object.entries(observation.metrics)) {
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    if (isBuiltIn(name) && value < 0) continue;
    values.set(name, value);
  }

  let requests = count(observation.requests);
  let errors = count(observation.errors);
  let countsEstimated = false;
  const rps = values.get("requests_per_sec");
  if (requests === null && rps !== undefined) {
    requests = Math.min(MAX_COUNT, rps * seconds);
    countsEstimated = true;
  }
  const errorRate = values.get("error_rate");
  if (errors === null && requests !== null && errorRate !== undefined) {
    errors = Math.min(1, errorRate) * requests;
    countsEstimated = true;
  }
  if (errors !== null && requests !== null) errors = Math.min(errors, requests);
  let percentileDropped = false;
  if (requests !== null) {
    values.set("requests_per_sec", requests / seconds);
    if (errors !== null) values.set("error_rate", requests > 0 ? errors / requests : 0);
    else values.delete("error_rate");
    if (requests < MIN_REQUESTS_FOR_PERCENTILE) percentileDropped = values.delete("latency_p95");
  }
  const middle = observation.end - (seconds * 1000) / 2;
  return {
    start: observation.end - seconds * 1000,
    end: observation.end,
    minute: middle / 60_000,
    seconds,
    requests,
    errors,
    countsEstimated,
    percentileDropped,
    values,
  };
}

function count(value: number | null): number | null {
  if (value === null || !Number.isFinite(value) || value < 0) return null;
  return Math.min(MAX_COUNT, value);
}

function isBuiltIn(name: string): name is MetricName {
  return (metricNames as readonly string[]).includes(name);
}

function hasAnyValue(slot: Slot): boolean {
  return slot.values.size > 0 || slot.requests !== null;
}

function byEnd(a: Slot, b: Slot): number {
  return a.end - b.end;
}

/** The latest half of a series (the larger half when odd): what the service looks like at the end. */
export function latestHalf<T>(items: readonly T[]): T[] {
  return items.slice(Math.floor(items.length / 2));
}
