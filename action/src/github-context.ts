import type { CiMetadata } from "@seqpulse/types";

export type Env = Record<string, string | undefined>;

/** The run's facts, from the variables every GitHub Actions step gets. */
export interface GitHubContext {
  repository: string | undefined;
  runId: string | undefined;
  runAttempt: string | undefined;
  runUrl: string | undefined;
  workflow: string | undefined;
  job: string | undefined;
  actor: string | undefined;
  event: string | undefined;
  ref: string | undefined;
  refName: string | undefined;
  sha: string | undefined;
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function readGitHubContext(env: Env): GitHubContext {
  const repository = read(env, "GITHUB_REPOSITORY");
  const runId = read(env, "GITHUB_RUN_ID");
  const runAttempt = read(env, "GITHUB_RUN_ATTEMPT");
  const serverUrl = read(env, "GITHUB_SERVER_URL") ?? "https://github.com";
  const runUrl =
    repository && runId
      ? `${serverUrl}/${repository}/actions/runs/${runId}${runAttempt ? `/attempts/${runAttempt}` : ""}`
      : undefined;
  return {
    repository,
    runId,
    runAttempt,
    runUrl,
    workflow: read(env, "GITHUB_WORKFLOW"),
    job: read(env, "GITHUB_JOB"),
    actor: read(env, "GITHUB_ACTOR"),
    event: read(env, "GITHUB_EVENT_NAME"),
    ref: read(env, "GITHUB_REF"),
    refName: read(env, "GITHUB_REF_NAME"),
    sha: read(env, "GITHUB_SHA"),
  };
}

/** The default idempotency key: one per run attempt, so a re-run of the job is a new deployment. */
export function defaultIdempotencyKey(context: GitHubContext): string | undefined {
  return context.runId ? `${context.runId}-${context.runAttempt ?? "1"}` : undefined;
}

/** CI metadata sent with the trigger; fields the runner did not set are left out. */
export function ciMetadata(context: GitHubContext): CiMetadata {
  // Cut to the lengths the API accepts: a long workflow name must not cost the deployment record.
  const fields: CiMetadata = {
    provider: "github-actions",
    repository: cut(context.repository, 255),
    run_id: cut(context.runId, 100),
    run_attempt: cut(context.runAttempt, 20),
    run_url: cut(context.runUrl, 2048),
    workflow: cut(context.workflow, 255),
    job: cut(context.job, 255),
    actor: cut(context.actor, 255),
    event: cut(context.event, 100),
    ref: cut(context.ref, 255),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as CiMetadata;
}

function cut(value: string | undefined, max: number): string | undefined {
  return value === undefined ? undefined : value.slice(0, max);
}
