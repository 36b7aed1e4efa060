import {
  Deployment,
  DeploymentDetail,
  DeploymentList,
  FinishResponse,
  TriggerResponse,
} from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";
import {
  backdate,
  call,
  countDeployments,
  deploymentRow,
  expectInvariants,
  expectProblem,
  newProject,
  PROJECT_ENDPOINT,
  sleep,
} from "./helpers.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  if (api) await expectInvariants(api.database.pool);
  await api?.close();
});

const pool = () => api.database.pool;

describe("POST /deployments/trigger creates deployments", () => {
  it("creates a running deployment: 201, response fields and the row", async () => {
    const { project, api: ci } = await newProject(api);
    const before = Date.now();
    const response = await ci.trigger({
      env: "production",
      branch: "main",
      commit_sha: "0123456789abcdef0123456789abcdef01234567",
    });
    expect(response.status).toBe(201);
    expect(response.contentType).toMatch(/^application\/json/);
    expect(response.headers.get("idempotent-replayed")).toBeNull();
    const body = TriggerResponse.parse(response.body);
    expect(body).toMatchObject({
      deployment_number: 1,
      status: "created",
      env: "production",
      state: "running",
      idempotency_key: null,
    });
    expect(body.reason).toBeUndefined();
    expect(Math.abs(Date.parse(body.started_at) - before)).toBeLessThan(60_000);

    const row = await deploymentRow(pool(), body.deployment_id);
    expect(row).toMatchObject({
      project_id: project.project_id,
      deployment_number: 1,
      env: "production",
      state: "running",
      branch: "main",
      commit_sha: "0123456789abcdef0123456789abcdef01234567",
      metrics_endpoint: PROJECT_ENDPOINT,
      idempotency_key: null,
      finished_at: null,
      pipeline_result: null,
      abandoned_at: null,
    });
    expect(row?.started_at.toISOString()).toBe(body.started_at);
  });

  it("numbers deployments 1, 2, 3… per project, each project from 1", async () => {
    const a = await newProject(api);
    const b = await newProject(api);
    const numbersA: number[] = [];
    for (const env of ["e1", "e2", "e3"]) {
      const response = await a.api.trigger({ env });
      expect(response.status).toBe(201);
      numbersA.push(response.body.deployment_number);
    }
    const first = await b.api.trigger({ env: "e1" });
    const second = await b.api.trigger({ env: "e2" });
    expect(numbersA).toEqual([1, 2, 3]);
    expect([first.body.deployment_number, second.body.deployment_number]).toEqual([1, 2]);
    const { rows } = await pool().query("select deployment_counter from projects where id = $1", [
      a.project.project_id,
    ]);
    expect(rows[0].deployment_counter).toBe(3);
  });

  it("keeps numbering after a finish in the same env", async () => {
    const { api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production" });
    expect((await ci.finish(first.body.deployment_id)).status).toBe(202);
    const second = await ci.trigger({ env: "production" });
    expect(second.status).toBe(201);
    expect(second.body.deployment_number).toBe(2);
    expect(second.body.deployment_id).not.toBe(first.body.deployment_id);
  });

  it("accepts any valid env name when the project lists none", async () => {
    const { api: ci } = await newProject(api, { envs: [] });
    for (const env of ["a", "Z9", "prod.eu-west_1", "0", `x${"y".repeat(49)}`]) {
      const response = await ci.trigger({ env });
      expect(response.status, env).toBe(201);
      expect(response.body.env).toBe(env);
    }
  });

  it("accepts envs from the project's list", async () => {
    const { api: ci } = await newProject(api, { envs: ["production", "staging"] });
    expect((await ci.trigger({ env: "production" })).status).toBe(201);
    expect((await ci.trigger({ env: "staging" })).status).toBe(201);
  });

  it("treats env names as case-sensitive, separate environments", async () => {
    const { api: ci } = await newProject(api);
    const lower = await ci.trigger({ env: "prod" });
    const upper = await ci.trigger({ env: "PROD" });
    expect([lower.status, upper.status]).toEqual([201, 201]);
    expect(lower.body.deployment_id).not.toBe(upper.body.deployment_id);
  });

  it("authenticates with Authorization: Bearer as well as X-API-Key", async () => {
    const { project } = await newProject(api);
    const response = await call<TriggerResponse>(api.baseUrl, "POST", "/deployments/trigger", {
      key: project.api_key,
      auth: "bearer",
      body: { env: "production" },
    });
    expect(response.status).toBe(201);
  });

  it("accepts a JSON content type with parameters or a +json suffix", async () => {
    const { project } = await newProject(api);
    const withCharset = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key: project.api_key,
      body: { env: "one" },
      contentType: "application/json; charset=utf-8",
    });
    expect(withCharset.status).toBe(201);
    const suffixed = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key: project.api_key,
      body: { env: "two" },
      contentType: "application/vnd.seqpulse+json",
    });
    expect(suffixed.status).toBe(201);
  });
});

