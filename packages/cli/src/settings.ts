import { appendFileSync } from "node:fs";
import {
  API_KEY_PATTERN,
  isCommitSha,
  isDeploymentId,
  isEnvName,
  isHttpUrl,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  type PipelineResult,
  redactUrl,
  type VerdictValue,
} from "@seqpulse/client";
import { type ParsedArgs, UsageError } from "./args.js";
import type { CiContext, Env } from "./ci.js";
import { FLAG, type FlagKey } from "./flags.js";

/** Verdicts a gate can fail on: a Record, so the compiler notices a verdict added to the contract. */
const FAIL_ON: Record<Exclude<VerdictValue, "ok">, true> = { warning: true, rollback_recommended: true };
const RESULTS: Record<PipelineResult, true> = { success: true, failed: true, cancelled: true };
export type FailOn = keyof typeof FAIL_ON;

export const DEFAULT_FAIL_ON: FailOn = "rollback_recommended";
export const DEFAULT_VERDICT_TIMEOUT_SECONDS = 900;
export const DEFAULT_BASELINE_TIMEOUT_SECONDS = 30;
const MAX_TIMEOUT_SECONDS = 6 * 3600;

/** HTTP tuning, by variable only: most pipelines never need it, and the tests keep retries short with it. */
export const TUNING_ENV = {
  attempts: "SEQPULSE_RETRY_ATTEMPTS",
  baseDelayMs: "SEQPULSE_RETRY_BASE_DELAY_MS",
  maxDelayMs: "SEQPULSE_RETRY_MAX_DELAY_MS",
  timeoutMs: "SEQPULSE_REQUEST_TIMEOUT_MS",
  pollIntervalMs: "SEQPULSE_POLL_INTERVAL_MS",
} as const;

export interface Tuning {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
  pollIntervalMs: number;
}

/** Which deployment finish, wait and status work on. */
export type Target =
  | { by: "id"; id: string }
  | {
      by: "key";
      env: string;
      key: string;
      /** Where the key came from, for messages: "--idempotency-key" or "CI_PIPELINE_ID and the environment". */
      source: string;
    };

export interface Settings {
  apiUrl: string;
  apiKey: string;
  publicUrl: string | undefined;
  json: boolean;
  outputEnv: string | undefined;
  failOnError: boolean;
  tuning: Tuning;
  /** trigger, run */
  env: string | undefined;
  metricsEndpoint: string | undefined;
  branch: string | undefined;
  commitSha: string | undefined;
  idempotencyKey: string | undefined;
  /** Where the key came from, for messages. */
  keySource: string | undefined;
  /** trigger, run: seconds to wait for the baseline sample; 0: not at all. */
  baselineTimeoutSeconds: number;
  /** finish */
  result: PipelineResult;
  wait: boolean;
  failOn: FailOn;
  verdictTimeoutSeconds: number;
}

/** Reads a flag, else its variable; trims, and treats empty as absent. */
function reader(args: ParsedArgs, env: Env) {
  const value = (key: FlagKey): string | undefined => {
    const flag = FLAG[key];
    const given = args.flags.get(flag.name);
    const raw = typeof given === "string" ? given : "env" in flag ? env[flag.env] : undefined;
    const trimmed = raw?.trim();
    return trimmed ? trimmed : undefined;
  };
  /** Where a value came from, for messages: `--env` or `SEQPULSE_ENV`. */
  const origin = (key: FlagKey): string => {
    const flag = FLAG[key];
    return args.flags.has(flag.name) || !("env" in flag) ? `--${flag.name}` : flag.env;
  };
  const bool = (key: FlagKey): boolean => {
    const flag = FLAG[key];
    if (args.flags.get(flag.name) === true) return true;
    if (!("env" in flag)) return false;
    const raw = env[flag.env]?.trim().toLowerCase();
    if (raw === undefined || raw === "" || raw === "false" || raw === "0") return false;
    if (raw === "true" || raw === "1") return true;
    throw new UsageError(`${flag.env}=${env[flag.env]} must be true or false`);
  };
  return { value, origin, bool };
}

function readTuning(env: Env): Tuning {
  const read = (name: string, fallback: number, min: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new UsageError(`${name}=${raw} must be a whole number ≥ ${min}`);
    }
    return value;
  };
  // As the GitHub Action: a CI job can afford to wait longer than an interactive client.
  return {
    attempts: read(TUNING_ENV.attempts, 5, 1),
    baseDelayMs: read(TUNING_ENV.baseDelayMs, 1_000, 0),
    maxDelayMs: read(TUNING_ENV.maxDelayMs, 15_000, 0),
    timeoutMs: read(TUNING_ENV.timeoutMs, 15_000, 1),
    pollIntervalMs: read(TUNING_ENV.pollIntervalMs, 5_000, 1),
  };
}

