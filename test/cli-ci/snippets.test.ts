import { randomBytes, randomUUID } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildCli,
  type CliRun,
  type CliWorld,
  leaksKey,
  REPO_ROOT,
  runProcess,
  seqpulseEnv,
  startWorld,
} from "./support.js";

/** One run of a pipeline: its ids, as the CI would set them. */
interface Pipeline {
  number: number;
  uuid: string;
  sha: string;
}

interface CiCase {
  /** The README heading of the snippet. */
  heading: string;
  provider: string;
  /** The CI's own variables in job `job` (0: the trigger's) of `pipeline`; job-level ids differ per job. */
  env(pipeline: Pipeline, job: number): Record<string, string>;
  /** The key written independently of the CLI, from the README's table. */
  key(pipeline: Pipeline): string;
  /** The run URL the trigger job reports. */
  runUrl(pipeline: Pipeline): string;
  /** How the wait for the verdict opens a collapsible section in this CI's log, if it has them. */
  section?: string;
}

const JOB_NAMES = ["deploy", "verify", "deploy-failed"];

const CASES: CiCase[] = [
  {
    heading: "GitLab CI",
    section: "\x1b[0Ksection_start:",
    provider: "gitlab",
    env: (p, job) => ({
      GITLAB_CI: "true",
      CI_PIPELINE_ID: String(p.number),
      CI_JOB_ID: String(p.number * 100 + job),
      CI_JOB_NAME: JOB_NAMES[job] ?? "job",
      CI_COMMIT_SHA: p.sha,
      CI_COMMIT_BRANCH: "main",
      CI_COMMIT_REF_NAME: "main",
      CI_PROJECT_PATH: "acme/shop",
      CI_PIPELINE_URL: `https://gitlab.example.com/acme/shop/-/pipelines/${p.number}`,
      CI_PIPELINE_SOURCE: "push",
      // Only the deploy job names an environment in the snippet.
      ...(job === 0 ? { CI_ENVIRONMENT_NAME: "production" } : {}),
    }),
    key: (p) => `gitlab-${p.number}-production`,
    runUrl: (p) => `https://gitlab.example.com/acme/shop/-/pipelines/${p.number}`,
  },
  {
    heading: "Jenkins (declarative)",
    provider: "jenkins",
    env: (p, job) => ({
      JENKINS_URL: "https://jenkins.example.com/",
      BUILD_TAG: `jenkins-shop-deploy-${p.number}`,
      BUILD_NUMBER: String(p.number),
      BUILD_URL: `https://jenkins.example.com/job/shop-deploy/${p.number}/`,
      JOB_NAME: "shop-deploy",
      STAGE_NAME: ["Deploy", "Verify", "Declarative: Post Actions"][job] ?? "stage",
      GIT_COMMIT: p.sha,
      GIT_BRANCH: "origin/main",
    }),
    key: (p) => `jenkins-shop-deploy-${p.number}`,
    runUrl: (p) => `https://jenkins.example.com/job/shop-deploy/${p.number}/`,
  },
  {
    heading: "CircleCI",
    provider: "circleci",
    env: (p, job) => ({
      CIRCLECI: "true",
      CI: "true",
      CIRCLE_WORKFLOW_ID: p.uuid,
      CIRCLE_BUILD_NUM: String(p.number * 10 + job),
      CIRCLE_BUILD_URL: `https://circleci.com/gh/acme/shop/${p.number * 10 + job}`,
      CIRCLE_JOB: JOB_NAMES[job] ?? "job",
      CIRCLE_SHA1: p.sha,
      CIRCLE_BRANCH: "main",
      CIRCLE_PROJECT_USERNAME: "acme",
      CIRCLE_PROJECT_REPONAME: "shop",
    }),
    key: (p) => `circleci-${p.uuid}`,
    runUrl: (p) => `https://circleci.com/gh/acme/shop/${p.number * 10}`,
  },
  {
    heading: "Bitbucket Pipelines",
    provider: "bitbucket",
    env: (p, job) => ({
      CI: "true",
      BITBUCKET_PIPELINE_UUID: `{${p.uuid}}`,
      BITBUCKET_BUILD_NUMBER: String(p.number),
      BITBUCKET_STEP_UUID: `{${randomUUID()}}`,
      BITBUCKET_COMMIT: p.sha,
      BITBUCKET_BRANCH: "main",
      BITBUCKET_REPO_FULL_NAME: "acme/shop",
      ...(job === 0 ? { BITBUCKET_DEPLOYMENT_ENVIRONMENT: "production" } : {}),
    }),
    key: (p) => `bitbucket-${p.uuid}`,
    runUrl: (p) => `https://bitbucket.org/acme/shop/pipelines/results/${p.number}`,
  },
  {
    heading: "Azure Pipelines",
    section: "##[group]SeqPulse: waiting for the verdict",
    provider: "azure-pipelines",
    env: (p, job) => ({
      TF_BUILD: "True",
      BUILD_BUILDID: String(p.number),
      SYSTEM_JOBATTEMPT: "1",
      SYSTEM_JOBID: randomUUID(),
      SYSTEM_JOBDISPLAYNAME: JOB_NAMES[job] ?? "job",
      SYSTEM_COLLECTIONURI: "https://dev.azure.com/acme/",
      SYSTEM_TEAMPROJECT: "Shop App",
      BUILD_DEFINITIONNAME: "shop",
      BUILD_REPOSITORY_NAME: "acme/shop",
      BUILD_SOURCEVERSION: p.sha,
      BUILD_SOURCEBRANCH: "refs/heads/main",
      BUILD_REASON: "IndividualCI",
    }),
    key: (p) => `azure-${p.number}`,
    runUrl: (p) => `https://dev.azure.com/acme/Shop%20App/_build/results?buildId=${p.number}`,
  },
  {
    heading: "Buildkite",
    section: "--- SeqPulse: waiting for the verdict",
    provider: "buildkite",
    env: (p, job) => ({
      BUILDKITE: "true",
      CI: "true",
      BUILDKITE_BUILD_ID: p.uuid,
      BUILDKITE_BUILD_NUMBER: String(p.number),
      BUILDKITE_JOB_ID: randomUUID(),
      BUILDKITE_LABEL: [":rocket: Deploy", ":mag: Verify", ":rocket: Deploy"][job] ?? "step",
      BUILDKITE_BUILD_URL: `https://buildkite.com/acme/shop/builds/${p.number}`,
      BUILDKITE_ORGANIZATION_SLUG: "acme",
      BUILDKITE_PIPELINE_SLUG: "shop",
      BUILDKITE_COMMIT: p.sha,
      BUILDKITE_BRANCH: "main",
      BUILDKITE_SOURCE: "webhook",
    }),
    key: (p) => `buildkite-${p.uuid}`,
    runUrl: (p) => `https://buildkite.com/acme/shop/builds/${p.number}`,
  },
];