describe("metrics_endpoint", () => {
  it("uses the project's endpoint when the trigger gives none", async () => {
    const { api: ci } = await newProject(api, { metrics_endpoint: "https://app.example.com/metrics" });
    const response = await ci.trigger({ env: "production" });
    expect(response.status).toBe(201);
    expect((await ci.get(response.body.deployment_id)).body.metrics_endpoint).toBe(
      "https://app.example.com/metrics",
    );
  });

  it("accepts another path on the project's origin", async () => {
    const { api: ci } = await newProject(api, { metrics_endpoint: "https://app.example.com/metrics" });
    const response = await ci.trigger({
      env: "production",
      metrics_endpoint: "https://app.example.com/v2/metrics?format=json",
    });
    expect(response.status).toBe(201);
    const row = await deploymentRow(pool(), response.body.deployment_id);
    expect(row?.metrics_endpoint).toBe("https://app.example.com/v2/metrics?format=json");
  });

  it("treats the default port and letter case as the same origin", async () => {
    const { api: ci } = await newProject(api, { metrics_endpoint: "https://app.example.com/metrics" });
    const response = await ci.trigger({
      env: "production",
      metrics_endpoint: "https://APP.example.com:443/m",
    });
    expect(response.status).toBe(201);
  });

  it("accepts any http(s) endpoint when the project has none", async () => {
    const { api: ci } = await newProject(api, { metrics_endpoint: undefined });
    const http = await ci.trigger({ env: "a", metrics_endpoint: "http://10.0.0.5:8080/metrics" });
    const https = await ci.trigger({ env: "b", metrics_endpoint: "https://b.example.org/metrics" });
    expect([http.status, https.status]).toEqual([201, 201]);
    expect((await ci.get(http.body.deployment_id)).body.metrics_endpoint).toBe(
      "http://10.0.0.5:8080/metrics",
    );
  });
});

describe("CI metadata", () => {
  it("stores the CI metadata as given and shows it back", async () => {
    const { api: ci } = await newProject(api);
    const metadata = {
      provider: "github",
      repository: "acme/shop",
      run_id: 123456789,
      run_attempt: "2",
      run_url: "https://github.com/acme/shop/actions/runs/123456789",
      workflow: "deploy",
      job: "release",
      actor: "octocat",
      event: "push",
      ref: "refs/heads/main",
      custom_flag: true,
      custom_count: 3.5,
      custom_null: null,
      custom_text: "émoji ✓ 🚀",
    };
    const response = await ci.trigger({ env: "production", ci: metadata });
    expect(response.status).toBe(201);
    const detail = await ci.get(response.body.deployment_id);
    expect(detail.body.ci).toEqual(metadata);
    const row = await deploymentRow(pool(), response.body.deployment_id);
    expect(row?.ci).toEqual(metadata);
  });

  it("stores no CI metadata as null", async () => {
    const { api: ci } = await newProject(api);
    const response = await ci.trigger({ env: "production", ci: null });
    expect(response.status).toBe(201);
    expect((await ci.get(response.body.deployment_id)).body.ci).toBeNull();
  });

  it("trims branch and commit and keeps unicode intact", async () => {
    const { api: ci } = await newProject(api);
    const response = await ci.trigger({
      env: "production",
      branch: "  feature/ünïcødé-✓  ",
      commit_sha: " abcd1234 ",
    });
    expect(response.status).toBe(201);
    const detail = await ci.get(response.body.deployment_id);
    expect(detail.body.branch).toBe("feature/ünïcødé-✓");
    expect(detail.body.commit_sha).toBe("abcd1234");
  });
});

