import { describe, expect, it } from "vitest";
import { readGitHubContext } from "../src/github-context.js";
import { InputError, readJobResult, readPostInputs, readSettings } from "../src/inputs.js";
import { API_KEY, DEPLOYMENT_ID, GITHUB_ENV, toolkitFixture } from "./fixtures.js";

const context = readGitHubContext(GITHUB_ENV);

function settingsFor(inputs: Parameters<typeof toolkitFixture>[0], env = context) {
  const { toolkit, record } = toolkitFixture(inputs);
  return { settings: readSettings(toolkit, env), record };
}

function problemsOf(inputs: Parameters<typeof toolkitFixture>[0]): string {
  try {
    settingsFor(inputs);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error("expected an InputError");
}

describe("readSettings", () => {
  it("fills defaults from action.yml and the run's GITHUB_* variables, and masks the key", () => {
    const { settings, record } = settingsFor({ "api-key": ` ${API_KEY} ` });
    expect(settings).toEqual({
      apiKey: API_KEY,
      apiUrl: "https://api.seqpulse.dev",
      publicUrl: undefined,
      env: "production",
      metricsEndpoint: undefined,
      branch: "main",
      commitSha: GITHUB_ENV.GITHUB_SHA,
      idempotencyKey: "9876543210-2",
      mode: "trigger",
      deploymentId: undefined,
      result: undefined,
      autoFinish: true,
      waitForVerdict: false,
      failOn: "rollback_recommended",
      verdictTimeoutSeconds: 900,
      failOnError: false,
    });
    expect(record.secrets).toEqual([API_KEY]);
  });

  it("takes explicit inputs over the defaults", () => {
    const { settings } = settingsFor({
      "api-key": API_KEY,
      "api-url": "https://seqpulse.internal.example.com/api/",
      "public-url": "https://deploys.example.com",
      env: "staging",
      "metrics-endpoint": "https://shop.example.com/metrics",
      branch: "release/1.2",
      "commit-sha": "abc1234",
      "idempotency-key": "deploy-42",
      "auto-finish": "false",
      "wait-for-verdict": "True",
      "fail-on": "warning",
      "verdict-timeout-seconds": "120",
      "fail-on-error": "TRUE",
    });
    expect(settings).toMatchObject({
      env: "staging",
      branch: "release/1.2",
      commitSha: "abc1234",
      idempotencyKey: "deploy-42",
      autoFinish: false,
      waitForVerdict: true,
      failOn: "warning",
      verdictTimeoutSeconds: 120,
      failOnError: true,
    });
  });

  it("defaults the run attempt to 1 and goes without a key outside GitHub Actions", () => {
    expect(
      settingsFor({ "api-key": API_KEY }, readGitHubContext({ GITHUB_RUN_ID: "55" })).settings.idempotencyKey,
    ).toBe("55-1");
    expect(settingsFor({ "api-key": API_KEY }, readGitHubContext({})).settings).toMatchObject({
      idempotencyKey: undefined,
      branch: undefined,
      commitSha: undefined,
    });
  });

  it("reports every bad input at once, clearly", () => {
    const message = problemsOf({
      "api-key": API_KEY,
      "fail-on": "rollback",
      mode: "start",
      env: "prod env",
      "wait-for-verdict": "yes",
      "verdict-timeout-seconds": "15m",
      "commit-sha": "HEAD",
      "api-url": "api.seqpulse.dev",
    });
    expect(message).toContain("SeqPulse: invalid inputs:");
    expect(message).toContain('fail-on "rollback" must be one of: warning, rollback_recommended');
    expect(message).toContain('mode "start" must be one of: trigger, finish');
    expect(message).toContain('env "prod env" must be 1-50 letters');
    expect(message).toContain('wait-for-verdict "yes" must be true or false');
    expect(message).toContain('verdict-timeout-seconds "15m" must be a whole number of seconds');
    expect(message).toContain('commit-sha "HEAD" must be a hexadecimal commit hash');
    expect(message).toContain('api-url "api.seqpulse.dev" must be an http:// or https:// base URL');
  });

  it("explains a missing API key", () => {
    expect(problemsOf({})).toContain("api-key is required");
  });

  it("refuses a key with a line break or another unprintable character, masking it and never quoting it", () => {
    for (const key of [`${API_KEY}\r\nX: y`, `${API_KEY}\nrest`, "sp_a b", "sp_\u0007bell", "sp_ké"]) {
      const { toolkit, record } = toolkitFixture({ "api-key": key, "fail-on": "nope" });
      let message = "";
      try {
        readSettings(toolkit, context);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain(
        "api-key contains characters an API key cannot have (a space, a line break or another non-printable or non-ASCII character)",
      );
      // Every problem at once, as usual.
      expect(message).toContain('fail-on "nope"');
      expect(message).not.toContain(key.trim());
      expect(message).not.toContain("sp_");
      expect(record.secrets).toEqual([key.trim()]);
    }
  });

  it("refuses an api-url with credentials, and never echoes credentials or a query string", () => {
    const withUser = problemsOf({ "api-key": API_KEY, "api-url": "https://ci:hunter2@seqpulse.example.com" });
    expect(withUser).toContain(
      'api-url "https://***@seqpulse.example.com" must not contain a user name or password',
    );
    expect(withUser).not.toContain("hunter2");

    const withQuery = problemsOf({
      "api-key": API_KEY,
      "api-url": "https://seqpulse.example.com/?token=s3cr3t",
    });
    expect(withQuery).toContain(
      'api-url "https://seqpulse.example.com/?***" must be an http:// or https:// base URL',
    );
    expect(withQuery).not.toContain("s3cr3t");

    const publicUrl = problemsOf({
      "api-key": API_KEY,
      "public-url": "https://ci:hunter2@deploys.example.com",
    });
    expect(publicUrl).toContain(
      'public-url "https://***@deploys.example.com" must not contain a user name or password',
    );
    expect(publicUrl).not.toContain("hunter2");
    expect(problemsOf({ "api-key": API_KEY, "public-url": "deploys.example.com" })).toContain(
      'public-url "deploys.example.com" must be an http:// or https:// base URL',
    );

    const endpoint = problemsOf({
      "api-key": API_KEY,
      "metrics-endpoint": "ftp://metrics:hunter2@shop.example.com/m?token=s3cr3t",
    });
    expect(endpoint).toContain('metrics-endpoint "ftp://***@shop.example.com/m?***" must be an absolute');
    expect(endpoint).not.toMatch(/hunter2|s3cr3t/);
    // A metrics endpoint may carry credentials: SeqPulse uses them to sample it.
    expect(
      settingsFor({ "api-key": API_KEY, "metrics-endpoint": "https://u:p@shop.example.com/m" }).settings
        .metricsEndpoint,
    ).toBe("https://u:p@shop.example.com/m");
  });

  it("needs a deployment id and a result to finish, and accepts job statuses as results", () => {
    const message = problemsOf({ "api-key": API_KEY, mode: "finish" });
    expect(message).toContain("mode: finish needs deployment-id");
    expect(message).toContain("mode: finish needs result");
    expect(problemsOf({ "api-key": API_KEY, mode: "finish", "deployment-id": "12", result: "ok" })).toMatch(
      /deployment-id "12" is not a deployment id[\s\S]*result "ok" must be success, failed or cancelled/,
    );
    for (const [raw, result] of [
      ["success", "success"],
      ["failure", "failed"],
      ["failed", "failed"],
      ["cancelled", "cancelled"],
    ] as const) {
      const { settings } = settingsFor({
        "api-key": API_KEY,
        mode: "finish",
        "deployment-id": DEPLOYMENT_ID,
        result: raw,
      });
      expect(settings.result).toBe(result);
    }
  });
});

describe("readJobResult", () => {
  it("maps the job's status to the pipeline result; undefined when it is not a job status", () => {
    const result = (status: string) => readJobResult(toolkitFixture({ "job-status": status }).toolkit);
    expect(result("success")).toEqual({ raw: "success", result: "success" });
    expect(result("failure")).toEqual({ raw: "failure", result: "failed" });
    expect(result("cancelled")).toEqual({ raw: "cancelled", result: "cancelled" });
    expect(result(" done ")).toEqual({ raw: "done", result: undefined });
  });
});

describe("readPostInputs", () => {
  it("reads the key and the gate inputs only, and reports a bad gate input instead of throwing", () => {
    const { toolkit, record } = toolkitFixture({
      "api-key": API_KEY,
      "wait-for-verdict": "true",
      "fail-on": "warning",
      "verdict-timeout-seconds": "forever",
      // Not read by the post step.
      env: "prod env",
      "api-url": "nonsense",
    });
    const inputs = readPostInputs(toolkit);
    expect(inputs.apiKey).toBe(API_KEY);
    expect(inputs.gate).toEqual({
      waitForVerdict: true,
      failOn: "warning",
      verdictTimeoutSeconds: 900,
      failOnError: false,
    });
    expect(inputs.gateProblem?.message).toContain('verdict-timeout-seconds "forever" must be a whole number');
    expect(record.secrets).toEqual([API_KEY]);
    expect(() => readPostInputs(toolkitFixture({}).toolkit)).toThrow(InputError);
  });
});
