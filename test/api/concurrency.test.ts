import { type CreateProjectResponse, TriggerResponse } from "@seqpulse/types";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";
import {
  type ApiResponse,
  adminCall,
  backdate,
  countDeployments,
  deploymentRow,
  deploymentRows,
  expectInvariants,
  expectProblem,
  newProject,
  sleep,
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

function tally(responses: ApiResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const response of responses) counts[response.status] = (counts[response.status] ?? 0) + 1;
  return counts;
}

describe("parallel triggers", () => {
  it("200 triggers with one key: one 201, 199 replays of the same id, one row", async () => {
    const { project, api: ci } = await newProject(api);
    const body = { env: "production", branch: "main", commit_sha: "abcdef12" };
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => ci.trigger(body, { "idempotency-key": "storm-1" })),
    );
    expect(tally(responses)).toEqual({ 200: 199, 201: 1 });
    const created = responses.find((response) => response.status === 201);
    const id = created?.body.deployment_id;
    for (const response of responses) {
      const parsed = TriggerResponse.parse(response.body);
      expect(parsed.deployment_id).toBe(id);
      expect(parsed.deployment_number).toBe(1);
      expect(parsed.idempotency_key).toBe("storm-1");
      expect(parsed.status).toBe(response.status === 201 ? "created" : "existing");
    }
    const rows = await deploymentRows(pool(), project.project_id);
    expect(rows.map((row) => row.id)).toEqual([id]);
    expect(rows[0]?.idempotency_key).toBe("storm-1");
  });

  it("parallel retries with one key are replays, even when the project rejects running conflicts", async () => {
    // A CI retry racing its own first attempt must get its deployment back, never 409 for itself.
    for (let round = 0; round < 3; round++) {
      const { project, api: ci } = await newProject(api, { running_conflict: "reject" });
      const responses = await Promise.all(
        Array.from({ length: 100 }, () => ci.trigger({ env: "production" }, { "idempotency-key": "retry" })),
      );
      expect(tally(responses), `round ${round}`).toEqual({ 200: 99, 201: 1 });
      for (const response of responses.filter((r) => r.status === 200)) {
        expect(response.body.reason).toBe("idempotency_key");
        expect(response.headers.get("idempotent-replayed")).toBe("true");
      }
      expect(await countDeployments(pool(), project.project_id)).toBe(1);
    }
  });

  it("50 triggers with distinct keys on one env: one deployment, the others join it", async () => {
    const { project, api: ci } = await newProject(api);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        ci.trigger({ env: "production" }, { "idempotency-key": `k-${index}` }),
      ),
    );
    expect(tally(responses)).toEqual({ 200: 49, 201: 1 });
    const winner = responses.find((response) => response.status === 201)?.body;
    for (const response of responses.filter((r) => r.status === 200)) {
      expect(response.body).toMatchObject({
        deployment_id: winner?.deployment_id,
        status: "existing",
        reason: "running",
        idempotency_key: winner?.idempotency_key,
      });
    }
    const { rows } = await pool().query(
      "select count(*)::int as n from deployments where project_id = $1 and env = 'production' and state = 'running'",
      [project.project_id],
    );
    expect(rows[0].n).toBe(1);
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });

  it("50 triggers with distinct keys when the project rejects: one 201, 49 × 409 naming it", async () => {
    const { project, api: ci } = await newProject(api, { running_conflict: "reject" });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        ci.trigger({ env: "production" }, { "idempotency-key": `r-${index}` }),
      ),
    );
    expect(tally(responses)).toEqual({ 201: 1, 409: 49 });
    const winner = responses.find((response) => response.status === 201)?.body.deployment_id;
    for (const response of responses.filter((r) => r.status === 409)) {
      const problem = expectProblem(response, 409, "environment_busy");
      expect(problem.deployment_id).toBe(winner);
      expect(problem.detail).toContain(winner);
    }
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });

  it("parallel triggers with one key and different commits: one deployment, the rest replay it or get 422", async () => {
    const { project, api: ci } = await newProject(api);
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        ci.trigger(
          { env: "production", commit_sha: index % 2 ? "aaaa1111" : "bbbb2222" },
          { "idempotency-key": "same" },
        ),
      ),
    );
    const created = responses.filter((response) => response.status === 201);
    expect(created).toHaveLength(1);
    const winnerCommit = (await deploymentRow(pool(), created[0]?.body.deployment_id ?? ""))?.commit_sha;
    responses.forEach((response, index) => {
      if (response.status === 201) return;
      const commit = index % 2 ? "aaaa1111" : "bbbb2222";
      if (commit === winnerCommit) {
        expect(response.status).toBe(200);
        expect(response.body.deployment_id).toBe(created[0]?.body.deployment_id);
      } else {
        expectProblem(response, 422, "idempotency_key_reused");
      }
    });
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
  });

  it("numbers stay unique and gapless per project when many envs and projects trigger at once", async () => {
    const projects = await Promise.all(Array.from({ length: 4 }, () => newProject(api)));
    const envs = Array.from({ length: 10 }, (_, index) => `env-${index}`);
    const responses = await Promise.all(
      projects.flatMap(({ api: ci }) =>
        envs.flatMap((env) =>
          // Three racing requests per env, two sharing a key.
          [
            ci.trigger({ env }, { "idempotency-key": "a" }),
            ci.trigger({ env }, { "idempotency-key": "a" }),
            ci.trigger({ env }, { "idempotency-key": "b" }),
          ],
        ),
      ),
    );
    expect(responses.every((response) => response.status === 200 || response.status === 201)).toBe(true);
    expect(tally(responses)[201]).toBe(projects.length * envs.length);
    for (const { project } of projects) {
      const rows = await deploymentRows(pool(), project.project_id);
      expect(rows.map((row) => row.deployment_number)).toEqual(
        Array.from({ length: envs.length }, (_, index) => index + 1),
      );
      expect(new Set(rows.map((row) => row.env)).size).toBe(envs.length);
    }
  });

  it("numbers stay gapless through rounds of parallel triggers and finishes", async () => {
    const projects = await Promise.all(Array.from({ length: 3 }, () => newProject(api)));
    for (let round = 0; round < 4; round++) {
      const triggers = await Promise.all(
        projects.flatMap(({ api: ci }) =>
          ["a", "b", "c"].flatMap((env) => [
            ci.trigger({ env }),
            ci.trigger({ env }, { "idempotency-key": `r${round}` }),
          ]),
        ),
      );
      expect(triggers.every((response) => response.status < 300)).toBe(true);
      const ids = [...new Set(triggers.map((response) => response.body.deployment_id))];
      const finishes = await Promise.all(
        ids.flatMap((id) => projects.map(({ api: ci }) => ci.finish(id, "success"))),
      );
      // Each deployment is finished by its own project only, exactly once.
      expect(tally(finishes)).toEqual({ 202: ids.length, 404: ids.length * (projects.length - 1) });
    }
    for (const { project } of projects) {
      const rows = await deploymentRows(pool(), project.project_id);
      expect(rows.map((row) => row.deployment_number)).toEqual(
        Array.from({ length: 12 }, (_, index) => index + 1),
      );
      expect(rows.every((row) => row.state === "finished")).toBe(true);
    }
  });

  it("a stale deployment is abandoned once when many triggers race past it", async () => {
    const { project, api: ci } = await newProject(api);
    const stale = await ci.trigger({ env: "production" });
    await backdate(pool(), stale.body.deployment_id, 7200);
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        ci.trigger({ env: "production" }, { "idempotency-key": `s-${index}` }),
      ),
    );
    expect(tally(responses)).toEqual({ 200: 29, 201: 1 });
    const fresh = responses.find((response) => response.status === 201)?.body;
    expect(fresh?.deployment_number).toBe(2);
    expect(responses.every((response) => response.body.deployment_id === fresh?.deployment_id)).toBe(true);
    expect(await deploymentRow(pool(), stale.body.deployment_id)).toMatchObject({
      state: "abandoned",
      state_reason: "running_timeout",
    });
    expect(await countDeployments(pool(), project.project_id)).toBe(2);
  });
});

