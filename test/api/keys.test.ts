import { DeploymentList, type FinishResponse, type TriggerResponse } from "@seqpulse/types";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";
import {
  type ApiResponse,
  backdate,
  type Client,
  call,
  countDeployments,
  deploymentRow,
  expectInvariants,
  expectProblem,
  newProject,
} from "./helpers.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterEach(async () => {
  if (api) await expectInvariants(api.database.pool);
});
afterAll(async () => api?.close());

const pool = () => api.database.pool;

function finishByKey(key: string, body: Record<string, unknown>) {
  return call<FinishResponse>(api.baseUrl, "POST", "/deployments/finish", { key, body });
}

async function keysOf(deploymentId: string): Promise<string[]> {
  const { rows } = await pool().query<{ idempotency_key: string }>(
    "select idempotency_key from deployment_keys where deployment_id = $1 order by idempotency_key",
    [deploymentId],
  );
  return rows.map((row) => row.idempotency_key);
}

const tally = (responses: ApiResponse[]) =>
  responses.reduce<Record<number, number>>((counts, { status }) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

describe("POST /deployments/finish by env and idempotency key", () => {
  it("finishes the deployment the key triggered, as a later CI job that knows only the key would", async () => {
    const { project, api: ci } = await newProject(api);
    const trigger = await ci.trigger({ env: "production" }, { "idempotency-key": "pipeline-481" });
    expect(trigger.status).toBe(201);

    const finish = await finishByKey(project.api_key, {
      env: "production",
      idempotency_key: "pipeline-481",
      result: "success",
    });
    expect(finish.status, finish.text).toBe(202);
    expect(finish.body).toEqual({
      status: "accepted",
      deployment_id: trigger.body.deployment_id,
      state: "finished",
    });
    expect(await deploymentRow(pool(), trigger.body.deployment_id)).toMatchObject({
      state: "finished",
      pipeline_result: "success",
    });
    // The finish job did not create a stray deployment.
    expect(await countDeployments(pool(), project.project_id)).toBe(1);

    const again = await finishByKey(project.api_key, {
      env: "production",
      idempotency_key: "pipeline-481",
      result: "failed",
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      status: "ignored",
      deployment_id: trigger.body.deployment_id,
      state: "finished",
    });
  });

  it("answers 404 for a key no deployment has in that env, naming the env and key", async () => {
    const { project, api: ci } = await newProject(api);
    await ci.trigger({ env: "staging" }, { "idempotency-key": "known" });
    for (const body of [
      { env: "production", idempotency_key: "known", result: "success" },
      { env: "staging", idempotency_key: "unknown", result: "success" },
    ]) {
      const response = await finishByKey(project.api_key, body);
      const problem = expectProblem(response, 404, "not_found");
      expect(problem.detail).toContain(`"${body.env}"`);
      expect(problem.detail).toContain(`"${body.idempotency_key}"`);
    }
  });

  it("does not find another project's deployment by its key", async () => {
    const owner = await newProject(api);
    const other = await newProject(api);
    await owner.api.trigger({ env: "production" }, { "idempotency-key": "shared-name" });
    const response = await finishByKey(other.project.api_key, {
      env: "production",
      idempotency_key: "shared-name",
      result: "success",
    });
    expectProblem(response, 404, "not_found");
    expect(await countDeployments(pool(), other.project.project_id)).toBe(0);
  });

  it.each([
    [{ result: "success" }, "deployment_id"],
    [
      { deployment_id: "5f0c1f7e-7b43-4a62-9a57-1f2b0c7e4a10", env: "production", result: "success" },
      "deployment_id",
    ],
    [{ idempotency_key: "k", result: "success" }, "env"],
    [{ env: "production", result: "success" }, "idempotency_key"],
    [{ env: "production", idempotency_key: "é", result: "success" }, "idempotency_key"],
  ])("refuses %j with 400 naming %s", async (body, path) => {
    const { project } = await newProject(api);
    const response = await finishByKey(project.api_key, body);
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.errors?.map((error) => error.path)).toContain(path);
  });

  it("20 parallel finishes by key: exactly one accepted, the rest ignored", async () => {
    const { project, api: ci } = await newProject(api);
    const trigger = await ci.trigger({ env: "production" }, { "idempotency-key": "race-finish" });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        finishByKey(project.api_key, {
          env: "production",
          idempotency_key: "race-finish",
          result: "success",
        }),
      ),
    );
    expect(tally(responses)).toEqual({ 202: 1, 200: 19 });
    for (const response of responses) expect(response.body.deployment_id).toBe(trigger.body.deployment_id);
    const { rows } = await pool().query(
      "select count(*)::int as n from pgboss.job where name = 'seqpulse.analyze' and data->>'deploymentId' = $1",
      [trigger.body.deployment_id],
    );
    // One window was queued: its one analysis deadline.
    expect(rows[0].n).toBe(1);
  });
});

