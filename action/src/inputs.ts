import {
  API_KEY_PATTERN,
  isCommitSha,
  isDeploymentId,
  isEnvName,
  isHttpUrl,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  redactUrl,
} from "@seqpulse/client";
import type { PipelineResult, VerdictValue } from "@seqpulse/types";
import { DEFAULTS, INPUT, type InputName } from "./constants.js";
import { defaultIdempotencyKey, type GitHubContext } from "./github-context.js";
import type { Toolkit } from "./toolkit.js";

/** A workflow mistake: always fails the step, whatever fail-on-error says. */
export class InputError extends Error {
  override name = "InputError";
}

export type Mode = "trigger" | "finish";
export type FailOn = Exclude<VerdictValue, "ok">;

/** The inputs about the verdict gate and SeqPulse trouble: read by the main and the post step. */
export interface GateInputs {
  waitForVerdict: boolean;
  failOn: FailOn;
  verdictTimeoutSeconds: number;
  failOnError: boolean;
}

export interface Settings extends GateInputs {
  apiKey: string;
  apiUrl: string;
  /** Where people open the console, when not at apiUrl. */
  publicUrl: string | undefined;
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
}

/** What the post step reads from its inputs; the rest comes from the main step's state. */
export interface PostInputs {
  apiKey: string;
  gate: GateInputs;
  /** Gate inputs that could not be read (defaults stand in): reported once the deployment is finished. */
  gateProblem: InputError | undefined;
}

const MAX_VERDICT_TIMEOUT_SECONDS = 6 * 60 * 60;

type Read = (name: InputName) => string;

/** Reads and checks every input at once, so one run reports every mistake. */
export function readSettings(toolkit: Toolkit, context: GitHubContext): Settings {
  const problems: string[] = [];
  const input: Read = (name) => toolkit.getInput(name).trim();

  const apiKey = readApiKey(toolkit, problems);
  const apiUrl = readBaseUrl(INPUT.apiUrl, input(INPUT.apiUrl) || DEFAULTS.apiUrl, problems);
  const rawPublicUrl = input(INPUT.publicUrl);
  const publicUrl = rawPublicUrl ? readBaseUrl(INPUT.publicUrl, rawPublicUrl, problems) : undefined;

  const env = input(INPUT.env) || DEFAULTS.env;
  if (!isEnvName(env)) {
    problems.push(
      `${INPUT.env} "${env}" must be 1-50 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }

  const metricsEndpoint = input(INPUT.metricsEndpoint) || undefined;
  if (metricsEndpoint !== undefined && !isHttpUrl(metricsEndpoint)) {
    problems.push(
      `${INPUT.metricsEndpoint} "${redactUrl(metricsEndpoint)}" must be an absolute http:// or https:// URL`,
    );
  }

  const branch = (input(INPUT.branch) || context.refName)?.slice(0, 255);
  const commitSha = input(INPUT.commitSha) || context.sha;
  if (commitSha !== undefined && !isCommitSha(commitSha)) {
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
    } else if (!isDeploymentId(deploymentId)) {
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
  const gate = readGateInputs(input, problems);

  if (problems.length > 0) throw inputError(problems);
  return {
    apiKey,
    apiUrl,
    publicUrl,
    env,
    metricsEndpoint,
    branch,
    commitSha,
    idempotencyKey,
    mode: mode as Mode,
    deploymentId,
    result,
    autoFinish,
    ...gate,
  };
}

/**
 * The post step's inputs: the key and the gate inputs, nothing else, so an input the post step does not
 * need can never stop it from finishing the deployment. A key it cannot use throws: nothing can be done
 * without one. (The main step checked every input already; they only differ here when an expression in
 * them evaluates differently at the end of the job.)
 */
export function readPostInputs(toolkit: Toolkit): PostInputs {
  const input: Read = (name) => toolkit.getInput(name).trim();
  const keyProblems: string[] = [];
  const apiKey = readApiKey(toolkit, keyProblems);
  if (keyProblems.length > 0) throw inputError(keyProblems);
  const gateProblems: string[] = [];
  const gate = readGateInputs(input, gateProblems);
  return { apiKey, gate, gateProblem: gateProblems.length > 0 ? inputError(gateProblems) : undefined };
}

/**
 * The pipeline result for the post step, from the hidden job-status input (`${{ job.status }}`,
 * evaluated again when the post step runs); undefined when it is not a job status.
 */
export function readJobResult(toolkit: Toolkit): { raw: string; result: PipelineResult | undefined } {
  const raw = toolkit.getInput(INPUT.jobStatus).trim();
  return { raw, result: parseResult(raw) };
}

function inputError(problems: string[]): InputError {
  return new InputError(
    `SeqPulse: invalid input${problems.length > 1 ? "s" : ""}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
  );
}

/** The key, masked in the log before anything else; problems never quote it. */
function readApiKey(toolkit: Toolkit, problems: string[]): string {
  const apiKey = toolkit.getInput(INPUT.apiKey).trim();
  if (!apiKey) {
    problems.push(
      `${INPUT.apiKey} is required: pass the project's key from a secret, e.g. \`${INPUT.apiKey}: \${{ secrets.SEQPULSE_API_KEY }}\` (secrets are empty in runs from forks and Dependabot)`,
    );
    return "";
  }
  toolkit.setSecret(apiKey);
  if (!API_KEY_PATTERN.test(apiKey)) {
    problems.push(
      `${INPUT.apiKey} contains characters an API key cannot have (a space, a line break or another non-printable or non-ASCII character); check that the secret holds the key alone, on one line`,
    );
  }
  return apiKey;
}

