import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject } from "../../server/src/projects/service.js";
import { analyzeDeployment } from "../../server/src/verdict/analyze-deployment.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

const HEALTHY = {
  requests_per_sec: 10,
  latency_p95: 100,
  error_rate: 0.001,
  cpu_usage: 0.3,
  memory_usage: 0.4,
};

describe("analysis at the deadline", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database?.close());

  /** A finished deployment of a 3-sample window with the given post slots sampled. */
  async function seedFinished(sampledPostSlots: number[]) {
    const project = await createProject({
      db: database.db,
      input: {
        name: `deadline-${randomUUID()}`,
        metrics_endpoint: "http://127.0.0.1:9/m",
        observation_window_seconds: 3,
        sample_interval_seconds: 1,
      },
    });
    const { rows } = await database.pool.query<{ id: string }>(
      `insert into deployments (project_id, deployment_number, env, request_fingerprint, metrics_endpoint,
         state, pipeline_result, started_at, finished_at, duration_ms)
       values ($1, 1, 'production', 'x', 'http://127.0.0.1:9/m', 'finished', 'success',
         now() - interval '10 minutes', now() - interval '9 minutes', 60000) returning id`,
      [project.project_id],
    );
    const id = rows[0]?.id as string;
    for (const [phase, sequence] of [
      ["baseline", 0],
      ...sampledPostSlots.map((slot) => ["post", slot]),
    ] as const) {
      await database.pool.query(
        `insert into metric_samples (deployment_id, phase, sequence, collected_at, requests_per_sec, latency_p95,
           error_rate, cpu_usage, memory_usage)
         values ($1, $2, $3::int, now() - interval '9 minutes' + make_interval(secs => $3::int), $4, $5, $6, $7, $8)`,
        [id, phase, sequence, ...Object.values(HEALTHY)],
      );
    }
    return id;
  }

  it("records a slot that never got an outcome as a failure, so the verdict cannot pass it off as complete", async () => {
    const id = await seedFinished([1, 2]);
    expect(await analyzeDeployment({ db: database.db, deploymentId: id, deadline: true })).toMatchObject({
      verdict: { verdict: expect.any(String) },
    });

    const failures = await database.pool.query(
      "select phase, sequence, kind, reason from collection_failures where deployment_id = $1",
      [id],
    );
    expect(failures.rows).toEqual([
      {
        phase: "post",
        sequence: 3,
        kind: "transient",
        reason: "no outcome by the analysis deadline: the sample job was lost or kept failing",
      },
    ]);
    const verdict = await database.pool.query(
      "select verdict, reasons, data_quality from verdicts where deployment_id = $1",
      [id],
    );
    expect(verdict.rows[0].verdict).toBe("warning");
    expect(verdict.rows[0].reasons.map((reason: { rule: string }) => reason.rule)).toContain(
      "insufficient_data",
    );
    expect(verdict.rows[0].data_quality.score).toBeLessThan(1);
  });

  it("writes the verdict once: a second run changes nothing", async () => {
    const id = await seedFinished([1, 2, 3]);
    expect(await analyzeDeployment({ db: database.db, deploymentId: id, deadline: true })).toMatchObject({
      verdict: { verdict: expect.any(String) },
    });
    const first = await database.pool.query("select * from verdicts where deployment_id = $1", [id]);
    expect(first.rows[0].verdict).toBe("ok");
    expect(await analyzeDeployment({ db: database.db, deploymentId: id, deadline: true })).toBe("skipped");
    const again = await database.pool.query("select * from verdicts where deployment_id = $1", [id]);
    expect(again.rows).toEqual(first.rows);
    const state = await database.pool.query("select state, analyzed_at from deployments where id = $1", [id]);
    expect(state.rows[0].state).toBe("analyzed");
    expect(state.rows[0].analyzed_at).not.toBeNull();
  });
});
