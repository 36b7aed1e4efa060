import { SeqPulseUnavailableError } from "@seqpulse/client";
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
} as const;

const accepted = async () =>
  ok({ status: "accepted", deployment_id: DEPLOYMENT_ID, state: "finished" } as const, 202);

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
    expect(outcome.failure).toContain(`Details: https://seqpulse.example.com/deployments/${DEPLOYMENT_ID}`);
    expect(record.groups).toEqual([
      "SeqPulse: finish deployment #12",
      "SeqPulse: wait for the verdict on deployment #12",
    ]);
    expect(record.summaries[0]).toContain("🛑 **rollback_recommended** (confidence 90 %)");
    expect(record.summaries[0]).toContain("| Error rate | 0.10 % | 20.00 % | +19900 % | 🛑 absolute limit:");
  });

  it("does not wait for a verdict when the job failed", async () => {
    const { run, record, calls } = post(
      { "wait-for-verdict": "true", "job-status": "failure" },
      { finish: accepted, getDeployment: async () => ok(deploymentDetail({ pipeline_result: "failed" })) },
    );
    expect(await run()).toEqual({});
    expect(calls.map((call) => call.method)).toEqual(["finish", "getDeployment"]);
    expect(record.summaries[0]).toContain(
      "The job's result is failed, so the action did not wait for a verdict.",
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

  it("leaves the verdict and the summary to an explicit finish step that already ran", async () => {
    const { run, record, calls } = post(
      { "wait-for-verdict": "true" },
      {
        finish: async () =>
          ok({ status: "ignored", deployment_id: DEPLOYMENT_ID, state: "analyzed" } as const),
      },
    );
    expect(await run()).toEqual({});
    expect(calls.map((call) => call.method)).toEqual(["finish"]);
    expect(record.log).toContain("Deployment #12 is already analyzed: an explicit finish step finished it.");
    expect(record.summaries).toEqual([]);
  });

  it("leaves the deployment running with auto-finish: false", async () => {
    const { run, record, calls } = post({ "auto-finish": "false" }, {});
    expect(await run()).toEqual({});
    expect(calls).toEqual([]);
    expect(record.log[0]).toContain("auto-finish is false");
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
    expect(lenient.record.summaries[0]).toContain("SeqPulse could not be reached to finish this deployment");
    expect(lenient.record.summaries[0]).toContain("| Environment | `production` |");

    const strict = post({ "fail-on-error": "true" }, handlers);
    expect((await strict.run()).failure).toContain("could not be reached to finish the deployment");
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
        "verdict-checked": "true",
      },
    );
    expect(await run()).toEqual({});
    expect(calls.map((call) => call.method)).toEqual(["getDeployment"]);
    expect(record.summaries[0]).toContain("## SeqPulse · deployment #12 · 🛑 rollback recommended");
  });

  it("fails clearly on a job-status that is not one", async () => {
    const { run, calls } = post({ "job-status": "done" }, {});
    expect((await run()).failure).toContain('job-status "done" is not a job status');
    expect(calls).toEqual([]);
  });
});