describe("a trigger that joins a running deployment records its key", () => {
  async function joinedPair(ci: Client) {
    const first = await ci.trigger(
      { env: "production", branch: "main" },
      { "idempotency-key": "pipeline-A" },
    );
    const joined = await ci.trigger(
      { env: "production", branch: "main" },
      { "idempotency-key": "pipeline-B" },
    );
    expect(first.status).toBe(201);
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({
      deployment_id: first.body.deployment_id,
      status: "existing",
      reason: "running",
    });
    return { first, joined };
  }

  it("its retry after the other pipeline finished replays the joined deployment instead of creating one", async () => {
    const { project, api: ci } = await newProject(api);
    const { first } = await joinedPair(ci);
    expect(await keysOf(first.body.deployment_id)).toEqual(["pipeline-A", "pipeline-B"]);
    expect((await ci.finish(first.body.deployment_id)).status).toBe(202);

    // The regression: this retry used to create a new deployment whose baseline came after the deploy.
    const retry = await ci.trigger(
      { env: "production", branch: "main" },
      { "idempotency-key": "pipeline-B" },
    );
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body).toMatchObject({
      deployment_id: first.body.deployment_id,
      status: "existing",
      reason: "idempotency_key",
      state: "finished",
    });
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });

  it("finish by the joining key finds the joined deployment", async () => {
    const { project, api: ci } = await newProject(api);
    const { first } = await joinedPair(ci);
    const finish = await finishByKey(project.api_key, {
      env: "production",
      idempotency_key: "pipeline-B",
      result: "success",
    });
    expect(finish.status).toBe(202);
    expect(finish.body.deployment_id).toBe(first.body.deployment_id);
  });

  it("a replay of the joining key with another commit is refused like any reused key", async () => {
    const { api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production", commit_sha: "aaaa1111" }, { "idempotency-key": "A" });
    await ci.trigger({ env: "production", commit_sha: "bbbb2222" }, { "idempotency-key": "B" });
    const reused = await ci.trigger(
      { env: "production", commit_sha: "cccc3333" },
      { "idempotency-key": "B" },
    );
    const problem = expectProblem(reused, 422, "idempotency_key_reused");
    expect(problem.deployment_id).toBe(first.body.deployment_id);
  });

  it("the stray from the README's old key scheme: the next pipeline's retry stays on its own deployment", async () => {
    const { project, api: ci } = await newProject(api);
    // Pipeline 1 triggers; pipeline 2 joins while it runs; pipeline 1 finishes by key.
    const one = await ci.trigger({ env: "production" }, { "idempotency-key": "1001" });
    await ci.trigger({ env: "production" }, { "idempotency-key": "1002" });
    await finishByKey(project.api_key, { env: "production", idempotency_key: "1001", result: "success" });
    // Pipeline 2's finish job, by its own key, finds the same deployment: nothing is left running.
    const two = await finishByKey(project.api_key, {
      env: "production",
      idempotency_key: "1002",
      result: "success",
    });
    expect(two.body).toEqual({ status: "ignored", deployment_id: one.body.deployment_id, state: "finished" });
    // Pipeline 3 gets a deployment of its own rather than joining a stray.
    const three = await ci.trigger({ env: "production" }, { "idempotency-key": "1003" });
    expect(three.status).toBe(201);
    expect(await countDeployments(pool(), project.project_id)).toBe(2);
    const { rows } = await pool().query(
      "select count(*)::int as n from deployments where project_id = $1 and state = 'running'",
      [project.project_id],
    );
    expect(rows[0].n).toBe(1);
  });

  it("50 parallel triggers with one new key joining a running deployment: one alias, every answer the same deployment", async () => {
    const { api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production" }, { "idempotency-key": "owner" });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => ci.trigger({ env: "production" }, { "idempotency-key": "joiner" })),
    );
    expect(responses.filter((response) => response.status >= 300).map((response) => response.text)).toEqual(
      [],
    );
    for (const response of responses) expect(response.body.deployment_id).toBe(first.body.deployment_id);
    expect(await keysOf(first.body.deployment_id)).toEqual(["joiner", "owner"]);
  });

  it("parallel joins and a finish race: each key ends on exactly one deployment, and its retry replays it", async () => {
    const { project, api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production" }, { "idempotency-key": "base" });
    const keys = Array.from({ length: 20 }, (_, index) => `race-${index}`);
    const [finish, ...joins] = await Promise.all([
      ci.finish(first.body.deployment_id),
      ...keys.map((key) => ci.trigger({ env: "production" }, { "idempotency-key": key })),
    ]);
    expect(finish?.status).toBe(202);
    for (const [index, key] of keys.entries()) {
      const join = joins[index] as ApiResponse<TriggerResponse>;
      expect(join.status, join.text).toBeLessThan(300);
      const retry = await ci.trigger({ env: "production" }, { "idempotency-key": key });
      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ deployment_id: join.body.deployment_id, reason: "idempotency_key" });
    }
    const { rows } = await pool().query(
      "select count(*)::int as n from deployment_keys where project_id = $1",
      [project.project_id],
    );
    expect(rows[0].n).toBe(keys.length + 1);
  });

  it("a project that rejects running conflicts records no alias", async () => {
    const { api: ci } = await newProject(api, { running_conflict: "reject" });
    const first = await ci.trigger({ env: "production" }, { "idempotency-key": "only" });
    expectProblem(
      await ci.trigger({ env: "production" }, { "idempotency-key": "refused" }),
      409,
      "environment_busy",
    );
    expect(await keysOf(first.body.deployment_id)).toEqual(["only"]);
  });
});

