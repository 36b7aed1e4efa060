import { createHash } from "node:crypto";
import type { CiMetadata } from "@seqpulse/client";
import { isCommitSha, MAX_IDEMPOTENCY_KEY_LENGTH } from "@seqpulse/client";

export type Env = Readonly<Record<string, string | undefined>>;

/** How the CI shows warnings and collapsible groups in its log. */
export type LogDialect = "github" | "gitlab" | "azure" | "buildkite" | "plain";

export interface CiContext {
  /** Sent as `ci.provider`; undefined outside a known CI. */
  provider: string | undefined;
  /** For messages: "GitLab CI". */
  name: string;
  /**
   * The idempotency key every job of one pipeline run derives alike (pipeline-level ids only: job ids
   * differ between the trigger job and a later finish job). Undefined when the CI's variables are missing.
   */
  key: ((env: string) => string) | undefined;
  /** The variables the key is made of, for messages: "CI_PIPELINE_ID". */
  keySource: string | undefined;
  metadata: CiMetadata;
  commitSha: string | undefined;
  branch: string | undefined;
  /** The environment the CI names for this job, used when --env and SEQPULSE_ENV are not set. */
  env: string | undefined;
  dialect: LogDialect;
}

interface Detector {
  provider: string;
  name: string;
  detect: (env: Env) => boolean;
  read: (env: Env) => Omit<CiContext, "provider" | "name">;
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** `refs/heads/main` → `main`; `origin/main` (Jenkins' GIT_BRANCH) → `main`. */
function shortBranch(ref: string | undefined): string | undefined {
  return ref?.replace(/^refs\/heads\//, "").replace(/^origin\//, "");
}

/**
 * A key the API accepts (1–255 printable ASCII characters) made from a CI value: as is when it fits,
 * otherwise a digest of it, which is as stable across jobs and fits.
 */
export function keyFrom(prefix: string, value: string): string {
  const key = `${prefix}${value}`;
  if (key.length <= MAX_IDEMPOTENCY_KEY_LENGTH && /^[\x20-\x7e]+$/.test(key)) return key;
  return `${prefix}sha256-${createHash("sha256").update(value).digest("hex")}`;
}

const DETECTORS: readonly Detector[] = [
  {
    provider: "github-actions",
    name: "GitHub Actions",
    detect: (env) => env.GITHUB_ACTIONS === "true",
    read: (env) => {
      const repository = read(env, "GITHUB_REPOSITORY");
      const runId = read(env, "GITHUB_RUN_ID");
      const attempt = read(env, "GITHUB_RUN_ATTEMPT") ?? "1";
      const server = read(env, "GITHUB_SERVER_URL") ?? "https://github.com";
      return {
        // The same key as the seqpulse/trigger action, so an action step and a CLI step can share a deployment.
        key: runId ? () => `${runId}-${attempt}` : undefined,
        keySource: "GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT",
        metadata: {
          repository,
          run_id: runId,
          run_attempt: attempt,
          run_url:
            repository && runId
              ? `${server}/${repository}/actions/runs/${runId}/attempts/${attempt}`
              : undefined,
          workflow: read(env, "GITHUB_WORKFLOW"),
          job: read(env, "GITHUB_JOB"),
          actor: read(env, "GITHUB_ACTOR"),
          event: read(env, "GITHUB_EVENT_NAME"),
          ref: read(env, "GITHUB_REF"),
        },
        commitSha: read(env, "GITHUB_SHA"),
        branch: read(env, "GITHUB_HEAD_REF") ?? read(env, "GITHUB_REF_NAME"),
        env: undefined,
        dialect: "github",
      };
    },
  },
  {
    provider: "gitlab",
    name: "GitLab CI",
    detect: (env) => env.GITLAB_CI === "true",
    read: (env) => {
      const pipelineId = read(env, "CI_PIPELINE_ID");
      return {
        key: pipelineId ? (seqpulseEnv) => keyFrom("gitlab-", `${pipelineId}-${seqpulseEnv}`) : undefined,
        keySource: "CI_PIPELINE_ID and the environment",
        metadata: {
          repository: read(env, "CI_PROJECT_PATH"),
          run_id: pipelineId,
          run_url: read(env, "CI_PIPELINE_URL"),
          workflow: read(env, "CI_PIPELINE_NAME"),
          job: read(env, "CI_JOB_NAME"),
          actor: read(env, "GITLAB_USER_LOGIN"),
          event: read(env, "CI_PIPELINE_SOURCE"),
          ref: read(env, "CI_COMMIT_REF_NAME"),
        },
        commitSha: read(env, "CI_COMMIT_SHA"),
        branch: read(env, "CI_COMMIT_BRANCH") ?? read(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
        env: read(env, "CI_ENVIRONMENT_NAME"),
        dialect: "gitlab",
      };
    },
  },
  {
    provider: "jenkins",
    name: "Jenkins",
    detect: (env) =>
      read(env, "JENKINS_URL") !== undefined || read(env, "BUILD_TAG")?.startsWith("jenkins-") === true,
    read: (env) => {
      const tag = read(env, "BUILD_TAG");
      return {
        key: tag ? () => keyFrom("", tag) : undefined,
        keySource: "BUILD_TAG",
        metadata: {
          repository: read(env, "GIT_URL"),
          run_id: read(env, "BUILD_NUMBER"),
          run_url: read(env, "BUILD_URL"),
          workflow: read(env, "JOB_NAME"),
          job: read(env, "STAGE_NAME"),
        },
        commitSha: read(env, "GIT_COMMIT"),
        branch: read(env, "BRANCH_NAME") ?? shortBranch(read(env, "GIT_BRANCH")),
        env: undefined,
        dialect: "plain",
      };
    },
  },
  {
    provider: "circleci",
    name: "CircleCI",
    detect: (env) => env.CIRCLECI === "true",
    read: (env) => {
      const workflowId = read(env, "CIRCLE_WORKFLOW_ID");
      const user = read(env, "CIRCLE_PROJECT_USERNAME");
      const repo = read(env, "CIRCLE_PROJECT_REPONAME");
      return {
        key: workflowId ? () => keyFrom("circleci-", workflowId) : undefined,
        keySource: "CIRCLE_WORKFLOW_ID",
        metadata: {
          repository: user && repo ? `${user}/${repo}` : undefined,
          run_id: workflowId,
          run_url: read(env, "CIRCLE_BUILD_URL"),
          job: read(env, "CIRCLE_JOB"),
          actor: read(env, "CIRCLE_USERNAME"),
        },
        commitSha: read(env, "CIRCLE_SHA1"),
        branch: read(env, "CIRCLE_BRANCH"),
        env: undefined,
        dialect: "plain",
      };
    },
  },
  {
    provider: "bitbucket",
    name: "Bitbucket Pipelines",
    detect: (env) => read(env, "BITBUCKET_PIPELINE_UUID") !== undefined,
    read: (env) => {
      // Bitbucket writes UUIDs in braces: {3f1c…}.
      const pipelineUuid = read(env, "BITBUCKET_PIPELINE_UUID")?.replace(/^\{|\}$/g, "");
      const repository = read(env, "BITBUCKET_REPO_FULL_NAME");
      const buildNumber = read(env, "BITBUCKET_BUILD_NUMBER");
      return {
        key: pipelineUuid ? () => keyFrom("bitbucket-", pipelineUuid) : undefined,
        keySource: "BITBUCKET_PIPELINE_UUID",
        metadata: {
          repository,
          run_id: buildNumber,
          run_url:
            repository && buildNumber
              ? `https://bitbucket.org/${repository}/pipelines/results/${buildNumber}`
              : undefined,
          job: read(env, "BITBUCKET_STEP_UUID"),
        },
        commitSha: read(env, "BITBUCKET_COMMIT"),
        branch: read(env, "BITBUCKET_BRANCH"),
        env: read(env, "BITBUCKET_DEPLOYMENT_ENVIRONMENT"),
        dialect: "plain",
      };
    },
  },
  {
    provider: "azure-pipelines",
    name: "Azure Pipelines",
    detect: (env) => env.TF_BUILD?.toLowerCase() === "true",
    read: (env) => {
      const buildId = read(env, "BUILD_BUILDID");
      const collection = read(env, "SYSTEM_COLLECTIONURI") ?? read(env, "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI");
      const project = read(env, "SYSTEM_TEAMPROJECT");
      return {
        key: buildId ? () => keyFrom("azure-", buildId) : undefined,
        keySource: "BUILD_BUILDID",
        metadata: {
          repository: read(env, "BUILD_REPOSITORY_NAME"),
          run_id: buildId,
          run_attempt: read(env, "SYSTEM_JOBATTEMPT"),
          run_url:
            collection && project && buildId
              ? `${collection.replace(/\/*$/, "/")}${encodeURIComponent(project)}/_build/results?buildId=${encodeURIComponent(buildId)}`
              : undefined,
          workflow: read(env, "BUILD_DEFINITIONNAME"),
          job: read(env, "SYSTEM_JOBDISPLAYNAME"),
          actor: read(env, "BUILD_REQUESTEDFOR"),
          event: read(env, "BUILD_REASON"),
          ref: read(env, "BUILD_SOURCEBRANCH"),
        },
        commitSha: read(env, "BUILD_SOURCEVERSION"),
        branch: shortBranch(read(env, "BUILD_SOURCEBRANCH")),
        env: undefined,
        dialect: "azure",
      };
    },
  },
  {
    provider: "buildkite",
    name: "Buildkite",
    detect: (env) => env.BUILDKITE === "true",
    read: (env) => {
      const buildId = read(env, "BUILDKITE_BUILD_ID");
      const organization = read(env, "BUILDKITE_ORGANIZATION_SLUG");
      const pipeline = read(env, "BUILDKITE_PIPELINE_SLUG");
      return {
        key: buildId ? () => keyFrom("buildkite-", buildId) : undefined,
        keySource: "BUILDKITE_BUILD_ID",
        metadata: {
          repository: organization && pipeline ? `${organization}/${pipeline}` : undefined,
          run_id: read(env, "BUILDKITE_BUILD_NUMBER"),
          run_attempt: read(env, "BUILDKITE_RETRY_COUNT"),
          run_url: read(env, "BUILDKITE_BUILD_URL"),
          workflow: pipeline,
          job: read(env, "BUILDKITE_LABEL"),
          actor: read(env, "BUILDKITE_BUILD_CREATOR"),
          event: read(env, "BUILDKITE_SOURCE"),
        },
        commitSha: read(env, "BUILDKITE_COMMIT"),
        branch: read(env, "BUILDKITE_BRANCH"),
        env: undefined,
        dialect: "buildkite",
      };
    },
  },
];

/** CI metadata fields the API accepts, with their length limits. */
const METADATA_LIMITS: Record<keyof CiMetadata, number> = {
  provider: 50,
  repository: 255,
  run_id: 100,
  run_attempt: 20,
  run_url: 2048,
  workflow: 255,
  job: 255,
  actor: 255,
  event: 100,
  ref: 255,
};

/** The CI this process runs in, from its own variables; a plain shell is `name: "a shell"`. */
export function detectCi(env: Env): CiContext {
  const detector = DETECTORS.find((candidate) => candidate.detect(env));
  if (!detector) {
    return {
      provider: undefined,
      name: "a shell (no known CI)",
      key: undefined,
      keySource: undefined,
      metadata: {},
      commitSha: undefined,
      branch: undefined,
      env: undefined,
      dialect: "plain",
    };
  }
  const context = detector.read(env);
  const metadata: Record<string, string> = {};
  for (const [field, value] of Object.entries({ provider: detector.provider, ...context.metadata })) {
    if (typeof value !== "string" || value === "") continue;
    metadata[field] = value.slice(0, METADATA_LIMITS[field as keyof CiMetadata]);
  }
  return {
    ...context,
    provider: detector.provider,
    name: detector.name,
    metadata: metadata as CiMetadata,
    // A CI may hold something else than a hash here (Buildkite's "HEAD" for a build of a branch tip).
    commitSha: context.commitSha && isCommitSha(context.commitSha) ? context.commitSha : undefined,
  };
}