describe("a retry that lands while its own first attempt is being created", () => {
  /**
   * Opens the window between the server's idempotency-key lookup and its running-deployment check:
   * a stale deployment is row-locked, so the request waits in the stale sweep, after the key lookup;
   * meanwhile a deployment with the request's key is created, as a racing first attempt would.
   */
  async function raceOwnFirstAttempt(runningConflict: "join" | "reject", retryBranch = "main") {
    const { project, api: ci } = await newProject(api, { running_conflict: runningConflict });
    const body = { env: "production", branch: "main" };
    // The same request in another env yields the fingerprint the server stores for it.
    const reference = await ci.trigger({ ...body, env: "reference" }, { "idempotency-key": "ref" });
    const fingerprint = (await deploymentRow(pool(), reference.body.deployment_id))?.request_fingerprint;
    const stale = await ci.trigger(body, { "idempotency-key": "old" });
    await backdate(pool(), stale.body.deployment_id, 7200);

    const locker = await pool().connect();
    let firstAttemptId = "";
    try {
      await locker.query("begin");
      await locker.query("select id from deployments where id = $1 for update", [stale.body.deployment_id]);
      const retry = ci.trigger({ ...body, branch: retryBranch }, { "idempotency-key": "attempt-1" });
      for (let waited = 0; ; waited += 20) {
        const { rows } = await pool().query(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        );
        if (rows[0].n > 0) break;
        if (waited > 5_000) throw new Error("the retry never waited on the stale deployment");
        await sleep(20);
      }
      // The first attempt wins: it sweeps the stale deployment and creates its own, claiming its key.
      await locker.query(
        "update deployments set state = 'abandoned', abandoned_at = now(), state_reason = 'running_timeout' where id = $1",
        [stale.body.deployment_id],
      );
      const { rows } = await locker.query(
        `with counter as (
           update projects set deployment_counter = deployment_counter + 1 where id = $1 returning deployment_counter
         ), created as (
           insert into deployments (project_id, deployment_number, env, idempotency_key, request_fingerprint, branch, metrics_endpoint)
           select $1, deployment_counter, 'production', 'attempt-1', $2, 'main', $3 from counter
           returning id
         ), claimed as (
           insert into deployment_keys (project_id, env, idempotency_key, deployment_id, request_fingerprint)
           select $1, 'production', 'attempt-1', id, $2 from created
         )
         select id from created`,
        [project.project_id, fingerprint, project.metrics_endpoint],
      );
      firstAttemptId = rows[0].id;
      await locker.query("commit");
      return { ci, project, response: await retry, firstAttemptId };
    } catch (error) {
      await locker.query("rollback");
      throw error;
    } finally {
      locker.release();
    }
  }

  it.each(["join", "reject"] as const)(
    "replays the first attempt (running_conflict %s)",
    async (runningConflict) => {
      const { response, firstAttemptId, project, ci } = await raceOwnFirstAttempt(runningConflict);
      expect(response.status, response.text).toBe(200);
      expect(response.body).toMatchObject({
        deployment_id: firstAttemptId,
        status: "existing",
        reason: "idempotency_key",
      });
      expect(response.headers.get("idempotent-replayed")).toBe("true");
      // What a sequential retry gets:
      const sequential = await ci.trigger(
        { env: "production", branch: "main" },
        { "idempotency-key": "attempt-1" },
      );
      expect(sequential.body.reason).toBe("idempotency_key");
      expect(await countDeployments(pool(), project.project_id)).toBe(3);
    },
  );

  it.each(["join", "reject"] as const)(
    "answers 422 when the racing request reuses the key for another branch (running_conflict %s)",
    async (runningConflict) => {
      const { response, project } = await raceOwnFirstAttempt(runningConflict, "hotfix");
      expectProblem(response, 422, "idempotency_key_reused");
      expect(await countDeployments(pool(), project.project_id)).toBe(3);
    },
  );
});