describe("idempotency keys", () => {
  it("replays a known key: 200 existing, same id, Idempotent-Replayed: true, no new row", async () => {
    const { project, api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production", branch: "main" }, { "idempotency-key": "run-1" });
    expect(first.status).toBe(201);
    expect(first.body.idempotency_key).toBe("run-1");
    const again = await ci.trigger({ env: "production", branch: "main" }, { "idempotency-key": "run-1" });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(TriggerResponse.parse(again.body)).toEqual({
      ...first.body,
      status: "existing",
      reason: "idempotency_key",
    });
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });

  it("replays a key even after the deployment finished", async () => {
    const { project, api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production" }, { "idempotency-key": "run-2" });
    expect((await ci.finish(first.body.deployment_id, "failed")).status).toBe(202);
    const again = await ci.trigger({ env: "production" }, { "idempotency-key": "run-2" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      deployment_id: first.body.deployment_id,
      status: "existing",
      reason: "idempotency_key",
      state: "finished",
    });
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });

  it.each([
    ["Idempotency-Key header", { "idempotency-key": "abc" }, {}],
    ["structured quoted Idempotency-Key", { "idempotency-key": '"abc"' }, {}],
    ["X-Idempotency-Key header", { "x-idempotency-key": "abc" }, {}],
    ["body idempotency_key", {}, { idempotency_key: "abc" }],
    ["header and body with the same key", { "idempotency-key": "abc" }, { idempotency_key: "abc" }],
    ["quoted header and plain body", { "idempotency-key": '"abc"' }, { idempotency_key: "abc" }],
    ["both headers with the same key", { "idempotency-key": "abc", "x-idempotency-key": "abc" }, {}],
    ["padded header", { "idempotency-key": "   abc   " }, {}],
    ["padded body", {}, { idempotency_key: "  abc\t" }],
  ])("reads the key from the %s", async (_label, headers, body) => {
    const { api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production", ...body }, headers);
    expect(first.status, first.text).toBe(201);
    expect(first.body.idempotency_key).toBe("abc");
    // Every source names the same key: a retry through another source replays it.
    const viaBody = await ci.trigger({ env: "production", idempotency_key: "abc" });
    expect(viaBody.status).toBe(200);
    expect(viaBody.body.deployment_id).toBe(first.body.deployment_id);
    const viaX = await ci.trigger({ env: "production" }, { "x-idempotency-key": '"abc"' });
    expect(viaX.status).toBe(200);
    expect(viaX.body.deployment_id).toBe(first.body.deployment_id);
    expect(viaX.headers.get("idempotent-replayed")).toBe("true");
  });

  it("unescapes a structured quoted key", async () => {
    const { api: ci } = await newProject(api);
    const response = await ci.trigger({ env: "production" }, { "idempotency-key": String.raw`"a\"b\\c"` });
    expect(response.status).toBe(201);
    expect(response.body.idempotency_key).toBe(String.raw`a"b\c`);
    const again = await ci.trigger({ env: "production", idempotency_key: String.raw`a"b\c` });
    expect(again.body.deployment_id).toBe(response.body.deployment_id);
  });

  it.each([
    ["an empty header", { "idempotency-key": "" }, {}],
    ["a blank header", { "idempotency-key": "   " }, {}],
    ["an empty quoted header", { "idempotency-key": '""' }, {}],
    ["an empty body key", {}, { idempotency_key: "" }],
    ["a null body key", {}, { idempotency_key: null }],
  ])("treats %s as no key", async (_label, headers, body) => {
    const { project, api: ci } = await newProject(api);
    const response = await ci.trigger({ env: "production", ...body }, headers);
    expect(response.status).toBe(201);
    expect(response.body.idempotency_key).toBeNull();
    expect((await deploymentRow(pool(), response.body.deployment_id))?.idempotency_key).toBeNull();
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });

  it("an empty header does not conflict with a body key", async () => {
    const { api: ci } = await newProject(api);
    const response = await ci.trigger(
      { env: "production", idempotency_key: "body-key" },
      { "idempotency-key": "" },
    );
    expect(response.status).toBe(201);
    expect(response.body.idempotency_key).toBe("body-key");
  });

  it("accepts keys of 1 and 255 printable ASCII characters", async () => {
    const { api: ci } = await newProject(api);
    const one = await ci.trigger({ env: "a" }, { "idempotency-key": "x" });
    const longest = `${"k".repeat(254)}~`;
    const max = await ci.trigger({ env: "b", idempotency_key: longest });
    const punctuation = await ci.trigger({ env: "c", idempotency_key: " !#$%&'()*+,-./:;<=>?@[]^_`{|}~ " });
    expect([one.status, max.status, punctuation.status]).toEqual([201, 201, 201]);
    expect(max.body.idempotency_key).toBe(longest);
    expect(punctuation.body.idempotency_key).toBe("!#$%&'()*+,-./:;<=>?@[]^_`{|}~");
  });

  it("treats keys as case-sensitive", async () => {
    const { api: ci } = await newProject(api);
    const lower = await ci.trigger({ env: "production" }, { "idempotency-key": "run-a" });
    expect((await ci.finish(lower.body.deployment_id)).status).toBe(202);
    const upper = await ci.trigger({ env: "production" }, { "idempotency-key": "RUN-A" });
    expect(upper.status).toBe(201);
  });

  it("scopes keys per env: the same key in two envs makes two deployments", async () => {
    const { project, api: ci } = await newProject(api);
    const production = await ci.trigger({ env: "production" }, { "idempotency-key": "shared" });
    const staging = await ci.trigger({ env: "staging" }, { "idempotency-key": "shared" });
    expect([production.status, staging.status]).toEqual([201, 201]);
    expect(production.body.deployment_id).not.toBe(staging.body.deployment_id);
    expect(await countDeployments(pool(), project.project_id)).toBe(2);
    const replay = await ci.trigger({ env: "staging" }, { "idempotency-key": "shared" });
    expect(replay.body.deployment_id).toBe(staging.body.deployment_id);
  });

  it("matches commit_sha case-insensitively and ignores CI metadata on replay", async () => {
    const { project, api: ci } = await newProject(api);
    const first = await ci.trigger(
      { env: "production", commit_sha: "ABCDEF12", ci: { run_attempt: 1 } },
      { "idempotency-key": "k" },
    );
    const retry = await ci.trigger(
      { env: "production", commit_sha: "abcdef12", ci: { run_attempt: 2 } },
      { "idempotency-key": "k" },
    );
    expect(retry.status).toBe(200);
    expect(retry.body.deployment_id).toBe(first.body.deployment_id);
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });
});

describe("a running deployment in the env", () => {
  it("joins it by default: 200 existing, reason running, no new row", async () => {
    const { project, api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production" }, { "idempotency-key": "a" });
    const second = await ci.trigger({ env: "production", branch: "other" }, { "idempotency-key": "b" });
    expect(second.status).toBe(200);
    expect(second.headers.get("idempotent-replayed")).toBeNull();
    expect(TriggerResponse.parse(second.body)).toMatchObject({
      deployment_id: first.body.deployment_id,
      deployment_number: 1,
      status: "existing",
      reason: "running",
      state: "running",
      idempotency_key: "a",
    });
    const noKey = await ci.trigger({ env: "production" });
    expect(noKey.status).toBe(200);
    expect(noKey.body.reason).toBe("running");
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });

  it("does not block other envs", async () => {
    const { api: ci } = await newProject(api);
    await ci.trigger({ env: "production" });
    const staging = await ci.trigger({ env: "staging" });
    expect(staging.status).toBe(201);
    expect(staging.body.deployment_number).toBe(2);
  });

  it("does not block other projects in the same env", async () => {
    const a = await newProject(api);
    const b = await newProject(api);
    await a.api.trigger({ env: "production" });
    const other = await b.api.trigger({ env: "production" });
    expect(other.status).toBe(201);
    expect(other.body.deployment_number).toBe(1);
  });

  it("answers 409 environment_busy naming the running deployment when the project rejects", async () => {
    const { project, api: ci } = await newProject(api, { running_conflict: "reject" });
    const first = await ci.trigger({ env: "production" }, { "idempotency-key": "a" });
    const second = await ci.trigger({ env: "production" }, { "idempotency-key": "b" });
    const problem = expectProblem(second, 409, "environment_busy");
    expect(problem.detail).toContain(first.body.deployment_id);
    expect((second.body as Record<string, unknown>).deployment_id).toBe(first.body.deployment_id);
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
    // A retry with the running deployment's own key is still a replay.
    const replay = await ci.trigger({ env: "production" }, { "idempotency-key": "a" });
    expect(replay.status).toBe(200);
    expect(replay.body.reason).toBe("idempotency_key");
    // Once finished, the env is free again.
    expect((await ci.finish(first.body.deployment_id)).status).toBe(202);
    expect((await ci.trigger({ env: "production" }, { "idempotency-key": "b" })).status).toBe(201);
  });

  it("still blocks when it is younger than the running timeout", async () => {
    const { api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production" });
    await backdate(pool(), first.body.deployment_id, 3000);
    const second = await ci.trigger({ env: "production" });
    expect(second.status).toBe(200);
    expect(second.body.deployment_id).toBe(first.body.deployment_id);
    expect((await deploymentRow(pool(), first.body.deployment_id))?.state).toBe("running");
  });
});

describe("stale running deployments", () => {
  it("abandons a deployment older than the timeout and creates the next one", async () => {
    const { project, api: ci } = await newProject(api);
    const stale = await ci.trigger({ env: "production" }, { "idempotency-key": "old" });
    const other = await ci.trigger({ env: "staging" });
    await backdate(pool(), stale.body.deployment_id, 3601);
    await backdate(pool(), other.body.deployment_id, 3601);

    const next = await ci.trigger({ env: "production" }, { "idempotency-key": "new" });
    expect(next.status).toBe(201);
    expect(next.body.deployment_number).toBe(3);

    const old = await ci.get(stale.body.deployment_id);
    expect(old.status).toBe(200);
    expect(old.body).toMatchObject({
      state: "abandoned",
      state_reason: "running_timeout",
      finished_at: null,
    });
    expect(old.body.abandoned_at).not.toBeNull();
    expect(Date.parse(old.body.abandoned_at ?? "")).toBeGreaterThan(Date.parse(old.body.started_at));
    const row = await deploymentRow(pool(), stale.body.deployment_id);
    expect(row?.state).toBe("abandoned");
    expect(row?.abandoned_at).not.toBeNull();
    // Only the env being triggered is swept on the request.
    expect((await deploymentRow(pool(), other.body.deployment_id))?.state).toBe("running");
    expect(await countDeployments(pool(), project.project_id)).toBe(3);
  });

  it("answers finish on a stale deployment with 200 ignored, state abandoned", async () => {
    const { api: ci } = await newProject(api);
    const stale = await ci.trigger({ env: "production" });
    await backdate(pool(), stale.body.deployment_id, 7200);
    const finish = await ci.finish(stale.body.deployment_id);
    expect(finish.status).toBe(200);
    expect(FinishResponse.parse(finish.body)).toEqual({
      status: "ignored",
      deployment_id: stale.body.deployment_id,
      state: "abandoned",
    });
    const row = await deploymentRow(pool(), stale.body.deployment_id);
    expect(row).toMatchObject({ state: "abandoned", state_reason: "running_timeout", pipeline_result: null });
    expect(row?.finished_at).toBeNull();
  });

  it("honours a configured running timeout", async () => {
    const quick = await startTestApi({ runningTimeoutSeconds: 1 });
    try {
      const { api: ci } = await newProject(quick);
      const first = await ci.trigger({ env: "production" });
      expect(first.status).toBe(201);
      const joined = await ci.trigger({ env: "production" });
      expect(joined.body.deployment_id).toBe(first.body.deployment_id);
      await sleep(1_100);
      const next = await ci.trigger({ env: "production" });
      expect(next.status).toBe(201);
      expect(next.body.deployment_number).toBe(2);
      const old = await ci.get(first.body.deployment_id);
      expect(old.body).toMatchObject({ state: "abandoned", state_reason: "running_timeout" });
      await expectInvariants(quick.database.pool);
    } finally {
      await quick.close();
    }
  });
});

describe("POST /deployments/finish", () => {
  it.each(["success", "failed", "cancelled"] as const)(
    "finishes a running deployment with %s: 202 accepted and the row",
    async (result) => {
      const { api: ci } = await newProject(api);
      const created = await ci.trigger({ env: "production" });
      await backdate(pool(), created.body.deployment_id, 5);
      const finish = await ci.finish(created.body.deployment_id, result);
      expect(finish.status).toBe(202);
      expect(FinishResponse.parse(finish.body)).toEqual({
        status: "accepted",
        deployment_id: created.body.deployment_id,
        state: "finished",
      });
      const row = await deploymentRow(pool(), created.body.deployment_id);
      expect(row).toMatchObject({ state: "finished", pipeline_result: result, abandoned_at: null });
      expect(row?.finished_at).not.toBeNull();
      expect(row?.duration_ms).toBeGreaterThanOrEqual(5_000);
      expect(row?.duration_ms).toBeLessThan(60_000);
      expect(row?.finished_at?.getTime()).toBeGreaterThanOrEqual(row?.started_at.getTime() ?? Infinity);

      const detail = await ci.get(created.body.deployment_id);
      expect(detail.body).toMatchObject({
        state: "finished",
        pipeline_result: result,
        duration_ms: row?.duration_ms,
        finished_at: row?.finished_at?.toISOString(),
      });
    },
  );

  it("records a non-negative duration for an immediate finish", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production" });
    expect((await ci.finish(created.body.deployment_id)).status).toBe(202);
    const row = await deploymentRow(pool(), created.body.deployment_id);
    expect(row?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(row?.duration_ms).toBeLessThan(10_000);
  });

  it("ignores a second finish: 200 ignored, state finished, first result kept", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production" });
    expect((await ci.finish(created.body.deployment_id, "success")).status).toBe(202);
    const before = await deploymentRow(pool(), created.body.deployment_id);
    const again = await ci.finish(created.body.deployment_id, "failed");
    expect(again.status).toBe(200);
    expect(FinishResponse.parse(again.body)).toEqual({
      status: "ignored",
      deployment_id: created.body.deployment_id,
      state: "finished",
    });
    expect(await deploymentRow(pool(), created.body.deployment_id)).toEqual(before);
  });

  it("accepts a deployment id in upper case", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production" });
    const finish = await ci.finish(created.body.deployment_id.toUpperCase());
    expect(finish.status).toBe(202);
    expect((await deploymentRow(pool(), created.body.deployment_id))?.state).toBe("finished");
  });
});

describe("GET /deployments/:id", () => {
  it("returns a fresh deployment with every documented field", async () => {
    const { project, api: ci } = await newProject(api);
    const created = await ci.trigger(
      { env: "production", branch: "main", commit_sha: "abcdef1", ci: { provider: "github" } },
      { "idempotency-key": "get-1" },
    );
    const response = await ci.get(created.body.deployment_id);
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^application\/json/);
    const detail = DeploymentDetail.parse(response.body);
    expect(detail).toEqual({
      id: created.body.deployment_id,
      project_id: project.project_id,
      deployment_number: 1,
      env: "production",
      state: "running",
      state_reason: null,
      pipeline_result: null,
      idempotency_key: "get-1",
      branch: "main",
      commit_sha: "abcdef1",
      metrics_endpoint: PROJECT_ENDPOINT,
      ci: { provider: "github" },
      started_at: created.body.started_at,
      finished_at: null,
      duration_ms: null,
      abandoned_at: null,
      analyzed_at: null,
      cancelled_at: null,
      cancelled_by: null,
      cancel_reason: null,
      samples: [],
      baseline_observations: [],
      collection_failures: [],
      verdict: null,
      decision: null,
    });
  });

  it("shows samples in time order, collection failures and the verdict", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production" });
    const id = created.body.deployment_id;
    await pool().query(
      `insert into metric_samples (deployment_id, phase, sequence, collected_at, requests_per_sec, latency_p95, error_rate, cpu_usage, memory_usage)
       values ($1, 'post', 1, '2030-01-01T00:01:00Z', 10, 120, 0.01, 0.5, 0.6),
              ($1, 'baseline', 0, '2030-01-01T00:00:00Z', 12, 100, 0, 0.4, 0.5)`,
      [id],
    );
    await pool().query(
      `insert into collection_failures (deployment_id, phase, sequence, attempted_at, kind, reason, http_status)
       values ($1, 'post', 2, '2030-01-01T00:02:00Z', 'transient', 'HTTP 503', 503)`,
      [id],
    );
    await pool().query(
      `insert into verdicts (deployment_id, verdict, confidence, summary, reasons, data_quality)
       values ($1, 'warning', 0.7, 'latency up', $2, $3)`,
      [
        id,
        JSON.stringify([
          {
            metric: "latency_p95",
            rule: "regression",
            baseline: 100,
            observed: 120,
            threshold: 110,
            exceed_ratio: 1,
            tolerance: 0.2,
            severity: "warning",
            message: "latency regressed",
          },
        ]),
        JSON.stringify({ score: 0.9, issues: ["one sample missing"] }),
      ],
    );
    const detail = DeploymentDetail.parse((await ci.get(id)).body);
    expect(detail.samples).toEqual([
      {
        phase: "baseline",
        sequence: 0,
        collected_at: "2030-01-01T00:00:00.000Z",
        fetched_at: expect.any(String),
        period_start: null,
        requests: null,
        errors: null,
        metrics: { requests_per_sec: 12, latency_p95: 100, error_rate: 0, cpu_usage: 0.4, memory_usage: 0.5 },
      },
      {
        phase: "post",
        sequence: 1,
        collected_at: "2030-01-01T00:01:00.000Z",
        fetched_at: expect.any(String),
        period_start: null,
        requests: null,
        errors: null,
        metrics: {
          requests_per_sec: 10,
          latency_p95: 120,
          error_rate: 0.01,
          cpu_usage: 0.5,
          memory_usage: 0.6,
        },
      },
    ]);
    expect(detail.collection_failures).toEqual([
      {
        phase: "post",
        sequence: 2,
        attempted_at: "2030-01-01T00:02:00.000Z",
        kind: "transient",
        reason: "HTTP 503",
        http_status: 503,
      },
    ]);
    expect(detail.verdict).toMatchObject({
      verdict: "warning",
      confidence: 0.7,
      summary: "latency up",
      data_quality: { score: 0.9, issues: ["one sample missing"] },
    });
    expect(detail.verdict?.reasons).toHaveLength(1);
  });

  it("finds a deployment by its id in upper case", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production" });
    const response = await ci.get(created.body.deployment_id.toUpperCase());
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(created.body.deployment_id);
  });
});