describe("GET /deployments filters", () => {
  async function seeded() {
    const { project, api: ci } = await newProject(api);
    const a = await ci.trigger(
      { env: "production", branch: "main", commit_sha: "ABCDEF1234" },
      { "idempotency-key": "k-a" },
    );
    await ci.finish(a.body.deployment_id);
    const b = await ci.trigger(
      { env: "production", branch: "feature/x", commit_sha: "1234abcd" },
      { "idempotency-key": "k-b" },
    );
    const joined = await ci.trigger(
      { env: "production", branch: "feature/x" },
      { "idempotency-key": "k-joined" },
    );
    expect(joined.body.deployment_id).toBe(b.body.deployment_id);
    return { project, ci, a: a.body.deployment_id, b: b.body.deployment_id };
  }

  const ids = (response: ApiResponse<DeploymentList>) => {
    expect(response.status, response.text).toBe(200);
    return DeploymentList.parse(response.body).items.map((item) => item.id);
  };

  it("filters by key (own or joined), commit prefix in any case, branch and creation time", async () => {
    const { ci, a, b } = await seeded();
    expect(ids(await ci.list({ idempotency_key: "k-a" }))).toEqual([a]);
    expect(ids(await ci.list({ idempotency_key: "k-joined" }))).toEqual([b]);
    expect(ids(await ci.list({ idempotency_key: "nope" }))).toEqual([]);
    expect(ids(await ci.list({ commit_sha: "abcdef" }))).toEqual([a]);
    expect(ids(await ci.list({ commit_sha: "ABCDEF1234" }))).toEqual([a]);
    expect(ids(await ci.list({ branch: "feature/x" }))).toEqual([b]);
    await backdate(pool(), a, 3600);
    const halfAnHourAgo = new Date(Date.now() - 1800_000).toISOString();
    expect(ids(await ci.list({ created_after: halfAnHourAgo }))).toEqual([b]);
    expect(ids(await ci.list({ created_after: halfAnHourAgo.replace("Z", "+00:00") }))).toEqual([b]);
    expect(ids(await ci.list({ created_after: "2000-01-01T00:00:00Z" }))).toEqual([b, a]);
  });

  it("list items carry the verdict's value, confidence and summary, and filter on it", async () => {
    const { ci, a, b } = await seeded();
    await pool().query(
      `insert into verdicts (deployment_id, verdict, confidence, summary, reasons, data_quality)
       values ($1, 'warning', 0.8, 'Latency rose 30 %', '[]', '{"score": 1, "issues": []}')`,
      [a],
    );
    await pool().query("update deployments set state = 'analyzed', analyzed_at = now() where id = $1", [a]);
    const list = await ci.list();
    const items = DeploymentList.parse(list.body).items;
    expect(items.find((item) => item.id === a)?.verdict).toEqual({
      verdict: "warning",
      confidence: 0.8,
      summary: "Latency rose 30 %",
      created_at: expect.any(String),
    });
    expect(items.find((item) => item.id === b)?.verdict).toBeNull();
    expect(ids(await ci.list({ verdict: "warning" }))).toEqual([a]);
    expect(ids(await ci.list({ verdict: "ok" }))).toEqual([]);
  });

  it.each([
    [{ commit_sha: "xyz" }, "commit_sha"],
    [{ verdict: "bad" }, "verdict"],
    [{ created_after: "yesterday" }, "created_after"],
    [{ created_after: "2024-01-01T00:00:00" }, "created_after"],
    [{ bogus: "1" }, "(root)"],
  ])("refuses %j with 400 naming %s", async (query, path) => {
    const { api: ci } = await newProject(api);
    const problem = expectProblem(await ci.list(query), 400, "validation_error");
    expect(problem.errors?.map((error) => error.path)).toContain(path);
  });
});
