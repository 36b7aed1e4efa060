/**
 * What a window of this volume could have caught. A low-traffic service's `ok` is only worth as
 * much as the smallest regression its window can tell from noise: the engine asks its own rules
 * (fail-fast and the error or traffic rule) what they would have said had the post window shown a
 * given error rate (or traffic), spread evenly over its actual volume, and reports when the effects
 * a gate must always catch were out of reach.
 */
import type { DetectionLimit } from "@seqpulse/types";
import { trafficReference } from "./counts.js";
import type { Evidence, Slot } from "./evidence.js";
import { bisect, smallestScale } from "./stats.js";

type CountedMetric = DetectionLimit["metric"];
/** Whether the engine's rules recommend a rollback on `metric` for this evidence. */
export type RollsBack = (evidence: Evidence, metric: CountedMetric) => boolean;

/** The error rate, as a multiple of the baseline's, that a gate must always recommend rolling back. */
export const GUARDED_ERROR_RATIO = 5;
/** The traffic drop a gate must always recommend rolling back. */
export const GUARDED_TRAFFIC_DROP = 0.6;
// A window longer than this many times the actual one is not a window anyone runs.
const MAX_WINDOW_SCALE = 1_000;
// Halvings of the search for rollback_at: four significant figures.
const RATE_STEPS = 16;

/**
 * The limits of a window that recommended no rollback, for error_rate and requests_per_sec: each
 * only when its rule is critical and the guarded change would not have been recommended for
 * rollback either.
 */
export function detectionLimits(
  evidence: Evidence,
  judge: RollsBack,
  { trafficJudged }: { trafficJudged: boolean },
): DetectionLimit[] {
  const limits: DetectionLimit[] = [];
  const errors = errorLimit(evidence, judge);
  if (errors) limits.push(errors);
  // A deploy that ended an error incident is not judged on traffic (its retry storm ends with it).
  const traffic = trafficJudged ? trafficLimit(evidence, judge) : null;
  if (traffic) limits.push(traffic);
  return limits;
}

// The guarded value itself may sit exactly on a rule's edge (a 60 % drop is max_drop 0.3 ×
// fail_fast_factor 2): probe a hair inside it, so that rounding does not decide.
const EDGE = 1e-9;

function errorLimit(evidence: Evidence, judge: RollsBack): DetectionLimit | null {
  const rule = evidence.settings.error_rate;
  if (!rule.critical) return null;
  const counted = (slot: Slot) => slot.requests !== null && slot.errors !== null;
  const postRequests = sum(evidence.post.filter(counted), (slot) => slot.requests as number);
  const base = evidence.baseline.filter(counted);
  const baseRequests = sum(base, (slot) => slot.requests as number);
  if (postRequests < 1 || baseRequests <= 0) return null;
  const baseRate = sum(base, (slot) => slot.errors as number) / baseRequests;
  // A baseline without errors: the smallest rise the project counts as a regression stands in for ×5.
  const guarded = Math.max(GUARDED_ERROR_RATIO * baseRate, baseRate + rule.regression_min_delta);
  // Over a baseline at 20 % errors or more, ×5 is not a rate there can be.
  if (guarded >= 1) return null;
  const rollsBack = (rate: number, scale = 1) =>
    judge(
      withPost(evidence, (slot) => errorsAt(slot, rate, scale)),
      "error_rate",
    );
  if (rollsBack(guarded * (1 + EDGE))) return null;
  return {
    metric: "error_rate",
    baseline: baseRate,
    guarded,
    // On a log scale: an edge at 0.3 % and one at 30 % are found to the same relative precision.
    rollback_at: rollsBack(1)
      ? Math.exp(bisect(Math.log(guarded), 0, (log) => rollsBack(Math.exp(log)), RATE_STEPS))
      : null,
    post_requests: postRequests,
    needed_post_requests: neededRequests(postRequests, (scale) => rollsBack(guarded, scale)),
  };
}

function trafficLimit(evidence: Evidence, judge: RollsBack): DetectionLimit | null {
  const rule = evidence.settings.requests_per_sec;
  if (!rule.critical) return null;
  const reference = trafficReference(evidence);
  const counted = evidence.post.filter((slot) => slot.requests !== null);
  if (!reference || counted.length === 0 || reference.rate < rule.min_baseline_rps) return null;
  const postRequests = sum(counted, (slot) => slot.requests as number);
  // No traffic at all after the deploy is judged as such (or said to be missing), not a limit.
  if (postRequests <= 0) return null;
  const guarded = reference.rate * (1 - Math.max(GUARDED_TRAFFIC_DROP, rule.max_drop));
  const rollsBack = (rate: number, scale = 1) =>
    judge(
      withPost(evidence, (slot) => trafficAt(slot, rate, scale)),
      "requests_per_sec",
    );
  if (rollsBack(guarded * (1 - EDGE))) return null;
  return {
    metric: "requests_per_sec",
    baseline: reference.rate,
    guarded,
    // Traffic is caught below a rate: search the highest one that still rolls back.
    rollback_at: rollsBack(0) ? bisect(guarded, 0, (rate) => rollsBack(rate), RATE_STEPS) : null,
    post_requests: postRequests,
    needed_post_requests: neededRequests(postRequests, (scale) => rollsBack(guarded, scale)),
  };
}

/** The post slots had their errors been `rate` of their requests, over `scale` times the volume. */
function errorsAt(slot: Slot, rate: number, scale: number): Slot {
  if (slot.requests === null || slot.errors === null) return slot;
  const requests = slot.requests * scale;
  return { ...slot, requests, errors: requests * rate };
}

/**
 * The post slots had traffic run at `rate` per second, over windows `scale` times as long, at the
 * window's own error rate (an incident the deploy ended stays ended).
 */
function trafficAt(slot: Slot, rate: number, scale: number): Slot {
  if (slot.requests === null) return slot;
  const seconds = slot.seconds * scale;
  const requests = rate * seconds;
  const errorRate = slot.errors === null || slot.requests <= 0 ? 0 : slot.errors / slot.requests;
  return { ...slot, seconds, requests, errors: slot.errors === null ? null : requests * errorRate };
}

function withPost(evidence: Evidence, change: (slot: Slot) => Slot): Evidence {
  return { ...evidence, post: evidence.post.map(change) };
}

/** The post requests of the shortest longer window that catches the guarded value; null past MAX_WINDOW_SCALE. */
function neededRequests(postRequests: number, caughtAtScale: (scale: number) => boolean): number | null {
  const scale = smallestScale(caughtAtScale, MAX_WINDOW_SCALE);
  const needed = scale === null ? null : Math.ceil(postRequests * scale);
  return needed !== null && Number.isSafeInteger(needed) ? needed : null;
}

function sum(slots: readonly Slot[], value: (slot: Slot) => number): number {
  return slots.reduce((total, slot) => total + value(slot), 0);
}
