import type { CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";
import {
  type Bundle,
  closedPort,
  copyBundle,
  FAST_RETRIES,
  githubEnv,
  runJob,
  runStep,
  startFlakyProxy,
  uniqueRunId,
} from "./runner.js";

/** The bundled action, run the way the runner runs it, against a real SeqPulse API. */
describe("GitHub Action bundle against a real API", () => {
  let api: TestApi;
  let bundle: Bundle;

  beforeAll(async () => {
    [api, bundle] = await Promise.all([startTestApi(), copyBundle()]);
  });
  afterAll(async () => {
    await bundle?.close();
    await api?.close();
  });

  async function deploymentsOf(project: CreateProjectResponse) {
    const { rows } = await api.database.pool.query<{
      id: string;
      deployment_number: number;
      env: string;
      state: string;
      pipeline_result: string | null;
      idempotency_key: string | null;
      ci: Record<string, unknown> | null;
    }>(
      `select id, deployment_number, env, state, pipeline_result, idempotency_key, ci
       from deployments where project_id = $1 order by deployment_number`,
      [project.project_id],
    );
    return rows;
  }

  const inputsFor = (project: CreateProjectResponse, extra: Record<string, string> = {}) => ({
    "api-key": project.api_key,
    "api-url": api.baseUrl,
    env: "production",
    ...extra,
  });

  it("one deployment for repeated tries of a run attempt, a new one for the next attempt", async () => {
    const project = await api.createProject();
    const runId = uniqueRunId();
    const env = { ...githubEnv(runId, "1"), ...FAST_RETRIES };

    const first = await runStep(bundle, "main", { inputs: inputsFor(project), env });
    expect(first.exitCode, first.stdout).toBe(0);
    expect(first.outputs).toMatchObject({
      "deployment-number": "1",
      status: "created",
      "http-status": "201",
    });
    const deploymentId = first.outputs["deployment-id"];
    expect(first.log).toContain(
      `Deployment #1 created (API: GET ${api.baseUrl}/deployments/${deploymentId})`,
    );
    expect(first.log).toContain("[group] SeqPulse: trigger a deployment in production");

    const again = await runStep(bundle, "main", { inputs: inputsFor(project), env });
    expect(again.exitCode).toBe(0);
    expect(again.outputs).toMatchObject({
      "deployment-id": deploymentId,
      status: "existing",
      "http-status": "200",
    });

    let rows = await deploymentsOf(project);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: deploymentId, idempotency_key: `${runId}-1`, state: "running" });
    expect(rows[0]?.ci).toMatchObject({
      provider: "github-actions",
      repository: "acme/shop",
      run_id: runId,
      run_attempt: "1",
      run_url: `https://github.com/acme/shop/actions/runs/${runId}/attempts/1`,
      workflow: "Deploy",
      job: "deploy",
      actor: "octocat",
      event: "push",
      ref: "refs/heads/main",
    });

    // The first attempt's job fails; its post step finishes the deployment as failed.
    const post = await runStep(bundle, "post", {
      inputs: { ...inputsFor(project), "job-status": "failure" },
      env,
      state: first.state,
    });
    expect(post.exitCode, post.stdout).toBe(0);

    // Re-run of the job: attempt 2 is a deployment of its own.
    const retry = await runStep(bundle, "main", {
      inputs: inputsFor(project),
      env: { ...githubEnv(runId, "2"), ...FAST_RETRIES },
    });
    expect(retry.outputs).toMatchObject({ "deployment-number": "2", status: "created" });
    rows = await deploymentsOf(project);
    expect(rows.map((row) => [row.idempotency_key, row.state, row.pipeline_result])).toEqual([
      [`${runId}-1`, "finished", "failed"],
      [`${runId}-2`, "running", null],
    ]);
  });

  it.each([
    ["success", "success"],
    ["failure", "failed"],
    ["cancelled", "cancelled"],
  ] as const)("the post step finishes with job.status %s as result %s", async (jobStatus, result) => {
    const project = await api.createProject();
    const { main, post } = await runJob(bundle, {
      inputs: inputsFor(project, { env: "staging" }),
      env: { ...githubEnv(uniqueRunId()), ...FAST_RETRIES },
      jobStatus,
    });
    expect(main.exitCode, main.stdout).toBe(0);
    expect(post.exitCode, post.stdout).toBe(0);
    expect(post.log).toContain(`Deployment #1 finished with result ${result}.`);
    expect(post.log).toContain("[group] SeqPulse: finish deployment #1");

    const [row] = await deploymentsOf(project);
    expect(row).toMatchObject({ env: "staging", state: "finished", pipeline_result: result });

    // The job summary: number and API address, env, branch, commit, result.
    const deploymentId = main.outputs["deployment-id"];
    expect(post.summary).toContain("## SeqPulse · deployment #1 · ⏳ analysis pending");
    expect(post.summary).toContain("| Deployment | #1 |");
    expect(post.summary).toContain(`| API | \`GET ${api.baseUrl}/deployments/${deploymentId}\` |`);
    expect(post.summary).toContain("| Environment | `staging` |");
    expect(post.summary).toContain("| Branch | `main` |");
    expect(post.summary).toContain("| Commit | `0123456789ab` |");
    expect(post.summary).toContain(`| Pipeline result | ${result} |`);

    // The key is masked, and never printed other than to register the mask.
    expect(main.masks).toEqual([project.api_key]);
    for (const step of [main, post]) {
      expect(step.stdout.replace(`::add-mask::${project.api_key}`, "")).not.toContain(project.api_key);
      expect(step.stderr).not.toContain(project.api_key);
    }
  });

  it("a lost answer is retried with the same key: one deployment", async () => {
    const project = await api.createProject();
    const proxy = await startFlakyProxy(api.baseUrl);
    try {
      proxy.dropAnswers = 1;
      const main = await runStep(bundle, "main", {
        inputs: inputsFor(project, { "api-url": proxy.url }),
        env: { ...githubEnv(uniqueRunId()), ...FAST_RETRIES },
      });
      expect(main.exitCode, main.stdout).toBe(0);
      // The first try created it; the retry found it by its idempotency key.
      expect(main.outputs).toMatchObject({
        "deployment-number": "1",
        status: "existing",
        "http-status": "200",
      });
      expect(main.log).toMatch(
        /POST \/deployments\/trigger failed \(.+\); retrying in \d+ ms \(attempt 2 of 3\)/,
      );
      expect(main.log).toContain("after 2 attempts");
      expect(proxy.connections).toBe(2);
      expect(await deploymentsOf(project)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it("a re-run of the step after every answer was lost: still one deployment", async () => {
    const project = await api.createProject();
    const proxy = await startFlakyProxy(api.baseUrl);
    const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };
    const inputs = inputsFor(project, { "api-url": proxy.url });
    try {
      proxy.dropAnswers = 3;
      const lost = await runStep(bundle, "main", { inputs, env });
      expect(lost.exitCode, lost.stdout).toBe(0);
      expect(lost.warnings).toHaveLength(1);
      expect(lost.warnings[0]).toContain("could not be reached to trigger the deployment");
      expect(lost.outputs["deployment-id"]).toBeUndefined();
      expect(lost.state).toEqual({});

      const rerun = await runStep(bundle, "main", { inputs, env });
      expect(rerun.exitCode).toBe(0);
      expect(rerun.outputs).toMatchObject({ status: "existing", "deployment-number": "1" });
      const rows = await deploymentsOf(project);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.id).toBe(rerun.outputs["deployment-id"]);
    } finally {
      await proxy.close();
    }
  });

  it("a lost answer to the post step's finish: the retry is ignored, yet the gate and the summary run", async () => {
    const project = await api.createProject();
    const proxy = await startFlakyProxy(api.baseUrl);
    const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };
    // The test API has no workers, so no verdict comes: the gate ends with its timeout warning.
    const inputs = inputsFor(project, {
      "api-url": proxy.url,
      "wait-for-verdict": "true",
      "verdict-timeout-seconds": "1",
    });
    try {
      const main = await runStep(bundle, "main", { inputs, env });
      expect(main.exitCode, main.stdout).toBe(0);

      // The finish reaches the server, its answer is lost; the retry finds the deployment finished.
      proxy.dropAnswers = 1;
      const post = await runStep(bundle, "post", {
        inputs: { ...inputs, "job-status": "success" },
        env,
        state: main.state,
      });
      expect(post.exitCode, post.stdout).toBe(0);
      expect(post.log).toMatch(/POST \/deployments\/finish failed \(.+\); retrying/);
      expect(post.log).toContain(
        "Deployment #1 is already finished: this step's earlier attempt most likely finished it, and its answer was lost.",
      );
      expect(post.log).toContain("[group] SeqPulse: wait for the verdict on deployment #1");
      expect(post.warnings).toHaveLength(1);
      expect(post.warnings[0]).toContain("no verdict for deployment #1 after 1 s (state: finished)");
      expect(post.summary).toContain("## SeqPulse · deployment #1 · ⏳ analysis pending");
      expect(post.summary).toContain("| Pipeline result | success |");
      const [row] = await deploymentsOf(project);
      expect(row).toMatchObject({ state: "finished", pipeline_result: "success" });
    } finally {
      await proxy.close();
    }
  });

  it("an API key with a line break fails the step before any call, and the key is never printed", async () => {
    const project = await api.createProject();
    const key = `${project.api_key}\r\nX-Injected: yes`;
    const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };
    const main = await runStep(bundle, "main", { inputs: inputsFor(project, { "api-key": key }), env });
    expect(main.exitCode).toBe(1);
    expect(main.errors).toHaveLength(1);
    expect(main.errors[0]).toContain("api-key contains characters an API key cannot have");
    expect(main.masks).toEqual([key]);
    const printed = `${main.stdout.replace(/^::add-mask::.*$/m, "")}\n${main.stderr}`;
    expect(printed).not.toContain(project.api_key);
    expect(printed).not.toContain("X-Injected");
    expect(await deploymentsOf(project)).toEqual([]);
  });

  it("an api-url with credentials is refused without echoing them", async () => {
    const run = await runStep(bundle, "main", {
      inputs: { "api-key": "sp_unused_key_0123456789", "api-url": "https://ci:hunter2@seqpulse.example.com" },
      env: githubEnv(uniqueRunId()),
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toContain(
      'api-url "https://***@seqpulse.example.com" must not contain a user name or password',
    );
    expect(run.stdout).not.toContain("hunter2");
  });

  it("the post step finishes even when an input it does not need went bad; an odd job-status means failed", async () => {
    const project = await api.createProject();
    const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };
    const main = await runStep(bundle, "main", { inputs: inputsFor(project), env });
    expect(main.exitCode, main.stdout).toBe(0);
    const post = await runStep(bundle, "post", {
      inputs: { ...inputsFor(project), env: "not an env", mode: "sometimes", "job-status": "skipped" },
      env,
      state: main.state,
    });
    expect(post.exitCode, post.stdout).toBe(0);
    expect(post.warnings).toEqual([
      `SeqPulse: job-status "skipped" is not a job status (success, failure or cancelled), so deployment #1 is finished as failed; leave job-status unset so it defaults to \${{ job.status }}.`,
    ]);
    expect(post.summary).toContain("| Pipeline result | failed |");
    const [row] = await deploymentsOf(project);
    expect(row).toMatchObject({ state: "finished", pipeline_result: "failed" });
  });

  it("SeqPulse down: a warning annotation and exit 0; with fail-on-error, exit 1", async () => {
    const port = await closedPort();
    const inputs = { "api-key": "sp_unused_key_0123456789", "api-url": `http://127.0.0.1:${port}` };
    const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };

    const { main, post } = await runJob(bundle, { inputs, env });
    expect(main.exitCode).toBe(0);
    expect(main.warnings).toHaveLength(1);
    expect(main.warnings[0]).toContain(`SeqPulse at http://127.0.0.1:${port} could not be reached`);
    expect(main.warnings[0]).toContain("ECONNREFUSED");
    expect(main.warnings[0]).toContain("The job goes on because fail-on-error is false.");
    expect(main.errors).toEqual([]);
    // Nothing was triggered, so the post step has nothing to do.
    expect(post.exitCode).toBe(0);
    expect(post.log).toContain("nothing to finish");

    const strict = await runStep(bundle, "main", { inputs: { ...inputs, "fail-on-error": "true" }, env });
    expect(strict.exitCode).toBe(1);
    expect(strict.errors).toHaveLength(1);
    expect(strict.errors[0]).toContain("could not be reached to trigger the deployment");
  });

  it("a rejected key is a warning that says so, and the post step still finishes nothing", async () => {
    const { main } = await runJob(bundle, {
      inputs: { "api-key": "sp_wrong_key_0123456789", "api-url": api.baseUrl },
      env: { ...githubEnv(uniqueRunId()), ...FAST_RETRIES },
    });
    expect(main.exitCode).toBe(0);
    expect(main.outputs).toEqual({ "http-status": "401" });
    expect(main.warnings[0]).toContain("SeqPulse refused to trigger the deployment (401 unauthorized)");
    expect(main.warnings[0]).toContain("the API key was rejected");
  });

  it("bad input fails the step with a clear error, whatever fail-on-error says", async () => {
    const run = await runStep(bundle, "main", {
      inputs: { "api-key": "k", "api-url": api.baseUrl, "fail-on": "maybe", "fail-on-error": "false" },
      env: githubEnv(uniqueRunId()),
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([
      'SeqPulse: invalid input:\n  - fail-on "maybe" must be one of: warning, rollback_recommended',
    ]);
  });

  it("explicit finish: trigger without auto-finish, then mode: finish; the summary comes once", async () => {
    const project = await api.createProject();
    const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };
    const triggerStep = await runStep(bundle, "main", {
      inputs: inputsFor(project, { "auto-finish": "false" }),
      env,
    });
    const deploymentId = triggerStep.outputs["deployment-id"] ?? "";
    const finishInputs = inputsFor(project, {
      mode: "finish",
      "deployment-id": deploymentId,
      result: "success",
    });
    const finishStep = await runStep(bundle, "main", { inputs: finishInputs, env });
    expect(finishStep.exitCode, finishStep.stdout).toBe(0);
    expect(finishStep.outputs).toEqual({ "deployment-id": deploymentId, "http-status": "202" });

    // Post steps run in reverse order at the end of the job.
    const finishPost = await runStep(bundle, "post", {
      inputs: { ...finishInputs, "job-status": "success" },
      env,
      state: finishStep.state,
    });
    const triggerPost = await runStep(bundle, "post", {
      inputs: { ...inputsFor(project, { "auto-finish": "false" }), "job-status": "success" },
      env,
      state: triggerStep.state,
    });
    expect(finishPost.summary).toContain("## SeqPulse · deployment #1 ·");
    expect(triggerPost.summary).toBe("");
    expect(triggerPost.log).toContain("auto-finish is false");
    const [row] = await deploymentsOf(project);
    expect(row).toMatchObject({ state: "finished", pipeline_result: "success" });
  });

  it("explicit finish with auto-finish kept on (the README's safety net): the summary still comes once", async () => {
    const project = await api.createProject();
    const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };
    const triggerStep = await runStep(bundle, "main", { inputs: inputsFor(project), env });
    expect(triggerStep.exitCode, triggerStep.stdout).toBe(0);
    const finishInputs = inputsFor(project, {
      mode: "finish",
      "deployment-id": triggerStep.outputs["deployment-id"] ?? "",
      result: "success",
    });
    const finishStep = await runStep(bundle, "main", { inputs: finishInputs, env });
    expect(finishStep.exitCode, finishStep.stdout).toBe(0);

    // Post steps run in reverse order at the end of the job.
    const finishPost = await runStep(bundle, "post", {
      inputs: { ...finishInputs, "job-status": "success" },
      env,
      state: finishStep.state,
    });
    const triggerPost = await runStep(bundle, "post", {
      inputs: { ...inputsFor(project), "job-status": "success" },
      env,
      state: triggerStep.state,
    });
    expect(finishPost.summary).toContain("## SeqPulse · deployment #1 ·");
    expect(triggerPost.exitCode, triggerPost.stdout).toBe(0);
    expect(triggerPost.summary).toBe("");
    expect(triggerPost.log).toContain(
      "SeqPulse: deployment #1 was already finished when the job ended (finished by a mode: finish step, whose post step writes the job summary, or by another job), so this step leaves it there.",
    );
    expect(triggerPost.warnings).toEqual([]);
  });

  it("a missing GITHUB_STEP_SUMMARY only warns", async () => {
    const project = await api.createProject();
    const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };
    const main = await runStep(bundle, "main", { inputs: inputsFor(project), env });
    const post = await runStep(bundle, "post", {
      inputs: { ...inputsFor(project), "job-status": "success" },
      env,
      state: main.state,
      noSummaryFile: true,
    });
    expect(post.exitCode).toBe(0);
    expect(post.warnings).toHaveLength(1);
    expect(post.warnings[0]).toContain("could not write the job summary");
    expect((await deploymentsOf(project))[0]?.state).toBe("finished");
  });
});