describe("parallel finishes", () => {
  it("20 finishes of one deployment: exactly one 202, the rest 200 ignored", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production" });
    const results = ["success", "failed", "cancelled"];
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) => ci.finish(created.body.deployment_id, results[index % 3])),
    );
    expect(tally(responses)).toEqual({ 200: 19, 202: 1 });
    const acceptedIndex = responses.findIndex((response) => response.status === 202);
    for (const response of responses.filter((r) => r.status === 200)) {
      expect(response.body).toEqual({
        status: "ignored",
        deployment_id: created.body.deployment_id,
        state: "finished",
      });
    }
    const row = await deploymentRow(pool(), created.body.deployment_id);
    expect(row?.state).toBe("finished");
    expect(row?.pipeline_result).toBe(results[acceptedIndex % 3]);
  });

  it("finishes racing triggers in the same env: every trigger sees one consistent deployment", async () => {
    const { project, api: ci } = await newProject(api);
    const first = await ci.trigger({ env: "production" });
    const [finishes, triggers] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, () => ci.finish(first.body.deployment_id))),
      Promise.all(
        Array.from({ length: 30 }, (_, index) =>
          ci.trigger({ env: "production" }, { "idempotency-key": `t${index}` }),
        ),
      ),
    ]);
    expect(tally(finishes)).toEqual({ 200: 9, 202: 1 });
    expect(triggers.every((response) => response.status === 200 || response.status === 201)).toBe(true);
    // At most one new deployment: the first trigger after the finish creates it, later ones join it.
    expect(tally(triggers)[201] ?? 0).toBeLessThanOrEqual(1);
    const rows = await deploymentRows(pool(), project.project_id);
    expect(rows.length).toBe(1 + (tally(triggers)[201] ?? 0));
  });
});

describe("parallel project creation", () => {
  it("creates 20 projects at once, each with its own key", async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        adminCall<CreateProjectResponse>(api, "POST", "/admin/projects", {
          body: { name: `parallel-${index}` },
        }),
      ),
    );
    expect(tally(responses)).toEqual({ 201: 20 });
    expect(new Set(responses.map((response) => response.body.api_key)).size).toBe(20);
    const { rows } = await pool().query(
      "select count(distinct api_key_id)::int as ids, count(*)::int as n from projects where name like 'parallel-%'",
    );
    expect(rows[0]).toEqual({ ids: 20, n: 20 });
  });
});
