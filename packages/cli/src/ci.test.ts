import { describe, expect, it } from "vitest";
import { detectCi, keyFrom } from "./ci.js";

const SHA = "9f2c1e7a9f2c1e7a9f2c1e7a9f2c1e7a9f2c1e7a";

describe("detectCi", () => {
  it("derives the same GitLab key in the trigger job and a later finish job (CI_JOB_ID differs)", () => {
    const pipeline = {
      GITLAB_CI: "true",
      CI_PIPELINE_ID: "812",
      CI_COMMIT_SHA: SHA,
      CI_COMMIT_BRANCH: "main",
    };
    const deploy = detectCi({
      ...pipeline,
      CI_JOB_ID: "5001",
      CI_JOB_NAME: "deploy",
      CI_ENVIRONMENT_NAME: "production",
    });
    const verify = detectCi({ ...pipeline, CI_JOB_ID: "5002", CI_JOB_NAME: "verify" });
    expect(deploy.key?.("production")).toBe("gitlab-812-production");
    expect(verify.key?.("production")).toBe("gitlab-812-production");
    expect(deploy.env).toBe("production");
    expect(verify.env).toBeUndefined();
    expect(deploy).toMatchObject({ provider: "gitlab", commitSha: SHA, branch: "main", dialect: "gitlab" });
    expect(deploy.metadata).toEqual({ provider: "gitlab", run_id: "812", job: "deploy" });
  });

  it.each([
    {
      name: "Jenkins",
      env: {
        JENKINS_URL: "https://ci/",
        BUILD_TAG: "jenkins-shop-deploy-42",
        GIT_BRANCH: "origin/release/2",
        GIT_COMMIT: SHA,
      },
      key: "jenkins-shop-deploy-42",
      branch: "release/2",
    },
    {
      name: "CircleCI",
      env: {
        CIRCLECI: "true",
        CIRCLE_WORKFLOW_ID: "wf-1",
        CIRCLE_BUILD_NUM: "77",
        CIRCLE_BRANCH: "main",
        CIRCLE_SHA1: SHA,
      },
      key: "circleci-wf-1",
      branch: "main",
    },
    {
      name: "Bitbucket",
      env: { BITBUCKET_PIPELINE_UUID: "{3f1c-aa}", BITBUCKET_BRANCH: "main", BITBUCKET_COMMIT: SHA },
      key: "bitbucket-3f1c-aa",
      branch: "main",
    },
    {
      name: "Azure Pipelines",
      env: {
        TF_BUILD: "True",
        BUILD_BUILDID: "1234",
        BUILD_SOURCEBRANCH: "refs/heads/feature/x",
        BUILD_SOURCEVERSION: SHA,
      },
      key: "azure-1234",
      branch: "feature/x",
    },
    {
      name: "Buildkite",
      env: { BUILDKITE: "true", BUILDKITE_BUILD_ID: "bk-9", BUILDKITE_BRANCH: "main", BUILDKITE_COMMIT: SHA },
      key: "buildkite-bk-9",
      branch: "main",
    },
    {
      name: "GitHub Actions",
      env: {
        GITHUB_ACTIONS: "true",
        GITHUB_RUN_ID: "555",
        GITHUB_RUN_ATTEMPT: "2",
        GITHUB_REF_NAME: "main",
        GITHUB_SHA: SHA,
      },
      // The seqpulse/trigger action's key, so both can work on one deployment.
      key: "555-2",
      branch: "main",
    },
  ])("$name: key $key, branch $branch, the commit", ({ env, key, branch }) => {
    const ci = detectCi(env);
    expect(ci.key?.("production")).toBe(key);
    expect(ci.branch).toBe(branch);
    expect(ci.commitSha).toBe(SHA);
  });

  it("builds run URLs the CIs do not give whole", () => {
    expect(
      detectCi({
        TF_BUILD: "True",
        BUILD_BUILDID: "7",
        SYSTEM_COLLECTIONURI: "https://dev.azure.com/acme/",
        SYSTEM_TEAMPROJECT: "Shop App",
      }).metadata.run_url,
    ).toBe("https://dev.azure.com/acme/Shop%20App/_build/results?buildId=7");
    expect(
      detectCi({
        BITBUCKET_PIPELINE_UUID: "{u}",
        BITBUCKET_REPO_FULL_NAME: "acme/shop",
        BITBUCKET_BUILD_NUMBER: "31",
      }).metadata.run_url,
    ).toBe("https://bitbucket.org/acme/shop/pipelines/results/31");
    expect(
      detectCi({ GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "acme/shop", GITHUB_RUN_ID: "9" }).metadata
        .run_url,
    ).toBe("https://github.com/acme/shop/actions/runs/9/attempts/1");
  });

  it("leaves out a commit that is not a hash (Buildkite's HEAD) and cuts metadata to the API's limits", () => {
    const ci = detectCi({
      BUILDKITE: "true",
      BUILDKITE_BUILD_ID: "b",
      BUILDKITE_COMMIT: "HEAD",
      BUILDKITE_LABEL: "x".repeat(300),
    });
    expect(ci.commitSha).toBeUndefined();
    expect(ci.metadata.job).toHaveLength(255);
  });

  it("has no key outside a known CI, nor when the CI's id variable is missing", () => {
    expect(detectCi({ HOME: "/root" })).toMatchObject({ provider: undefined, key: undefined, metadata: {} });
    expect(detectCi({ GITLAB_CI: "true" }).key).toBeUndefined();
  });
});

describe("keyFrom", () => {
  it("keeps a key that fits, and replaces one too long or not ASCII by a stable digest", () => {
    expect(keyFrom("azure-", "1234")).toBe("azure-1234");
    const long = keyFrom("", `jenkins-${"folder-".repeat(50)}42`);
    expect(long).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(keyFrom("", `jenkins-${"folder-".repeat(50)}42`)).toBe(long);
    expect(keyFrom("", "jenkins-déploiement-42")).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(keyFrom("", "jenkins-déploiement-43")).not.toBe(keyFrom("", "jenkins-déploiement-42"));
  });
});
