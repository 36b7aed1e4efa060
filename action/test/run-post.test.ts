import { SeqPulseApiError, SeqPulseUnavailableError } from "@seqpulse/client";
import { analyzedRollback, deploymentDetail, rollbackVerdict } from "@seqpulse/client/testing";
import type { PipelineResult } from "@seqpulse/types";
import { describe, expect, it } from "vitest";
import type { InputName } from "../src/constants.js";
import { runStep } from "../src/failures.js";
import { runPost } from "../src/run-post.js";
import {
  API_KEY,
  DEPLOYMENT_ID,
  type FakeClientHandlers,
  fakeDependencies,
  ok,
  toolkitFixture,
} from "./fixtures.js";

const TRIGGER_STATE = {
  "deployment-id": DEPLOYMENT_ID,
  "deployment-number": "12",
  "api-url": "https://seqpulse.example.com",
  env: "production",
  branch: "main",
  "commit-sha": "0123456789abcdef0123456789abcdef01234567",
  mode: "trigger",
  "auto-finish": "true",
} as const;

const accepted = async () =>
  ok({ status: "accepted", deployment_id: DEPLOYMENT_ID, state: "finished" } as const, 202);

/** The finish call found the deployment already finished or analyzed, on the first attempt or a later one. */
const ignored =
  (state: "finished" | "analyzed", attempts = 1) =>
  async () => ({ ...ok({ status: "ignored", deployment_id: DEPLOYMENT_ID, state } as const), attempts });

const rollbackGate = async () =>
  ({ outcome: "verdict", deployment: analyzedRollback(), verdict: rollbackVerdict(), polls: 4 }) as const;

function post(
  inputs: Partial<Record<InputName, string>>,
  handlers: FakeClientHandlers,
  state: Record<string, string> = TRIGGER_STATE,
) {
  const { toolkit, record } = toolkitFixture(
    { "api-key": API_KEY, "job-status": "success", ...inputs },
    state,
  );
  const { deps, calls, options } = fakeDependencies(handlers);
  return { run: () => runStep(() => runPost(toolkit, deps)), record, calls, options };
}