/** A base URL; one with credentials is refused, and messages never show user info or a query. */
function readBaseUrl(name: InputName, value: string, problems: string[]): string {
  if (/^[^/?#]*\/\/[^/?#]*@/.test(value)) {
    problems.push(
      `${name} "${redactUrl(value)}" must not contain a user name or password: SeqPulse authenticates with ${INPUT.apiKey}; remove the credentials from the URL (and rotate them if they were real)`,
    );
  } else if (!isHttpUrl(value) || /[?#]/.test(value)) {
    problems.push(
      `${name} "${redactUrl(value)}" must be an http:// or https:// base URL without query string`,
    );
  }
  return value;
}

function readGateInputs(input: Read, problems: string[]): GateInputs {
  const waitForVerdict = readBoolean(
    input(INPUT.waitForVerdict),
    DEFAULTS.waitForVerdict,
    INPUT.waitForVerdict,
    problems,
  );
  const failOn =
    oneOf(
      input(INPUT.failOn) || DEFAULTS.failOn,
      ["warning", "rollback_recommended"] as const,
      INPUT.failOn,
      problems,
    ) ?? DEFAULTS.failOn;
  const failOnError = readBoolean(
    input(INPUT.failOnError),
    DEFAULTS.failOnError,
    INPUT.failOnError,
    problems,
  );
  const rawTimeout = input(INPUT.verdictTimeoutSeconds);
  let verdictTimeoutSeconds = rawTimeout === "" ? DEFAULTS.verdictTimeoutSeconds : Number(rawTimeout);
  if (
    !Number.isInteger(verdictTimeoutSeconds) ||
    verdictTimeoutSeconds < 1 ||
    verdictTimeoutSeconds > MAX_VERDICT_TIMEOUT_SECONDS
  ) {
    problems.push(
      `${INPUT.verdictTimeoutSeconds} "${rawTimeout}" must be a whole number of seconds from 1 to ${MAX_VERDICT_TIMEOUT_SECONDS}`,
    );
    verdictTimeoutSeconds = DEFAULTS.verdictTimeoutSeconds;
  }
  return { waitForVerdict, failOn, verdictTimeoutSeconds, failOnError };
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
