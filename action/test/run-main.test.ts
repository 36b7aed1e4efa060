import { SeqPulseApiError, SeqPulseUnavailableError } from "@seqpulse/client";
import {
  analyzedRollback,
  deploymentDetail,
  rollbackVerdict,
  triggerResponse,
} from "@seqpulse/client/testing";
import type { Verdict } from "@seqpulse/types";
import { describe, expect, it } from "vitest";
import { runStep } from "../src/failures.js";
import { runMain } from "../src/run-main.js";
import { API_KEY, DEPLOYMENT_ID, fakeDependencies, GITHUB_ENV, ok, toolkitFixture } from "./fixtures.js";

const unavailable = () =>
  new SeqPulseUnavailableError(
    "SeqPulse at https://api.seqpulse.dev could not be reached to trigger the deployment: ECONNREFUSED (5 attempts)",
    5,
    undefined,
    undefined,
    "POST",
    "/deployments/trigger",
  );

describe("main step, mode: trigger", () => {
  it("triggers with the idempotency key and CI metadata, then sets outputs and state", async () => {
    const { toolkit, record } = toolkitFixture({ "api-key": API_KEY, env: "production" });
    const { deps, calls, options } = fakeDependencies({
      trigger: async () => ok(triggerResponse({ deployment_number: 12 }), 201),
    });

    expect(await runMain(toolkit, deps)).toEqual({});

    expect(calls).toEqual([
      {
        method: "trigger",
        args: [
          {
            env: "production",
            branch: "main",
            commit_sha: GITHUB_ENV.GITHUB_SHA,
            ci: {
              provider: "github-actions",
              repository: "acme/shop",
              run_id: "9876543210",
              run_attempt: "2",
              run_url: "https://github.com/acme/shop/actions/runs/9876543210/attempts/2",
              workflow: "Deploy",
              job: "deploy",
              actor: "octocat",
              event: "push",
              ref: "refs/heads/main",
            },
          },
          { idempotencyKey: "9876543210-2" },
        ],
      },
    ]);
    expect(options[0]).toMatchObject({ apiUrl: "https://api.seqpulse.dev", apiKey: API_KEY });
    expect(options[0]?.userAgent).toMatch(/^seqpulse-github-action\//);
    expect(record.outputs).toEqual({
      "deployment-id": DEPLOYMENT_ID,
      "deployment-number": "12",
      status: "created",
      "http-status": "201",
    });
    expect(record.state).toEqual({
      "deployment-id": DEPLOYMENT_ID,
      "deployment-number": "12",
      "api-url": "https://api.seqpulse.dev",
      "public-url": "",
      env: "production",
      branch: "main",
      "commit-sha": GITHUB_ENV.GITHUB_SHA,
      mode: "trigger",
      "auto-finish": "true",
    });
    expect(record.groups).toEqual(["SeqPulse: trigger a deployment in production"]);
    // The address is the API's (JSON, needs the key), not a page: the log says so.
    expect(record.log).toContain(
      `Deployment #12 created (API: GET https://api.seqpulse.dev/deployments/${DEPLOYMENT_ID})`,
    );
    expect(record.log).toContain(
      `Open it in SeqPulse: https://api.seqpulse.dev/deployments/${DEPLOYMENT_ID}`,
    );
    expect(record.warnings).toEqual([]);
    expect([...record.log, ...record.warnings].join("\n")).not.toContain(API_KEY);
  });

  it("says when a repeated try found the deployment of this run attempt", async () => {
    const { toolkit, record } = toolkitFixture({
      "api-key": API_KEY,
      "metrics-endpoint": "https://shop.example.com/m",
    });
    const { deps, calls } = fakeDependencies({
      trigger: async () =>
        ok(
          triggerResponse({ status: "existing", reason: "idempotency_key", idempotency_key: "9876543210-2" }),
        ),
    });
    await runMain(toolkit, deps);
    expect(calls[0]?.args[0]).toMatchObject({ metrics_endpoint: "https://shop.example.com/m" });
    expect(record.outputs).toMatchObject({ status: "existing", "http-status": "200" });
    expect(record.log.join("\n")).toContain(
      "Deployment #12 already created for idempotency key 9876543210-2 (a repeated try of this run attempt)",
    );
  });

  it("warns and lets the job go on when SeqPulse is unreachable", async () => {
    const { toolkit, record } = toolkitFixture({ "api-key": API_KEY });
    const { deps } = fakeDependencies({
      trigger: async () => {
        throw unavailable();
      },
    });
    expect(await runMain(toolkit, deps)).toEqual({});
    expect(record.warnings).toHaveLength(1);
    expect(record.warnings[0]).toContain("could not be reached");
    expect(record.warnings[0]).toContain("The job goes on because fail-on-error is false.");
    expect(record.state).toEqual({});
    expect(record.outputs).toEqual({});
  });

  it("fails the step on SeqPulse errors with fail-on-error: true, with the HTTP status as output", async () => {
    const { toolkit, record } = toolkitFixture({ "api-key": API_KEY, "fail-on-error": "true" });
    const { deps } = fakeDependencies({
      trigger: async () => {
        throw new SeqPulseApiError(
          "SeqPulse refused to trigger the deployment (401 unauthorized): the API key was rejected (the API key is not valid).",
          401,
          "unauthorized",
          "the API key is not valid",
          undefined,
          "POST",
          "/deployments/trigger",
        );
      },
    });
    const outcome = await runMain(toolkit, deps);
    expect(outcome.failure).toContain("the API key was rejected");
    expect(record.outputs).toEqual({ "http-status": "401" });
    expect(record.warnings).toEqual([]);
  });

  it("fails on bad input before calling SeqPulse, whatever fail-on-error says", async () => {
    const { toolkit } = toolkitFixture({
      "api-key": API_KEY,
      "fail-on": "sometimes",
      "fail-on-error": "false",
    });
    const { deps, calls } = fakeDependencies({});
    const outcome = await runStep(() => runMain(toolkit, deps));
    expect(outcome.failure).toContain('fail-on "sometimes" must be one of: warning, rollback_recommended');
    expect(calls).toEqual([]);
  });

  it("reports a bug as such", async () => {
    const { toolkit } = toolkitFixture({ "api-key": API_KEY });
    const { deps } = fakeDependencies({
      trigger: async () => {
        throw new TypeError("boom");
      },
    });
    const outcome = await runStep(() => runMain(toolkit, deps));
    expect(outcome.failure).toMatch(
      /^SeqPulse action failed unexpectedly; please report this: TypeError: boom/,
    );
  });

  it("hands auto-finish: false to the post step, and warns that wait-for-verdict does nothing with it", async () => {
    const { toolkit, record } = toolkitFixture({
      "api-key": API_KEY,
      "auto-finish": "false",
      "wait-for-verdict": "true",
    });
    const { deps } = fakeDependencies({ trigger: async () => ok(triggerResponse(), 201) });
    expect(await runMain(toolkit, deps)).toEqual({});
    expect(record.state["auto-finish"]).toBe("false");
    expect(record.warnings).toEqual([
      "SeqPulse: wait-for-verdict has no effect on a trigger step with auto-finish: false, as this step's post step does not finish the deployment; set wait-for-verdict on the mode: finish step instead.",
    ]);

    // Either one alone is fine.
    for (const inputs of [{ "auto-finish": "false" }, { "wait-for-verdict": "true" }]) {
      const quiet = toolkitFixture({ "api-key": API_KEY, ...inputs });
      await runMain(
        quiet.toolkit,
        fakeDependencies({ trigger: async () => ok(triggerResponse(), 201) }).deps,
      );
      expect(quiet.record.warnings).toEqual([]);
    }
  });

  it("refuses an API key with a line break before calling SeqPulse, without printing it", async () => {
    const key = `${API_KEY}\r\nX-Injected: yes`;
    const { toolkit, record } = toolkitFixture({ "api-key": key });
    const { deps, calls } = fakeDependencies({});
    const outcome = await runStep(() => runMain(toolkit, deps));
    expect(outcome.failure).toContain("api-key contains characters an API key cannot have");
    expect(outcome.failure).not.toContain(API_KEY);
    expect(record.secrets).toEqual([key]);
    expect(calls).toEqual([]);
  });

  it("warns about plain http:// away from loopback", async () => {
    const { toolkit, record } = toolkitFixture({
      "api-key": API_KEY,
      "api-url": "http://seqpulse.example.com",
    });
    const { deps } = fakeDependencies({ trigger: async () => ok(triggerResponse(), 201) });
    await runMain(toolkit, deps);
    expect(record.warnings[0]).toContain("uses plain http://");
  });

  it("applies the SEQPULSE_* tuning variables to the client", async () => {
    const { toolkit, record } = toolkitFixture({ "api-key": API_KEY });
    const { deps, options } = fakeDependencies(
      { trigger: async () => ok(triggerResponse(), 201) },
      {
        ...GITHUB_ENV,
        SEQPULSE_RETRY_ATTEMPTS: "2",
        SEQPULSE_RETRY_BASE_DELAY_MS: "10",
        SEQPULSE_REQUEST_TIMEOUT_MS: "x",
      },
    );
    await runMain(toolkit, deps);
    expect(options[0]?.retry).toEqual({ attempts: 2, baseDelayMs: 10, maxDelayMs: 15_000 });
    expect(options[0]?.timeoutMs).toBe(15_000);
    expect(record.warnings).toEqual([
      'SeqPulse: ignoring SEQPULSE_REQUEST_TIMEOUT_MS="x": expected a whole number ≥ 1',
    ]);
  });
});

describe("main step, mode: finish", () => {
  const finishInputs = {
    "api-key": API_KEY,
    mode: "finish",
    "deployment-id": DEPLOYMENT_ID,
    result: "failure",
  } as const;

  it("finishes the given deployment and hands it to the post step", async () => {
    const { toolkit, record } = toolkitFixture(finishInputs);
    const { deps, calls } = fakeDependencies({
      finish: async () =>
        ok({ status: "accepted", deployment_id: DEPLOYMENT_ID, state: "finished" } as const, 202),
    });
    expect(await runMain(toolkit, deps)).toEqual({});
    expect(calls).toEqual([{ method: "finish", args: [{ deployment_id: DEPLOYMENT_ID, result: "failed" }] }]);
    expect(record.outputs).toEqual({ "deployment-id": DEPLOYMENT_ID, "http-status": "202" });
    expect(record.state).toEqual({
      "deployment-id": DEPLOYMENT_ID,
      "api-url": "https://api.seqpulse.dev",
      "public-url": "",
      mode: "finish",
    });
  });

  function gated(verdict: Verdict, failOn = "rollback_recommended") {
    const { toolkit, record } = toolkitFixture({
      ...finishInputs,
      result: "success",
      "wait-for-verdict": "true",
      "fail-on": failOn,
    });
    const deployment = { ...analyzedRollback(), verdict };
    const { deps, calls } = fakeDependencies({
      finish: async () =>
        ok({ status: "accepted", deployment_id: DEPLOYMENT_ID, state: "finished" } as const, 202),
      waitForVerdict: async () => ({ outcome: "verdict", deployment, verdict, polls: 3 }),
    });
    return { run: () => runMain(toolkit, deps), record, calls };
  }

  it("waits for the verdict and fails the job on rollback_recommended with the reasons", async () => {
    const { run, record, calls } = gated(rollbackVerdict());
    const outcome = await run();
    expect(calls.map((call) => call.method)).toEqual(["finish", "waitForVerdict"]);
    expect(calls[1]?.args[1]).toMatchObject({ timeoutMs: 900_000, pollIntervalMs: 5_000 });
    expect(outcome.failure).toContain(
      "SeqPulse verdict for deployment #12: rollback_recommended (confidence 90 %)",
    );
    expect(outcome.failure).toContain("error_rate rose to 20 % (limit 1 %)");
    expect(outcome.failure).toContain(
      "[critical] error_rate absolute_limit: error_rate 20 % is above the limit 0.9 % in 100 % of post samples",
    );
    expect(outcome.failure).toContain("The job fails because fail-on is rollback_recommended.");
    expect(outcome.failure).toContain(`API: GET https://api.seqpulse.dev/deployments/${DEPLOYMENT_ID}`);
    expect(outcome.failure).not.toContain("Details:");
    expect(record.outputs).toMatchObject({
      verdict: "rollback_recommended",
      confidence: "0.9",
      "deployment-number": "12",
    });
    expect(record.state).toEqual({
      "deployment-id": DEPLOYMENT_ID,
      "api-url": "https://api.seqpulse.dev",
      "public-url": "",
      mode: "finish",
    });
  });

  it("gates only a successful deploy, like the post step", async () => {
    for (const result of ["failure", "failed", "cancelled"]) {
      const { toolkit, record } = toolkitFixture({
        ...finishInputs,
        result,
        "wait-for-verdict": "true",
      });
      const { deps, calls } = fakeDependencies({
        finish: async () =>
          ok({ status: "accepted", deployment_id: DEPLOYMENT_ID, state: "finished" } as const, 202),
      });
      expect(await runMain(toolkit, deps)).toEqual({});
      expect(calls.map((call) => call.method)).toEqual(["finish"]);
      expect(record.log).toContain(
        `SeqPulse: The pipeline result is ${result === "cancelled" ? "cancelled" : "failed"}, so the action did not wait for a verdict (it only gates successful deploys).`,
      );
      expect(record.outputs.verdict).toBeUndefined();
    }
  });

  it("passes a warning verdict with a warning annotation, unless fail-on is warning", async () => {
    const warning: Verdict = { ...rollbackVerdict(), verdict: "warning", summary: "latency rose" };
    const lenient = gated(warning);
    expect(await lenient.run()).toEqual({});
    expect(lenient.record.warnings[0]).toContain("SeqPulse verdict for deployment #12: warning");

    const strict = gated(warning, "warning");
    expect((await strict.run()).failure).toContain("The job fails because fail-on is warning.");
  });

  it("passes an ok verdict quietly", async () => {
    const { run, record } = gated({ ...rollbackVerdict(), verdict: "ok", reasons: [], summary: "all good" });
    expect(await run()).toEqual({});
    expect(record.warnings).toEqual([]);
    expect(record.log.join("\n")).toContain("SeqPulse verdict for deployment #12: ok (confidence 90 %)");
  });

  it("warns when no verdict comes in time, and fails with fail-on-error", async () => {
    for (const failOnError of ["false", "true"]) {
      const { toolkit, record } = toolkitFixture({
        ...finishInputs,
        result: "success",
        "wait-for-verdict": "true",
        "verdict-timeout-seconds": "60",
        "fail-on-error": failOnError,
      });
      const { deps } = fakeDependencies({
        finish: async () =>
          ok({ status: "accepted", deployment_id: DEPLOYMENT_ID, state: "finished" } as const, 202),
        waitForVerdict: async () => ({ outcome: "timeout", deployment: deploymentDetail(), polls: 12 }),
      });
      const outcome = await runMain(toolkit, deps);
      const message = failOnError === "true" ? outcome.failure : record.warnings[0];
      expect(message).toContain("no verdict for the deployment after 60 s (state: finished)");
      if (failOnError === "true") expect(record.warnings).toEqual([]);
      else expect(outcome).toEqual({});
    }
  });

  it("does not hand over the deployment when the finish fails, so the trigger's auto-finish can retry", async () => {
    const { toolkit, record } = toolkitFixture(finishInputs);
    const { deps } = fakeDependencies({
      finish: async () => {
        throw unavailable();
      },
    });
    expect(await runMain(toolkit, deps)).toEqual({});
    expect(record.state).toEqual({});
    expect(record.warnings[0]).toContain("could not be reached");
  });
});