function readUrl(value: string | undefined, origin: string): string | undefined {
  if (value === undefined) return undefined;
  if (/^[^/?#]*\/\/[^/?#]*@/.test(value)) {
    throw new UsageError(
      `${origin} "${redactUrl(value)}" must not contain a user name or password; SeqPulse authenticates with the API key`,
    );
  }
  if (!isHttpUrl(value) || /[?#]/.test(value)) {
    throw new UsageError(
      `${origin} "${redactUrl(value)}" must be an http:// or https:// URL without query string`,
    );
  }
  return value.replace(/\/+$/, "");
}

export function readSettings(args: ParsedArgs, env: Env, ci: CiContext): Settings {
  const { value, origin, bool } = reader(args, env);

  const apiUrl = readUrl(value("apiUrl"), origin("apiUrl"));
  if (!apiUrl)
    throw new UsageError(`--api-url is required (or set ${FLAG.apiUrl.env}): ${FLAG.apiUrl.expects}`);
  const apiKey = value("apiKey");
  if (!apiKey)
    throw new UsageError(`--api-key is required (or set ${FLAG.apiKey.env}): ${FLAG.apiKey.expects}`);
  if (!API_KEY_PATTERN.test(apiKey)) {
    // Never echo the key.
    throw new UsageError(
      `${origin("apiKey")} contains a space, a line break or another character an API key cannot have; check that it holds the key alone, on one line`,
    );
  }

  const seqpulseEnv = value("env") ?? ci.env;
  if (seqpulseEnv !== undefined && !isEnvName(seqpulseEnv)) {
    throw new UsageError(
      `${value("env") ? origin("env") : "the CI's environment name"} "${seqpulseEnv}" is not an environment name: 1-50 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }

  const commitSha = value("commitSha") ?? ci.commitSha;
  if (commitSha !== undefined && !isCommitSha(commitSha)) {
    throw new UsageError(`--commit-sha "${commitSha}" must be ${FLAG.commitSha.expects}`);
  }

  const explicitKey = value("idempotencyKey");
  if (
    explicitKey !== undefined &&
    (explicitKey.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(explicitKey))
  ) {
    throw new UsageError(`${origin("idempotencyKey")} must be ${FLAG.idempotencyKey.expects}`);
  }
  const derivedKey = seqpulseEnv !== undefined ? ci.key?.(seqpulseEnv) : undefined;
  const idempotencyKey = explicitKey ?? derivedKey;
  const keySource = explicitKey
    ? origin("idempotencyKey")
    : derivedKey
      ? `${ci.name}'s ${ci.keySource}`
      : undefined;

  const rawResult = value("result");
  const result = rawResult === undefined ? "success" : normalizeResult(rawResult);
  if (!result) throw new UsageError(`--result "${rawResult}" must be ${FLAG.result.expects}`);

  const rawFailOn = value("failOn");
  if (rawFailOn !== undefined && !(rawFailOn in FAIL_ON)) {
    throw new UsageError(`${origin("failOn")} "${rawFailOn}" must be ${FLAG.failOn.expects}`);
  }

  const verdictTimeoutSeconds = readSeconds(
    value("verdictTimeout"),
    origin("verdictTimeout"),
    DEFAULT_VERDICT_TIMEOUT_SECONDS,
    1,
  );

  const baselineTimeoutSeconds = readSeconds(
    value("baselineTimeout"),
    origin("baselineTimeout"),
    DEFAULT_BASELINE_TIMEOUT_SECONDS,
    0,
  );

  const outputEnv = value("outputEnv");
  if (outputEnv !== undefined) {
    // Checked before SeqPulse is called, so a wrong path cannot leave a deployment nobody knows the id of.
    try {
      appendFileSync(outputEnv, "");
    } catch (error) {
      throw new UsageError(
        `--output-env ${outputEnv} cannot be written (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }

  return {
    apiUrl,
    apiKey,
    publicUrl: readUrl(value("publicUrl"), origin("publicUrl")),
    json: bool("json"),
    outputEnv,
    failOnError: bool("failOnError"),
    tuning: readTuning(env),
    env: seqpulseEnv,
    metricsEndpoint: readUrl(value("metricsEndpoint"), origin("metricsEndpoint")),
    branch: value("branch") ?? ci.branch,
    commitSha,
    idempotencyKey,
    keySource,
    result,
    wait: bool("wait"),
    failOn: (rawFailOn as FailOn | undefined) ?? DEFAULT_FAIL_ON,
    verdictTimeoutSeconds,
    baselineTimeoutSeconds,
  };
}

function readSeconds(raw: string | undefined, origin: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const seconds = Number(raw);
  if (!/^\d+$/.test(raw) || seconds < min || seconds > MAX_TIMEOUT_SECONDS) {
    throw new UsageError(
      `${origin} "${raw}" must be a whole number of seconds from ${min} to ${MAX_TIMEOUT_SECONDS}`,
    );
  }
  return seconds;
}

/** The job statuses CIs print are accepted too: GitHub's `failure`, Azure's `Canceled`, GitLab's `canceled`. */
function normalizeResult(raw: string): PipelineResult | undefined {
  const word = raw.toLowerCase();
  if (word in RESULTS) return word as PipelineResult;
  if (word === "failure") return "failed";
  if (word === "canceled") return "cancelled";
  return undefined;
}

/** The deployment finish, wait and status work on: --deployment-id, else --env and the idempotency key. */
export function readTarget(args: ParsedArgs, env: Env, settings: Settings): Target {
  const { value, origin } = reader(args, env);
  const id = value("deploymentId");
  if (id !== undefined) {
    if (!isDeploymentId(id))
      throw new UsageError(`${origin("deploymentId")} "${id}" must be ${FLAG.deploymentId.expects}`);
    return { by: "id", id };
  }
  if (settings.env === undefined) {
    throw new UsageError(
      `--env is required (or set ${FLAG.env.env}) to find the deployment by its idempotency key; or pass --deployment-id`,
    );
  }
  if (settings.idempotencyKey === undefined || settings.keySource === undefined) {
    throw new UsageError(
      "--idempotency-key or --deployment-id is required: no CI pipeline id was found to derive the key from (the trigger printed the deployment id; --output-env saves it)",
    );
  }
  return { by: "key", env: settings.env, key: settings.idempotencyKey, source: settings.keySource };
}

/** trigger and run need the environment. */
export function requireEnv(settings: Settings): string {
  if (settings.env === undefined) {
    throw new UsageError(`--env is required (or set ${FLAG.env.env}): ${FLAG.env.expects}`);
  }
  return settings.env;
}
