import type { FlagSpec } from "./args.js";

/** Every flag of the CLI, defined once; each command picks its own. */
export const FLAG = {
  apiUrl: {
    name: "api-url",
    kind: "value",
    env: "SEQPULSE_API_URL",
    expects: "the SeqPulse API's base URL, e.g. https://seqpulse.example.com",
    description: "Base URL of the SeqPulse API.",
  },
  apiKey: {
    name: "api-key",
    kind: "value",
    env: "SEQPULSE_API_KEY",
    expects: "the project's API key",
    description: "The project's API key. Prefer the variable: a flag shows in the process list.",
  },
  env: {
    name: "env",
    kind: "value",
    env: "SEQPULSE_ENV",
    expects: "an environment name, e.g. production",
    description:
      "Environment deployed to. On GitLab the job's CI_ENVIRONMENT_NAME, on Bitbucket its BITBUCKET_DEPLOYMENT_ENVIRONMENT, when neither is set.",
  },
  metricsEndpoint: {
    name: "metrics-endpoint",
    kind: "value",
    env: "SEQPULSE_METRICS_ENDPOINT",
    expects: "an http:// or https:// URL",
    description: "The application's metrics endpoint, when not the project's own.",
  },
  branch: {
    name: "branch",
    kind: "value",
    expects: "a branch name",
    description: "Branch deployed; read from the CI's variables when not given.",
  },
  commitSha: {
    name: "commit-sha",
    kind: "value",
    expects: "a commit hash (4 to 64 hexadecimal digits)",
    description: "Commit deployed; read from the CI's variables when not given.",
  },
  idempotencyKey: {
    name: "idempotency-key",
    kind: "value",
    env: "SEQPULSE_IDEMPOTENCY_KEY",
    expects: "1 to 255 printable ASCII characters",
    description:
      "One key per pipeline run: the trigger and the finish of one run must use the same. Derived from the CI's pipeline id when not given.",
  },
  deploymentId: {
    name: "deployment-id",
    kind: "value",
    env: "SEQPULSE_DEPLOYMENT_ID",
    expects: "a deployment id (UUID), as printed by seqpulse trigger",
    description: "The deployment, instead of finding it by --env and its idempotency key.",
  },
  result: {
    name: "result",
    kind: "value",
    expects: "success, failed or cancelled",
    description: "How the deploy ended. Default: success.",
  },
  baselineTimeout: {
    name: "baseline-timeout",
    kind: "value",
    env: "SEQPULSE_BASELINE_TIMEOUT",
    expects: "a whole number of seconds, e.g. 30 (0: do not wait)",
    description:
      "How long to wait, after the trigger, for SeqPulse to take the baseline sample, so that the deploy cannot start before it. Default: 30.",
  },
  wait: {
    name: "wait",
    kind: "switch",
    description: "Then wait for the verdict and gate on it (only after a successful deploy).",
  },
  failOn: {
    name: "fail-on",
    kind: "value",
    env: "SEQPULSE_FAIL_ON",
    expects: "warning or rollback_recommended",
    description: "Lowest verdict that fails the gate (exit 1). Default: rollback_recommended.",
  },
  verdictTimeout: {
    name: "verdict-timeout",
    kind: "value",
    env: "SEQPULSE_VERDICT_TIMEOUT",
    expects: "a whole number of seconds, e.g. 900",
    description:
      "How long to wait for the verdict; more than the project's warm-up plus observation window. Default: 900.",
  },
  failOnError: {
    name: "fail-on-error",
    kind: "switch",
    env: "SEQPULSE_FAIL_ON_ERROR",
    description:
      "Exit 3 when SeqPulse cannot be reached, refuses the request or gives no verdict in time. Default: warn and exit 0.",
  },
  json: {
    name: "json",
    kind: "switch",
    description: "Print the result as one JSON document on stdout (messages go to stderr).",
  },
  outputEnv: {
    name: "output-env",
    kind: "value",
    expects: "a file path",
    description:
      "Append SEQPULSE_DEPLOYMENT_ID=… (and the number, the verdict) to this dotenv file, e.g. for a GitLab dotenv report.",
  },
  publicUrl: {
    name: "public-url",
    kind: "value",
    env: "SEQPULSE_PUBLIC_URL",
    expects: "an http:// or https:// URL",
    description: "Base of the deployment links printed. Default: the API URL.",
  },
  help: { name: "help", kind: "switch", description: "Show this help." },
} as const satisfies Record<string, FlagSpec>;