describe("GET /deployments", () => {
  async function seed(count: number, envs: string[]) {
    const seeded = await newProject(api);
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const env = envs[index % envs.length] as string;
      const created = await seeded.api.trigger({ env });
      expect(created.status).toBe(201);
      ids.push(created.body.deployment_id);
      // The last deployment of each env stays running; the others are finished.
      if (index < count - envs.length) {
        expect((await seeded.api.finish(created.body.deployment_id)).status).toBe(202);
      }
    }
    return { ...seeded, ids };
  }

  it("lists the project's deployments newest first, 20 by default", async () => {
    const { api: ci, ids } = await seed(23, ["production", "staging"]);
    const response = await ci.list();
    expect(response.status).toBe(200);
    const list = DeploymentList.parse(response.body);
    expect(list.items).toHaveLength(20);
    expect(list.items.map((item) => item.deployment_number)).toEqual(
      Array.from({ length: 20 }, (_, index) => 23 - index),
    );
    expect(list.items[0]?.id).toBe(ids[22]);
    expect(list.next_cursor).not.toBeNull();
    for (const item of list.items) Deployment.parse(item);
    // List items are deployments, not details.
    expect(Object.keys(list.items[0] ?? {})).not.toContain("samples");
  });

  it("returns an empty list and no cursor for a project without deployments", async () => {
    const { api: ci } = await newProject(api);
    const response = await ci.list();
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [], next_cursor: null });
  });

  it("walks every page with the cursor, without duplicates or gaps", async () => {
    const { api: ci, ids } = await seed(17, ["production"]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await ci.list(cursor ? { limit: 5, cursor } : { limit: 5 });
      expect(response.status).toBe(200);
      const items = response.body.items;
      expect(items.length).toBeLessThanOrEqual(5);
      seen.push(...items.map((item) => item.id));
      cursor = response.body.next_cursor;
      pages++;
      expect(pages).toBeLessThan(10);
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toEqual([...ids].reverse());
  });

  it("gives no next cursor when the last page is exactly full", async () => {
    const { api: ci } = await seed(4, ["production"]);
    const first = await ci.list({ limit: 2 });
    expect(first.body.next_cursor).not.toBeNull();
    const second = await ci.list({ limit: 2, cursor: first.body.next_cursor ?? "" });
    expect(second.body.items).toHaveLength(2);
    expect(second.body.next_cursor).toBeNull();
    const all = await ci.list({ limit: 4 });
    expect(all.body.items).toHaveLength(4);
    expect(all.body.next_cursor).toBeNull();
  });

  it("accepts limit 1 and 100", async () => {
    const { api: ci } = await seed(3, ["production"]);
    expect((await ci.list({ limit: 1 })).body.items).toHaveLength(1);
    expect((await ci.list({ limit: 100 })).body.items).toHaveLength(3);
  });

  it("filters by env and by state, and pages within the filter", async () => {
    const { api: ci } = await seed(12, ["production", "staging", "dev"]);
    const production = await ci.list({ env: "production" });
    expect(production.body.items.map((item) => item.deployment_number)).toEqual([10, 7, 4, 1]);
    expect(production.body.items.every((item) => item.env === "production")).toBe(true);

    const running = await ci.list({ state: "running" });
    expect(running.body.items.map((item) => item.deployment_number)).toEqual([12, 11, 10]);
    expect(running.body.items.every((item) => item.state === "running")).toBe(true);

    const finishedStaging = await ci.list({ env: "staging", state: "finished" });
    expect(finishedStaging.body.items.map((item) => item.deployment_number)).toEqual([8, 5, 2]);
    expect(finishedStaging.body.items.every((item) => item.state === "finished")).toBe(true);

    const page1 = await ci.list({ env: "production", limit: 3 });
    expect(page1.body.items.map((item) => item.deployment_number)).toEqual([10, 7, 4]);
    const page2 = await ci.list({ env: "production", limit: 3, cursor: page1.body.next_cursor ?? "" });
    expect(page2.body.items.map((item) => item.deployment_number)).toEqual([1]);
    expect(page2.body.next_cursor).toBeNull();

    expect((await ci.list({ env: "nowhere" })).body.items).toEqual([]);
    expect((await ci.list({ state: "analyzed" })).body.items).toEqual([]);
  });

  it("shows abandoned deployments under state=abandoned", async () => {
    const { api: ci } = await newProject(api);
    const stale = await ci.trigger({ env: "production" });
    await backdate(pool(), stale.body.deployment_id, 4000);
    await ci.trigger({ env: "production" });
    const abandoned = await ci.list({ state: "abandoned" });
    expect(abandoned.body.items.map((item) => item.id)).toEqual([stale.body.deployment_id]);
    expect(abandoned.body.items[0]?.state_reason).toBe("running_timeout");
  });

  it("lists the same fields GET /deployments/:id shows", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production", branch: "main", ci: { provider: "gitlab" } });
    const {
      samples: _s,
      baseline_observations: _b,
      collection_failures: _f,
      verdict: _v,
      decision: _d,
      ...deployment
    } = (await ci.get(created.body.deployment_id)).body;
    // The list shows the verdict's summary where the record has the whole verdict; none yet.
    expect((await ci.list()).body.items).toEqual([{ ...deployment, verdict: null }]);
  });
});
