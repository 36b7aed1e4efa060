import {
  EnvName,
  HttpUrl,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  type PipelineResult,
  type VerdictValue,
} from "@seqpulse/types";
import { DEFAULTS, INPUT, type InputName } from "./constants.js";
import { defaultIdempotencyKey, type GitHubContext } from "./github-context.js";
import type { Toolkit } from "./toolkit.js";

/** A workflow mistake: always fails the step, whatever fail-on-error says. */
export class InputError extends Error {
  override name = "InputError";
}

export type Mode = "trigger" | "finish";
export type FailOn = Exclude<VerdictValue, "ok">;

export interface Settings {
  apiKey: string;
  apiUrl: string;
  env: string;
  metricsEndpoint: string | undefined;
  branch: string | undefined;
  commitSha: string | undefined;
  idempotencyKey: string | undefined;
  mode: Mode;
  /** mode: finish only. */
  deploymentId: string | undefined;
  /** mode: finish only. */
  result: PipelineResult | undefined;
  autoFinish: boolean;
  waitForVerdict: boolean;
  failOn: FailOn;
  verdictTimeoutSeconds: number;
  failOnError: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_VERDICT_TIMEOUT_SECONDS = 6 * 60 * 60;

/** Reads and checks every input at once, so one run reports every mistake. */
export function readSettings(toolkit: Toolkit, context: GitHubContext): Settings {
  const problems: string[] = [];
  const input = (name: InputName) => toolkit.getInput(name).trim();

  const apiKey = input(INPUT.apiKey);
  if (apiKey) toolkit.setSecret(apiKey);
  else
    problems.push(
      `${INPUT.apiKey} is required: pass the project's key from a secret, e.g. \`${INPUT.apiKey}: \${{ secrets.SEQPULSE_API_KEY }}\` (secrets are empty in runs from forks and Dependabot)`,
    );

  const apiUrl = input(INPUT.apiUrl) || DEFAULTS.apiUrl;
  if (!HttpUrl.safeParse(apiUrl).success || /[?#]/.test(apiUrl)) {
    problems.push(`${INPUT.apiUrl} "${apiUrl}" must be an http:// or https:// base URL without query string`);
  }

  const env = input(INPUT.env) || DEFAULTS.env;
  if (!EnvName.safeParse(env).success) {
    problems.push(
      `${INPUT.env} "${env}" must be 1-50 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }

  const metricsEndpoint = input(INPUT.metricsEndpoint) || undefined;
  if (metricsEndpoint !== undefined && !HttpUrl.safeParse(metricsEndpoint).success) {
    problems.push(
      `${INPUT.metricsEndpoint} "${metricsEndpoint}" must be an absolute http:// or https:// URL`,
    );
  }

  const branch = (input(INPUT.branch) || context.refName)?.slice(0, 255);
  const commitSha = input(INPUT.commitSha) || context.sha;
  if (commitSha !== undefined && !/^[0-9a-fA-F]{4,64}$/.test(commitSha)) {
    problems.push(`${INPUT.commitSha} "${commitSha}" must be a hexadecimal commit hash`);
  }

  const idempotencyKey = input(INPUT.idempotencyKey) || defaultIdempotencyKey(context);
  if (idempotencyKey !== undefined) {
    if (idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      problems.push(
        `${INPUT.idempotencyKey} is ${idempotencyKey.length} characters; at most ${MAX_IDEMPOTENCY_KEY_LENGTH}`,
      );
    } else if (!/^[\x20-\x7e]+$/.test(idempotencyKey)) {
      problems.push(`${INPUT.idempotencyKey} may only contain printable ASCII characters`);
    }
  }

  const mode = oneOf(
    input(INPUT.mode) || DEFAULTS.mode,
    ["trigger", "finish"] as const,
    INPUT.mode,
    problems,
  );

  let deploymentId: string | undefined;
  let result: PipelineResult | undefined;
  if (mode === "finish") {
    deploymentId = input(INPUT.deploymentId) || undefined;
    if (!deploymentId) {
      problems.push(
        `${INPUT.mode}: finish needs ${INPUT.deploymentId}: pass the trigger step's output, e.g. \`${INPUT.deploymentId}: \${{ steps.seqpulse.outputs.deployment-id }}\``,
      );
    } else if (!UUID.test(deploymentId)) {
      problems.push(`${INPUT.deploymentId} "${deploymentId}" is not a deployment id (a UUID)`);
    }
    const rawResult = input(INPUT.result);
    if (!rawResult) {
      problems.push(
        `${INPUT.mode}: finish needs ${INPUT.result}: success, failed or cancelled (\`\${{ job.status }}\` works too)`,
      );
    } else {
      result = parseResult(rawResult);
      if (!result) {
        problems.push(
          `${INPUT.result} "${rawResult}" must be success, failed or cancelled (or a job status: success, failure, cancelled)`,
        );
      }
    }
  }

  const autoFinish = readBoolean(input(INPUT.autoFinish), DEFAULTS.autoFinish, INPUT.autoFinish, problems);
  const waitForVerdict = readBoolean(
    input(INPUT.waitForVerdict),
    DEFAULTS.waitForVerdict,
    INPUT.waitForVerdict,
    problems,
  );
  const failOn = oneOf(
    input(INPUT.failOn) || DEFAULTS.failOn,
    ["warning", "rollback_recommended"] as const,
    INPUT.failOn,
    problems,
  );
  const failOnError = readBoolean(
    input(INPUT.failOnError),
    DEFAULTS.failOnError,
    INPUT.failOnError,
    problems,
  );

  const rawTimeout = input(INPUT.verdictTimeoutSeconds);
  const verdictTimeoutSeconds = rawTimeout === "" ? DEFAULTS.verdictTimeoutSeconds : Number(rawTimeout);
  if (
    !Number.isInteger(verdictTimeoutSeconds) ||
    verdictTimeoutSeconds < 1 ||
    verdictTimeoutSeconds > MAX_VERDICT_TIMEOUT_SECONDS
  ) {
    problems.push(
      `${INPUT.verdictTimeoutSeconds} "${rawTimeout}" must be a whole number of seconds from 1 to ${MAX_VERDICT_TIMEOUT_SECONDS}`,
    );
  }

  if (problems.length > 0) {
    throw new InputError(
      `SeqPulse: invalid input${problems.length > 1 ? "s" : ""}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
  }
  return {
    apiKey,
    apiUrl,
    env,
    metricsEndpoint,
    branch,
    commitSha,
    idempotencyKey,
    mode: mode as Mode,
    deploymentId,
    result,
    autoFinish,
    waitForVerdict,
    failOn: failOn as FailOn,
    verdictTimeoutSeconds,
    failOnError,
  };
}

/**
 * The pipeline result for the post step, from the hidden job-status input (`${{ job.status }}`,
 * evaluated again when the post step runs).
 */
export function readJobResult(toolkit: Toolkit): PipelineResult {
  const raw = toolkit.getInput(INPUT.jobStatus).trim();
  const result = parseResult(raw);
  if (!result) {
    throw new InputError(
      `SeqPulse: ${INPUT.jobStatus} "${raw}" is not a job status (success, failure or cancelled); leave the input unset so it defaults to \${{ job.status }}`,
    );
  }
  return result;
}

const TRUE_VALUES = ["true", "True", "TRUE"];
const FALSE_VALUES = ["false", "False", "FALSE"];

function readBoolean(raw: string, fallback: boolean, name: string, problems: string[]): boolean {
  if (raw === "") return fallback;
  if (TRUE_VALUES.includes(raw)) return true;
  if (FALSE_VALUES.includes(raw)) return false;
  problems.push(`${name} "${raw}" must be true or false`);
  return fallback;
}

function oneOf<const T extends readonly string[]>(
  raw: string,
  allowed: T,
  name: string,
  problems: string[],
): T[number] | undefined {
  if ((allowed as readonly string[]).includes(raw)) return raw as T[number];
  problems.push(`${name} "${raw}" must be one of: ${allowed.join(", ")}`);
  return undefined;
}

function parseResult(raw: string): PipelineResult | undefined {
  switch (raw.toLowerCase()) {
    case "success":
      return "success";
    case "failed":
    case "failure":
      return "failed";
    case "cancelled":
    case "canceled":
      return "cancelled";
    default:
      return undefined;
  }
}
