import { Deployment } from "@seqpulse/types";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/src/logger.js";
import { collectSample } from "../../server/src/sampling/collect-sample.js";
import { analyzeDeployment } from "../../server/src/verdict/analyze-deployment.js";
import { startTestApi, type TestApi } from "../support/api.js";
import {
  call,
  countDeployments,
  deploymentRow,
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

function cancel(key: string, id: string, body?: unknown) {
  return call<Deployment>(api.baseUrl, "POST", `/deployments/${id}/cancel`, { key, body });
}

async function verdictCount(deploymentId: string): Promise<number> {
  const { rows } = await pool().query("select count(*)::int as n from verdicts where deployment_id = $1", [
    deploymentId,
  ]);
  return rows[0].n;
}

describe("POST /deployments/:id/cancel", () => {
  it("cancels a running stray with who and why, frees its env, and is idempotent", async () => {
    const { project, api: ci } = await newProject(api);
    const stray = await ci.trigger({ env: "production" }, { "idempotency-key": "stray" });
    const response = await cancel(project.api_key, stray.body.deployment_id, {
      by: "alice",
      reason: "finish job created it by mistake",
    });
    expect(response.status, response.text).toBe(200);
    const cancelled = Deployment.parse(response.body);
    expect(cancelled).toMatchObject({
      id: stray.body.deployment_id,
      state: "cancelled",
      cancelled_by: "alice",
      cancel_reason: "finish job created it by mistake",
      pipeline_result: null,
      verdict: null,
    });
    expect(cancelled.cancelled_at).not.toBeNull();

    const again = await cancel(project.api_key, stray.body.deployment_id, { by: "bob" });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(cancelled);
    expect((await ci.get(stray.body.deployment_id)).body).toMatchObject({
      state: "cancelled",
      cancelled_by: "alice",
    });

    // The env is free: the next pipeline gets its own deployment instead of joining the stray.
    const next = await ci.trigger({ env: "production" }, { "idempotency-key": "next" });
    expect(next.status).toBe(201);
    // A retry of the stray's key still names the stray, whatever its state.
    const replay = await ci.trigger({ env: "production" }, { "idempotency-key": "stray" });
    expect(replay.body).toMatchObject({ deployment_id: stray.body.deployment_id, state: "cancelled" });
    expect(await countDeployments(pool(), project.project_id)).toBe(2);
    // Finishing a cancelled deployment changes nothing.
    const finish = await ci.finish(stray.body.deployment_id);
    expect(finish.body).toEqual({
      status: "ignored",
      deployment_id: stray.body.deployment_id,
      state: "cancelled",
    });
  });

  it("cancels a finished deployment before its analysis, without a body; the analysis then skips it", async () => {
    const { project, api: ci } = await newProject(api);
    const trigger = await ci.trigger({ env: "production" });
    await ci.finish(trigger.body.deployment_id);
    const response = await cancel(project.api_key, trigger.body.deployment_id);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ state: "cancelled", cancelled_by: null, cancel_reason: null });

    expect(
      await analyzeDeployment({
        db: api.database.db,
        deploymentId: trigger.body.deployment_id,
        deadline: true,
      }),
    ).toBe("skipped");
    expect(await verdictCount(trigger.body.deployment_id)).toBe(0);
    expect((await deploymentRow(pool(), trigger.body.deployment_id))?.state).toBe("cancelled");

    // A client that sends Content-Type: application/json with an empty body is not refused either.
    const other = await ci.trigger({ env: "staging" });
    const empty = await call(api.baseUrl, "POST", `/deployments/${other.body.deployment_id}/cancel`, {
      key: project.api_key,
      body: "",
      contentType: "application/json",
    });
    expect(empty.status, empty.text).toBe(200);
  });

  it("the collector skips a cancelled deployment's slots and writes nothing", async () => {
    const { project, api: ci } = await newProject(api);
    const trigger = await ci.trigger({ env: "production" });
    await cancel(project.api_key, trigger.body.deployment_id);
    const deps = {
      db: api.database.db,
      logger: createLogger("silent"),
      collector: { allowPrivateEndpoints: true, timeoutMs: 500, maxBodyBytes: 65536, userAgent: "test" },
    };
    for (const job of [
      { deploymentId: trigger.body.deployment_id, phase: "baseline" as const, sequence: 0 },
      { deploymentId: trigger.body.deployment_id, phase: "post" as const, sequence: 1 },
    ]) {
      expect((await collectSample(deps, job)).status).toBe("skipped");
    }
    const { rows } = await pool().query(
      `select (select count(*) from metric_samples where deployment_id = $1)::int
            + (select count(*) from collection_failures where deployment_id = $1)::int as n`,
      [trigger.body.deployment_id],
    );
    expect(rows[0].n).toBe(0);
  });

  it("refuses an analyzed or abandoned deployment with 409, naming its state", async () => {
    const { project, api: ci } = await newProject(api);
    const analyzed = await ci.trigger({ env: "a" });
    await ci.finish(analyzed.body.deployment_id);
    expect(
      await analyzeDeployment({
        db: api.database.db,
        deploymentId: analyzed.body.deployment_id,
        deadline: true,
      }),
    ).not.toBe("skipped");
    const abandoned = await ci.trigger({ env: "b" });
    await pool().query(
      "update deployments set state = 'abandoned', abandoned_at = now(), state_reason = 'running_timeout' where id = $1",
      [abandoned.body.deployment_id],
    );
    for (const [id, state] of [
      [analyzed.body.deployment_id, "analyzed"],
      [abandoned.body.deployment_id, "abandoned"],
    ] as const) {
      const problem = expectProblem(await cancel(project.api_key, id), 409, "deployment_not_cancellable");
      expect(problem.detail).toContain(state);
      expect(problem.deployment_id).toBe(id);
      expect((await deploymentRow(pool(), id))?.state).toBe(state);
    }
  });

  it("answers 404 for another project's deployment and for a malformed id", async () => {
    const owner = await newProject(api);
    const other = await newProject(api);
    const trigger = await owner.api.trigger({ env: "production" });
    expectProblem(await cancel(other.project.api_key, trigger.body.deployment_id), 404, "not_found");
    expectProblem(await cancel(other.project.api_key, "not-a-uuid"), 404, "not_found");
    expect((await deploymentRow(pool(), trigger.body.deployment_id))?.state).toBe("running");
  });

  it.each([
    [{ reason: "" }, "reason"],
    [{ by: "x".repeat(256) }, "by"],
    [{ why: "typo" }, "(root)"],
  ])("refuses the body %j with 400 naming %s", async (body, path) => {
    const { project, api: ci } = await newProject(api);
    const trigger = await ci.trigger({ env: "production" });
    const problem = expectProblem(
      await cancel(project.api_key, trigger.body.deployment_id, body),
      400,
      "validation_error",
    );
    expect(problem.errors?.map((error) => error.path)).toContain(path);
  });

  it("needs the project's API key", async () => {
    const { api: ci } = await newProject(api);
    const trigger = await ci.trigger({ env: "production" });
    const response = await call(api.baseUrl, "POST", `/deployments/${trigger.body.deployment_id}/cancel`, {});
    expectProblem(response, 401, "unauthorized");
  });
});