export type FlagKey = keyof typeof FLAG;

export type CommandName = "trigger" | "finish" | "wait" | "status" | "run";

export interface CommandSpec {
  summary: string;
  usage: string;
  flags: readonly FlagKey[];
}

const CONNECTION: FlagKey[] = ["apiUrl", "apiKey"];
const COMMON: FlagKey[] = ["json", "outputEnv", "failOnError", "publicUrl", "help"];
const DESCRIBE_DEPLOY: FlagKey[] = [
  "env",
  "metricsEndpoint",
  "branch",
  "commitSha",
  "idempotencyKey",
  "baselineTimeout",
];
const FIND_DEPLOYMENT: FlagKey[] = ["env", "deploymentId", "idempotencyKey"];
const GATE: FlagKey[] = ["failOn", "verdictTimeout"];

export const COMMANDS: Record<CommandName, CommandSpec> = {
  trigger: {
    summary: "Register a deploy that starts now (SeqPulse takes the baseline).",
    usage: "seqpulse trigger --env production [flags]",
    flags: [...CONNECTION, ...DESCRIBE_DEPLOY, ...COMMON],
  },
  finish: {
    summary: "Report that the deploy ended (SeqPulse observes the window after it).",
    usage: "seqpulse finish --env production [--result success|failed|cancelled] [--wait] [flags]",
    flags: [...CONNECTION, ...FIND_DEPLOYMENT, "result", "wait", ...GATE, ...COMMON],
  },
  wait: {
    summary: "Wait for the verdict and gate on it.",
    usage: "seqpulse wait --env production [--fail-on warning] [flags]",
    flags: [...CONNECTION, ...FIND_DEPLOYMENT, ...GATE, ...COMMON],
  },
  status: {
    summary: "Show a deployment's state and verdict.",
    usage: "seqpulse status --env production [flags]",
    flags: [...CONNECTION, ...FIND_DEPLOYMENT, ...COMMON],
  },
  run: {
    summary: "Trigger, run the deploy command, finish with its exit status; optionally wait and gate.",
    usage: "seqpulse run --env production [--wait] [flags] -- ./deploy.sh [args…]",
    flags: [...CONNECTION, ...DESCRIBE_DEPLOY, "wait", ...GATE, ...COMMON],
  },
};

export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

export function flagSpecs(command: CommandName): FlagSpec[] {
  return COMMANDS[command].flags.map((key) => FLAG[key]);
}

export const EXIT_CODES_HELP = `Exit codes:
  0  done; the gate passed, or SeqPulse had trouble and --fail-on-error is off (a warning says so)
  1  the gate failed: the verdict is at or above --fail-on
  2  usage error: a flag is missing or wrong
  3  SeqPulse unreachable, refusing or without a verdict in time, with --fail-on-error
  run: a deploy command that fails exits with its own status (128 + n when ended by signal n)`;

export function commandHelp(command: CommandName): string {
  const spec = COMMANDS[command];
  const rows = spec.flags.map((key) => {
    const flag: FlagSpec = FLAG[key];
    const left = `--${flag.name}${flag.kind === "value" ? " <value>" : ""}`;
    const env = flag.env ? ` [${flag.env}]` : "";
    return `  ${left.padEnd(28)}${flag.description}${env}`;
  });
  return `${spec.summary}\n\nUsage: ${spec.usage}\n\nFlags (environment variable in brackets):\n${rows.join("\n")}\n\n${EXIT_CODES_HELP}\n`;
}

export function generalHelp(version: string): string {
  const rows = COMMAND_NAMES.map((name) => `  ${name.padEnd(10)}${COMMANDS[name].summary}`);
  return `seqpulse ${version}: report deployments to SeqPulse from any CI and gate on the verdict.

Usage: seqpulse <command> [flags]

Commands:
${rows.join("\n")}

Run seqpulse <command> --help for a command's flags. Configuration comes from flags or from
SEQPULSE_API_URL, SEQPULSE_API_KEY, SEQPULSE_ENV and SEQPULSE_METRICS_ENDPOINT; the idempotency key,
commit, branch and run URL from the CI's own variables (GitLab, Jenkins, CircleCI, Bitbucket, Azure
Pipelines, Buildkite, GitHub Actions).

${EXIT_CODES_HELP}
`;
}
