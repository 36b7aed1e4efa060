/**
 * Every input, output and state name of the action, in one place. Inputs and outputs mirror
 * action.yml at the repository root (a test keeps them in step).
 */
export const INPUT = {
  apiKey: "api-key",
  apiUrl: "api-url",
  publicUrl: "public-url",
  env: "env",
  metricsEndpoint: "metrics-endpoint",
  branch: "branch",
  commitSha: "commit-sha",
  idempotencyKey: "idempotency-key",
  mode: "mode",
  deploymentId: "deployment-id",
  result: "result",
  autoFinish: "auto-finish",
  waitForVerdict: "wait-for-verdict",
  failOn: "fail-on",
  verdictTimeoutSeconds: "verdict-timeout-seconds",
  failOnError: "fail-on-error",
  jobStatus: "job-status",
} as const;
export type InputName = (typeof INPUT)[keyof typeof INPUT];

export const OUTPUT = {
  deploymentId: "deployment-id",
  deploymentNumber: "deployment-number",
  status: "status",
  httpStatus: "http-status",
  verdict: "verdict",
  confidence: "confidence",
} as const;
export type OutputName = (typeof OUTPUT)[keyof typeof OUTPUT];

/** What the main step hands to the post step. */
export const STATE = {
  deploymentId: "deployment-id",
  deploymentNumber: "deployment-number",
  apiUrl: "api-url",
  /** "" when the console is opened at the API's own address. */
  publicUrl: "public-url",
  env: "env",
  branch: "branch",
  commitSha: "commit-sha",
  mode: "mode",
  /** mode: trigger only: "true" or "false", so the post step need not read auto-finish again. */
  autoFinish: "auto-finish",
} as const;
export type StateName = (typeof STATE)[keyof typeof STATE];

/** Defaults applied by the action itself; action.yml shows the same ones. */
export const DEFAULTS = {
  apiUrl: "https://api.seqpulse.dev",
  env: "production",
  mode: "trigger",
  autoFinish: true,
  waitForVerdict: false,
  failOn: "rollback_recommended",
  verdictTimeoutSeconds: 900,
  failOnError: false,
} as const;

/**
 * Environment variables for tuning the HTTP client, e.g. at job level. Not inputs: most workflows never
 * need them, and the tests use them to keep retries short.
 */
export const TUNING_ENV = {
  attempts: "SEQPULSE_RETRY_ATTEMPTS",
  baseDelayMs: "SEQPULSE_RETRY_BASE_DELAY_MS",
  maxDelayMs: "SEQPULSE_RETRY_MAX_DELAY_MS",
  timeoutMs: "SEQPULSE_REQUEST_TIMEOUT_MS",
  pollIntervalMs: "SEQPULSE_POLL_INTERVAL_MS",
} as const;
