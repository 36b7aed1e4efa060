import { formatMetricValue, roundSignificant, type VerdictReason } from "@seqpulse/types";
import { finite, normalCdf } from "./stats.js";

/**
 * How a finding reads for the diagnosis: the metric got worse with the deploy; it was worse and
 * recovered; it was already bad before; it is heading somewhere bad; the evidence is unclear; the
 * data is missing; the endpoint stopped answering.
 */
export type FindingKind = "worse" | "recovered" | "preexisting" | "trend" | "uncertain" | "data" | "dead";

export interface Finding {
  reason: VerdictReason;
  kind: FindingKind;
  /** 0..1: how strongly the data supports this finding (see `evidenceOf`). */
  evidence: number;
}

/** A check that ran and found nothing: its margin (in standard errors) from the threshold it stayed under. */
export interface Clearance {
  metric: string;
  margin: number;
}

export interface Judgement {
  findings: Finding[];
  clearances: Clearance[];
}

/** A rollback needs stronger evidence than a warning: p below significance_level ÷ 10. */
const ROLLBACK_STRICTNESS = 10;
/**
 * Against fewer than 3 baseline observations the baseline's own variation is unknown: a rollback
 * then needs p ten times smaller again.
 */
const FEW_BASELINE_STRICTNESS = 10;
/** The collector asks for fail-fast after every slot: those tests use significance_level ÷ 100. */
export const FAIL_FAST_STRICTNESS = 100;

/**
 * Rules look twice, at the whole window and at its latest half: each look tests at half the
 * significance level (Bonferroni), so that the two together keep it.
 */
export function lookAlpha(alpha: number): number {
  return alpha / 2;
}

/** The p-value below which a finding may recommend a rollback. */
export function rollbackAlpha(alpha: number, fewBaseline: boolean): number {
  return alpha / ROLLBACK_STRICTNESS / (fewBaseline ? FEW_BASELINE_STRICTNESS : 1);
}

/** Margins beyond this many standard errors add nothing: Φ(6) is 1 to nine digits. */
const MAX_MARGIN = 6;

/** Margin of an estimate past (positive) or short of (negative) a threshold, in standard errors. */
export function marginOf(estimate: number, threshold: number, standardError: number): number {
  const distance = finite(estimate - threshold);
  if (!(standardError > 0) || !Number.isFinite(standardError)) {
    if (standardError === 0) return distance === 0 ? 0 : Math.sign(distance) * MAX_MARGIN;
    return 0;
  }
  return Math.max(-MAX_MARGIN, Math.min(MAX_MARGIN, distance / standardError));
}

/**
 * Evidence for a finding: the chance the effect is real (1 − p, or 1 without a test) times how
 * clearly the estimate is past its threshold (Φ of the margin in standard errors).
 */
export function evidenceOf(pValue: number | null, margin: number): number {
  return (1 - (pValue ?? 0)) * normalCdf(margin);
}

type ReasonFields = Omit<VerdictReason, "test" | "statistic" | "p_value" | "needed"> &
  Partial<Pick<VerdictReason, "test" | "statistic" | "p_value" | "needed">>;

/** A reason with every number finite and rounded to four significant digits. */
export function makeReason(fields: ReasonFields): VerdictReason {
  return {
    metric: fields.metric,
    rule: fields.rule,
    baseline: rounded(fields.baseline),
    observed: rounded(fields.observed),
    threshold: rounded(fields.threshold),
    exceed_ratio: rounded(fields.exceed_ratio),
    tolerance: rounded(fields.tolerance),
    severity: fields.severity,
    message: fields.message,
    test: fields.test ?? null,
    statistic: rounded(fields.statistic ?? null),
    p_value: rounded(fields.p_value ?? null),
    needed: fields.needed ?? null,
  };
}

function rounded(value: number | null): number | null {
  return value === null ? null : roundSignificant(finite(value));
}

export function formatValue(metric: string, value: number): string {
  return formatMetricValue(metric, finite(value));
}

export function formatPercent(ratio: number): string {
  return `${roundSignificant(finite(ratio) * 100)} %`;
}

export function formatP(pValue: number): string {
  return pValue < 0.0001 ? "p < 0.0001" : `p = ${roundSignificant(pValue)}`;
}

export function pluralize(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Thresholds like 0.01 × 0.9 come out as 0.009000000000000001; a value of exactly 0.009 must compare equal. */
export function cleanProduct(value: number): number {
  return Number(finite(value).toPrecision(12));
}