describe("post step", () => {
  it("does nothing when the main step handed over no deployment", async () => {
    const { run, record, calls } = post({}, {}, {});
    expect(await run()).toEqual({});
    expect(calls).toEqual([]);
    expect(record.summaries).toEqual([]);
    expect(record.log).toEqual([
      "SeqPulse: the main step handed over no deployment, so there is nothing to finish.",
    ]);
  });

  it.each([
    ["success", "success"],
    ["failure", "failed"],
    ["cancelled", "cancelled"],
  ] as const)(
    "finishes with the job's result: job.status %s → %s",
    async (jobStatus, result: PipelineResult) => {
      const { run, record, calls, options } = post(
        { "job-status": jobStatus },
        { finish: accepted, getDeployment: async () => ok(deploymentDetail({ pipeline_result: result })) },
      );
      expect(await run()).toEqual({});
      expect(calls.map((call) => call.method)).toEqual(["finish", "getDeployment"]);
      expect(calls[0]?.args[0]).toEqual({ deployment_id: DEPLOYMENT_ID, result });
      // The post step talks to the server the main step used.
      expect(options[0]?.apiUrl).toBe("https://seqpulse.example.com");
      expect(record.groups).toEqual(["SeqPulse: finish deployment #12"]);
      expect(record.log).toContain(`Deployment #12 finished with result ${result}.`);
      expect(record.summaries).toHaveLength(1);
      expect(record.summaries[0]).toContain(`| Pipeline result | ${result} |`);
    },
  );

  it("gates on the verdict: rollback fails the job, and the summary shows it", async () => {
    const deployment = analyzedRollback();
    const { run, record, calls } = post(
      { "wait-for-verdict": "true" },
      {
        finish: accepted,
        waitForVerdict: async () => ({
          outcome: "verdict",
          deployment,
          verdict: rollbackVerdict(),
          polls: 4,
        }),
      },
    );
    const outcome = await run();
    expect(calls.map((call) => call.method)).toEqual(["finish", "waitForVerdict"]);
    expect(outcome.failure).toContain("SeqPulse verdict for deployment #12: rollback_recommended");
    expect(outcome.failure).toContain(`API: GET https://seqpulse.example.com/deployments/${DEPLOYMENT_ID}`);
    expect(record.groups).toEqual([
      "SeqPulse: finish deployment #12",
      "SeqPulse: wait for the verdict on deployment #12",
    ]);
    expect(record.summaries[0]).toContain("🛑 **rollback_recommended** (confidence 90 %)");
    expect(record.summaries[0]).toContain("| Error rate | 0.10 % | 20.00 % | +19900 % | 🛑 absolute limit:");
  });

  it("links the summary to the page at the public URL the main step handed over", async () => {
    const { run, record } = post(
      {},
      { finish: accepted, getDeployment: async () => ok(analyzedRollback()) },
      { ...TRIGGER_STATE, "public-url": "https://deploys.example.com" },
    );
    await run();
    expect(record.summaries[0]).toContain(
      `| Page | [Open in SeqPulse](<https://deploys.example.com/deployments/${DEPLOYMENT_ID}>) |`,
    );
    expect(record.summaries[0]).toContain(
      `| API | \`GET https://seqpulse.example.com/deployments/${DEPLOYMENT_ID}\` |`,
    );
  });

  it("never fails the job on a dry-run verdict, but says what would have happened", async () => {
    const deployment = analyzedRollback();
    const { run, record } = post(
      { "wait-for-verdict": "true" },
      {
        finish: accepted,
        waitForVerdict: async () => ({
          outcome: "verdict",
          deployment,
          verdict: { ...rollbackVerdict(), dry_run: true },
          polls: 1,
        }),
      },
    );
    const outcome = await run();
    expect(outcome.failure).toBeUndefined();
    const warning = record.warnings.join("\n");
    expect(warning).toContain("SeqPulse verdict for deployment #12: rollback_recommended");
    expect(warning).toContain("Dry run: the project records verdicts without gating, so the job goes on");
    expect(warning).toContain("it would fail because fail-on is rollback_recommended");
  });

  it("does not wait for a verdict when the job failed", async () => {
    const { run, record, calls } = post(
      { "wait-for-verdict": "true", "job-status": "failure" },
      { finish: accepted, getDeployment: async () => ok(deploymentDetail({ pipeline_result: "failed" })) },
    );
    expect(await run()).toEqual({});
    expect(calls.map((call) => call.method)).toEqual(["finish", "getDeployment"]);
    expect(record.summaries[0]).toContain(
      "The pipeline result is failed, so the action did not wait for a verdict (it only gates successful deploys).",
    );
  });

  it("warns when the deployment was abandoned before a verdict", async () => {
    const abandoned = deploymentDetail({ state: "abandoned", state_reason: "running_timeout" });
    const { run, record } = post(
      { "wait-for-verdict": "true" },
      {
        finish: accepted,
        waitForVerdict: async () => ({ outcome: "abandoned", deployment: abandoned, polls: 1 }),
      },
    );
    expect(await run()).toEqual({});
    expect(record.warnings[0]).toContain("deployment #12 was abandoned (running_timeout) before a verdict");
    expect(record.summaries[0]).toContain("abandoned (running_timeout)");
  });

  it("warns when the deployment was cancelled before a verdict; fails the gate with fail-on-error", async () => {
    const cancelled = deploymentDetail({ state: "cancelled", cancel_reason: "superseded by #13" });
    const handlers = {
      finish: accepted,
      waitForVerdict: async () => ({ outcome: "cancelled", deployment: cancelled, polls: 1 }) as const,
    };
    const lenient = post({ "wait-for-verdict": "true" }, handlers);
    expect(await lenient.run()).toEqual({});
    expect(lenient.record.warnings[0]).toContain(
      "deployment #12 was cancelled (superseded by #13), so it gets no verdict and the gate could not run",
    );
    expect(lenient.record.summaries[0]).toContain("🚫 cancelled");

    const strict = post({ "wait-for-verdict": "true", "fail-on-error": "true" }, handlers);
    expect((await strict.run()).failure).toContain("deployment #12 was cancelled (superseded by #13)");
  });

  it("warns when the server abandoned the deployment before the job ended; fails a gate with fail-on-error", async () => {
    const handlers = {
      finish: async () =>
        ok({ status: "ignored", deployment_id: DEPLOYMENT_ID, state: "abandoned" } as const),
      getDeployment: async () =>
        ok(deploymentDetail({ state: "abandoned", state_reason: "running_timeout" })),
    };
    const lenient = post({ "wait-for-verdict": "true" }, handlers);
    expect(await lenient.run()).toEqual({});
    expect(lenient.calls.map((call) => call.method)).toEqual(["finish", "getDeployment"]);
    expect(lenient.record.warnings[0]).toContain("deployment #12 was abandoned before the job ended");
    expect(lenient.record.summaries[0]).toContain("❔ abandoned");

    const strict = post({ "wait-for-verdict": "true", "fail-on-error": "true" }, handlers);
    expect((await strict.run()).failure).toContain("deployment #12 was abandoned before the job ended");
    expect(strict.record.summaries).toHaveLength(1);
  });

  describe("when the deployment is already finished or analyzed", () => {
    it("after a lost answer (ignored on a retry), still gates and writes the summary", async () => {
      const { run, record, calls } = post(
        { "wait-for-verdict": "true" },
        { finish: ignored("finished", 2), waitForVerdict: rollbackGate },
      );
      const outcome = await run();
      expect(calls.map((call) => call.method)).toEqual(["finish", "waitForVerdict"]);
      expect(outcome.failure).toContain("SeqPulse verdict for deployment #12: rollback_recommended");
      expect(record.log).toContain(
        "Deployment #12 is already finished: this step's earlier attempt most likely finished it, and its answer was lost.",
      );
      expect(record.summaries).toHaveLength(1);
      expect(record.summaries[0]).toContain("## SeqPulse · deployment #12 · 🛑 rollback recommended");
    });

    it("after a lost answer without wait-for-verdict, still writes the summary", async () => {
      const { run, record, calls } = post(
        {},
        { finish: ignored("finished", 3), getDeployment: async () => ok(deploymentDetail()) },
      );
      expect(await run()).toEqual({});
      expect(calls.map((call) => call.method)).toEqual(["finish", "getDeployment"]);
      expect(record.summaries).toHaveLength(1);
      expect(record.summaries[0]).toContain("## SeqPulse · deployment #12 · ⏳ analysis pending");
    });

    it("gates when wait-for-verdict is on, whoever finished it, and writes the summary", async () => {
      const { run, record, calls } = post(
        { "wait-for-verdict": "true" },
        { finish: ignored("analyzed"), waitForVerdict: rollbackGate },
      );
      expect((await run()).failure).toContain("The job fails because fail-on is rollback_recommended.");
      expect(calls.map((call) => call.method)).toEqual(["finish", "waitForVerdict"]);
      expect(record.summaries).toHaveLength(1);
    });

    it("without a gate to run, leaves the summary to the mode: finish step that finished it", async () => {
      for (const inputs of [{}, { "wait-for-verdict": "true", "job-status": "failure" }]) {
        const { run, record, calls } = post(inputs, { finish: ignored("analyzed") });
        expect(await run()).toEqual({});
        expect(calls.map((call) => call.method)).toEqual(["finish"]);
        expect(record.log).toContain(
          "SeqPulse: deployment #12 was already analyzed when the job ended (finished by a mode: finish step, whose post step writes the job summary, or by another job), so this step leaves it there.",
        );
        expect(record.summaries).toEqual([]);
      }
    });
  });

  it("leaves the deployment running with auto-finish: false, reading no input", async () => {
    const { toolkit, record } = toolkitFixture({}, { ...TRIGGER_STATE, "auto-finish": "false" });
    const { deps, calls } = fakeDependencies({});
    expect(await runStep(() => runPost(toolkit, deps))).toEqual({});
    expect(calls).toEqual([]);
    expect(record.log[0]).toContain("auto-finish is false");
    expect(record.summaries).toEqual([]);
  });

  it("finishes whatever the inputs it does not need say: those come from the main step's state", async () => {
    const { run, record, calls, options } = post(
      {
        "api-url": "not a url",
        env: "prod env",
        mode: "start",
        "commit-sha": "HEAD",
        "auto-finish": "maybe",
        "idempotency-key": "é",
      },
      { finish: accepted, getDeployment: async () => ok(deploymentDetail()) },
    );
    expect(await run()).toEqual({});
    expect(calls.map((call) => call.method)).toEqual(["finish", "getDeployment"]);
    expect(options[0]?.apiUrl).toBe("https://seqpulse.example.com");
    expect(record.summaries).toHaveLength(1);
  });

  it("finishes first, then fails without gating, when a gate input cannot be read", async () => {
    const { run, record, calls } = post(
      { "wait-for-verdict": "true", "fail-on": "sometimes" },
      { finish: accepted, getDeployment: async () => ok(deploymentDetail()) },
    );
    const outcome = await run();
    expect(calls.map((call) => call.method)).toEqual(["finish", "getDeployment"]);
    expect(outcome.failure).toBe(
      'SeqPulse: invalid input:\n  - fail-on "sometimes" must be one of: warning, rollback_recommended',
    );
    expect(record.summaries).toHaveLength(1);
  });

  it("refuses an unusable API key without printing it", async () => {
    const { run, calls } = post({ "api-key": `${API_KEY}\nmore` }, {});
    const outcome = await run();
    expect(outcome.failure).toContain("api-key contains characters an API key cannot have");
    expect(outcome.failure).not.toContain(API_KEY);
    expect(calls).toEqual([]);
  });

  it("warns when SeqPulse cannot be reached, and still writes what it knows", async () => {
    const unavailable = new SeqPulseUnavailableError(
      "SeqPulse at https://seqpulse.example.com could not be reached to finish the deployment: ECONNREFUSED (5 attempts)",
      5,
      undefined,
      undefined,
      "POST",
      "/deployments/finish",
    );
    const handlers = {
      finish: async () => {
        throw unavailable;
      },
    };
    const lenient = post({}, handlers);
    expect(await lenient.run()).toEqual({});
    expect(lenient.record.warnings[0]).toContain("could not be reached to finish the deployment");
    expect(lenient.record.summaries[0]).toContain(
      "⚠️ SeqPulse could not be reached to finish this deployment, so it may still be running",
    );
    expect(lenient.record.summaries[0]).toContain("| Environment | `production` |");

    const strict = post({ "fail-on-error": "true" }, handlers);
    expect((await strict.run()).failure).toContain("could not be reached to finish the deployment");
  });

  it("says in the summary what happened when SeqPulse refused the finish or kept failing", async () => {
    const refused = post(
      {},
      {
        finish: async () => {
          throw new SeqPulseApiError(
            "SeqPulse refused to finish the deployment (404 not_found): deployment not found.",
            404,
            "not_found",
            "deployment not found",
            undefined,
            "POST",
            "/deployments/finish",
          );
        },
      },
    );
    expect(await refused.run()).toEqual({});
    expect(refused.record.summaries[0]).toContain(
      "⚠️ SeqPulse refused to finish this deployment (404 not_found); see the step log.",
    );
    expect(refused.record.summaries[0]).not.toContain("could not be reached");

    const overloaded = post(
      {},
      {
        finish: async () => {
          throw new SeqPulseUnavailableError("…503…", 5, 503, undefined, "POST", "/deployments/finish");
        },
      },
    );
    await overloaded.run();
    expect(overloaded.record.summaries[0]).toContain("⚠️ SeqPulse kept answering 503 to the finish call");
  });

  it("only warns when the job summary cannot be written", async () => {
    const { toolkit, record } = toolkitFixture(
      { "api-key": API_KEY, "job-status": "success" },
      TRIGGER_STATE,
    );
    record.summaryFails = true;
    const { deps } = fakeDependencies({
      finish: accepted,
      getDeployment: async () => ok(deploymentDetail()),
    });
    expect(await runPost(toolkit, deps)).toEqual({});
    expect(record.warnings).toEqual([
      "SeqPulse: could not write the job summary: Unable to find environment variable for $GITHUB_STEP_SUMMARY.",
    ]);
  });

  it("after an explicit finish, only writes the summary", async () => {
    const { run, record, calls } = post(
      { mode: "finish", "deployment-id": DEPLOYMENT_ID, result: "success", "wait-for-verdict": "true" },
      { getDeployment: async () => ok(analyzedRollback()) },
      {
        "deployment-id": DEPLOYMENT_ID,
        "api-url": "https://seqpulse.example.com",
        mode: "finish",
      },
    );
    expect(await run()).toEqual({});
    expect(calls.map((call) => call.method)).toEqual(["getDeployment"]);
    expect(record.summaries[0]).toContain("## SeqPulse · deployment #12 · 🛑 rollback recommended");
  });

  it("finishes as failed, with a warning, on a job-status that is not one", async () => {
    const { run, record, calls } = post(
      { "job-status": "done", "wait-for-verdict": "true" },
      { finish: accepted, getDeployment: async () => ok(deploymentDetail({ pipeline_result: "failed" })) },
    );
    expect(await run()).toEqual({});
    expect(calls[0]).toEqual({
      method: "finish",
      args: [{ deployment_id: DEPLOYMENT_ID, result: "failed" }],
    });
    expect(record.warnings).toEqual([
      `SeqPulse: job-status "done" is not a job status (success, failure or cancelled), so deployment #12 is finished as failed; leave job-status unset so it defaults to \${{ job.status }}.`,
    ]);
    expect(record.summaries).toHaveLength(1);
  });
});