const SECTION = "## Other CIs: the seqpulse CLI";
const CLI = "npx @seqpulse/cli@1";

/** The fenced code blocks under `### heading` in the README's CLI section. */
function snippetBlocks(readme: string, heading: string): string[] {
  const section = readme.slice(readme.indexOf(SECTION), readme.indexOf("\n## ", readme.indexOf(SECTION) + 1));
  const start = section.indexOf(`\n### ${heading}\n`);
  if (start === -1) throw new Error(`README: no "### ${heading}" under "${SECTION}"`);
  const end = section.indexOf("\n### ", start + 1);
  const text = section.slice(start, end === -1 ? undefined : end);
  return [...text.matchAll(/```\w*\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

/**
 * The shell commands of a CI config that call the CLI, verbatim: a YAML list item or `run:` /
 * `command:` / `script:` value, or the string of a Groovy `sh '…'` step.
 */
function cliCommands(block: string): string[] {
  return block
    .split("\n")
    .filter((line) => line.includes(CLI))
    .map((line) => {
      const groovy = /\bsh '([^']*)'/.exec(line);
      if (groovy) return groovy[1] as string;
      const yaml = /^\s*(?:-\s+)?(?:(?:run|command|script):\s+)?(.*)$/.exec(line);
      return (yaml?.[1] ?? line).trim();
    });
}

describe("README snippets for other CIs, run with the bundled CLI against a real server", {
  timeout: 120_000,
}, () => {
  let world: CliWorld;
  let dispose: () => Promise<void>;
  let binDir: string;
  let readme: string;
  let pipelines = 0;
  const outputs: { run: CliRun; apiKey: string }[] = [];

  beforeAll(async () => {
    const [built, started, text] = await Promise.all([
      buildCli(),
      startWorld(),
      readFile(join(REPO_ROOT, "README.md"), "utf8"),
    ]);
    world = started;
    readme = text;
    binDir = await mkdtemp(join(tmpdir(), "seqpulse-npx-"));
    // `npx @seqpulse/cli@1` runs the bundle, as npx would run the published package's bin.
    await writeFile(
      join(binDir, "npx"),
      `#!/bin/sh\nif [ "$1" = "@seqpulse/cli@1" ]; then shift; exec "${process.execPath}" "${built.bundle}" "$@"; fi\necho "npx: unexpected $*" >&2; exit 99\n`,
    );
    await chmod(join(binDir, "npx"), 0o755);
    dispose = async () => {
      await built.dispose();
      await rm(binDir, { recursive: true, force: true });
    };
  });
  afterAll(async () => {
    await world?.close();
    await dispose?.();
  });

  function newPipeline(): Pipeline {
    return { number: 4700 + ++pipelines, uuid: randomUUID(), sha: randomBytes(20).toString("hex") };
  }

  /** A job's working directory with a `./deploy.sh` that succeeds or fails. */
  async function workspace(deployExit: number): Promise<string> {
    const dir = join(binDir, `job-${randomUUID()}`);
    await mkdir(dir);
    await writeFile(join(dir, "deploy.sh"), `#!/bin/sh\necho "deploying"\nexit ${deployExit}\n`);
    await chmod(join(dir, "deploy.sh"), 0o755);
    return dir;
  }

  async function sh(
    script: string,
    cwd: string,
    project: CreateProjectResponse,
    ciEnv: Record<string, string>,
  ): Promise<CliRun> {
    const run = await runProcess("/bin/sh", ["-e", "-c", script], {
      cwd,
      env: {
        ...seqpulseEnv(world.apiUrl, project.api_key, { SEQPULSE_ENV: "production" }),
        ...ciEnv,
        PATH: `${binDir}:${process.env.PATH ?? ""}`,
      },
    });
    outputs.push({ run, apiKey: project.api_key });
    return run;
  }

  describe.concurrent("each CI", () => {
    it.each(CASES)(
      "$heading: trigger and finish --wait as separate jobs share one deployment",
      async (ci) => {
        const [block] = snippetBlocks(readme, ci.heading);
        const commands = cliCommands(block ?? "");
        const success = commands.filter((command) => !command.includes("--result"));
        expect(success, `${ci.heading} snippet`).toEqual([
          `${CLI} trigger`,
          expect.stringMatching(/ finish --wait\b/),
        ]);

        const project = await world.project();
        const pipeline = newPipeline();
        const runs: CliRun[] = [];
        for (const [job, command] of success.entries()) {
          const run = await sh(command, await workspace(0), project, ci.env(pipeline, job));
          expect(run.code, `${command}\n${run.stdout}${run.stderr}`).toBe(0);
          runs.push(run);
        }
        if (ci.section) expect(runs[1]?.stdout).toContain(ci.section);

        const deployments = await world.deployments(project);
        expect(deployments).toHaveLength(1);
        const detail = await world.deployment(project, deployments[0]?.id ?? "");
        expect(detail).toMatchObject({
          env: "production",
          idempotency_key: ci.key(pipeline),
          state: "analyzed",
          pipeline_result: "success",
          commit_sha: pipeline.sha,
          branch: "main",
          ci: { provider: ci.provider, run_url: ci.runUrl(pipeline) },
          verdict: { verdict: "ok" },
        });
      },
    );

    it.each(CASES)("$heading: a failed deploy is finished by the snippet's failure step", async (ci) => {
      const [block] = snippetBlocks(readme, ci.heading);
      const commands = cliCommands(block ?? "");
      const failureSteps = commands.filter((command) => command.includes("--result"));
      expect(failureSteps.length, `${ci.heading} snippet has a failure step`).toBeGreaterThan(0);

      for (const step of failureSteps) {
        const project = await world.project();
        const pipeline = newPipeline();
        const failed = { BITBUCKET_EXIT_CODE: "1" };
        const trigger = await sh(`${CLI} trigger`, await workspace(1), project, ci.env(pipeline, 0));
        expect(trigger.code, trigger.stderr).toBe(0);
        // A later job, or the same one: job-level ids differ, the key does not.
        const run = await sh(step, await workspace(1), project, { ...ci.env(pipeline, 2), ...failed });
        // Buildkite's `./deploy.sh || (… finish --result failed; exit 1)` fails the step on purpose.
        expect(run.code, `${step}\n${run.stdout}${run.stderr}`).toBe(step.includes("exit 1") ? 1 : 0);
        expect(run.stdout).toContain("deployment finished");
        const [deployment] = await world.deployments(project);
        expect(deployment).toMatchObject({
          idempotency_key: ci.key(pipeline),
          state: "finished",
          pipeline_result: /--result (\w+)/.exec(step)?.[1],
        });
      }
    });

    it("Plain shell: run --wait -- ./deploy.sh in one line, with the command's status", async () => {
      const [oneLine] = snippetBlocks(readme, "Plain shell");
      expect(oneLine).toContain(`${CLI} run --wait -- ./deploy.sh`);

      const project = await world.project();
      const passed = await sh(oneLine ?? "", await workspace(0), project, {});
      expect(passed.code, passed.stderr).toBe(0);
      expect(passed.stdout).toContain("deploying\n");
      expect(passed.stdout).toContain("SeqPulse verdict for deployment #1: ok");

      const failed = await sh(oneLine ?? "", await workspace(5), project, {});
      expect(failed.code).toBe(5);
      const [latest, first] = await world.deployments(project);
      expect(latest).toMatchObject({ deployment_number: 2, pipeline_result: "failed" });
      expect(first).toMatchObject({ deployment_number: 1, state: "analyzed", pipeline_result: "success" });
    });

    it("Plain shell: trigger --output-env, deploy, finish --wait in steps", async () => {
      const [, steps] = snippetBlocks(readme, "Plain shell");
      expect(steps).toContain(`${CLI} trigger --output-env seqpulse.env`);

      const project = await world.project();
      const run = await sh(steps ?? "", await workspace(0), project, {});
      expect(run.code, run.stderr).toBe(0);
      const [deployment] = await world.deployments(project);
      expect(deployment).toMatchObject({ state: "analyzed", pipeline_result: "success" });
      expect(run.stdout).toContain(`finishing deployment ${deployment?.id}`);
    });
  });

  it("never prints the API key", () => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const { run, apiKey } of outputs) expect(leaksKey(run.stdout + run.stderr, apiKey)).toBe(false);
  });
});