describe("cancel racing the analysis", () => {
  it("a cancel that arrives while the analysis holds the row waits, then answers 409: the verdict stands", async () => {
    const { project, api: ci } = await newProject(api);
    const trigger = await ci.trigger({ env: "production" });
    const id = trigger.body.deployment_id;
    await ci.finish(id);

    const analysis = await pool().connect();
    try {
      await analysis.query("begin");
      // What the analysis does first: lock the deployment row.
      await analysis.query("select id from deployments where id = $1 for update", [id]);
      const pending = cancel(project.api_key, id, { by: "late" });
      for (let waited = 0; ; waited += 20) {
        const { rows } = await pool().query(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        );
        if (rows[0].n > 0) break;
        if (waited > 5_000) throw new Error("the cancel never waited on the analysis's row lock");
        await sleep(20);
      }
      await analysis.query(
        `insert into verdicts (deployment_id, verdict, confidence, summary, reasons, data_quality)
         values ($1, 'ok', 0.9, 'fine', '[]', '{"score": 1, "issues": []}')`,
        [id],
      );
      await analysis.query("update deployments set state = 'analyzed', analyzed_at = now() where id = $1", [
        id,
      ]);
      await analysis.query("commit");
      expectProblem(await pending, 409, "deployment_not_cancellable");
    } finally {
      analysis.release();
    }
    expect((await deploymentRow(pool(), id))?.state).toBe("analyzed");
    expect(await verdictCount(id)).toBe(1);
  });

  it("cancels and analyses of 20 deployments at once: each ends cancelled without a verdict or analyzed with one", async () => {
    const { project, api: ci } = await newProject(api);
    const ids: string[] = [];
    for (let index = 0; index < 20; index++) {
      const trigger = await ci.trigger({ env: `env-${index}` });
      await ci.finish(trigger.body.deployment_id);
      ids.push(trigger.body.deployment_id);
    }
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const [cancelled, analyzed] = await Promise.all([
          cancel(project.api_key, id, { by: "race" }),
          analyzeDeployment({ db: api.database.db, deploymentId: id, deadline: true }),
        ]);
        return { id, cancelled: cancelled.status, analyzed };
      }),
    );
    for (const { id, cancelled, analyzed } of outcomes) {
      const row = await deploymentRow(pool(), id);
      if (cancelled === 200) {
        expect(analyzed).toBe("skipped");
        expect(row?.state).toBe("cancelled");
        expect(await verdictCount(id)).toBe(0);
      } else {
        expect(cancelled).toBe(409);
        expect(analyzed).not.toBe("skipped");
        expect(row?.state).toBe("analyzed");
        expect(await verdictCount(id)).toBe(1);
      }
    }
  });
});
