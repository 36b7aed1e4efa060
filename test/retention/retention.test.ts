import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepExpiredData } from "../../server/src/deployments/retention.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

/**
 * Old rows are made old by writing their timestamps in the past (a clock offset), then the
 * sweep runs as the daily job would.
 */
describe("retention: expired samples, failures and deliveries go, recent ones stay", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  async function seedProject(retentionDays: number | null) {
    const id = randomUUID();
    await database.pool.query(
      `insert into projects (id, name, api_key_id, api_key_hash, hmac_secret, analysis, retention_days)
       values ($1, $2, $3, 'hash', 'secret', '{}'::jsonb, $4)`,
      [id, `retention-${id}`, `key-${id}`, retentionDays],
    );
    return id;
  }

  let number = 0;
  async function seedDeployment(projectId: string, env: string, ageDays: number) {
    const id = randomUUID();
    number++;
    await database.pool.query(
      `insert into deployments (id, project_id, deployment_number, env, request_fingerprint, metrics_endpoint,
                                state, pipeline_result, started_at, finished_at, analyzed_at)
       values ($1, $2, $3, $4, 'f', 'http://127.0.0.1:9/metrics', 'analyzed', 'success',
               now() - make_interval(days => $5), now() - make_interval(days => $5), now() - make_interval(days => $5))`,
      [id, projectId, number, env, ageDays],
    );
    for (let sequence = 1; sequence <= 3; sequence++) {
      await database.pool.query(
        `insert into metric_samples (deployment_id, phase, sequence, collected_at, latency_p95)
         values ($1, 'post', $2::int, now() - make_interval(days => $3::int) + make_interval(secs => $2::int), 100)`,
        [id, sequence, ageDays],
      );
    }
    await database.pool.query(
      `insert into collection_failures (deployment_id, phase, sequence, kind, reason)
       values ($1, 'baseline', 0, 'transient', 'HTTP 503')`,
      [id],
    );
    await database.pool.query(
      `insert into verdicts (deployment_id, verdict, confidence, summary, reasons, data_quality)
       values ($1, 'ok', 0.9, 'OK', '[]'::jsonb, '{"score": 1, "issues": []}'::jsonb)`,
      [id],
    );
    return id;
  }

  const count = async (table: string, deploymentId: string) =>
    Number(
      (await database.pool.query(`select count(*) from ${table} where deployment_id = $1`, [deploymentId]))
        .rows[0].count,
    );

  it("deletes in batches by age, per project override, keeping deployments, verdicts and the last known good", async () => {
    const project = await seedProject(null);
    const shortLived = await seedProject(5);
    const old = await seedDeployment(project, "production", 100);
    const recent = await seedDeployment(project, "production", 10);
    const lastGood = await seedDeployment(project, "staging", 120);
    const overridden = await seedDeployment(shortLived, "production", 10);
    await database.pool.query(
      "insert into last_known_good (project_id, env, deployment_id) values ($1, 'staging', $2)",
      [project, lastGood],
    );

    const removed = await sweepExpiredData(database.db, {
      defaultRetentionDays: 90,
      deleteDeployments: false,
      batchSize: 2,
    });
    expect(removed.samples).toBeGreaterThanOrEqual(6);
    for (const id of [old, overridden]) {
      expect(await count("metric_samples", id)).toBe(0);
      expect(await count("collection_failures", id)).toBe(0);
      expect(await count("verdicts", id)).toBe(1);
    }
    for (const id of [recent, lastGood]) {
      expect(await count("metric_samples", id)).toBe(3);
      expect(await count("collection_failures", id)).toBe(1);
    }
    const again = await sweepExpiredData(database.db, { defaultRetentionDays: 90, deleteDeployments: false });
    expect(again).toEqual({ samples: 0, failures: 0, deliveries: 0, deployments: 0 });
  });

  it("deletes the expired deployments themselves when told to, never a running one", async () => {
    const project = await seedProject(null);
    const old = await seedDeployment(project, "production", 200);
    const recent = await seedDeployment(project, "qa", 1);
    const { rowCount } = await database.pool.query(
      `insert into deployments (project_id, deployment_number, env, request_fingerprint, metrics_endpoint, started_at)
       values ($1, 999999, 'canary', 'f', 'http://127.0.0.1:9/metrics', now() - interval '200 days')`,
      [project],
    );
    expect(rowCount).toBe(1);

    const removed = await sweepExpiredData(database.db, {
      defaultRetentionDays: 90,
      deleteDeployments: true,
    });
    expect(removed.deployments).toBeGreaterThanOrEqual(1);
    const left = await database.pool.query<{ id: string; state: string }>(
      "select id, state from deployments where project_id = $1 order by started_at",
      [project],
    );
    expect(left.rows.map((row) => row.state)).toEqual(["running", "analyzed"]);
    expect(left.rows.some((row) => row.id === old)).toBe(false);
    expect(left.rows.some((row) => row.id === recent)).toBe(true);
    expect(await count("verdicts", old)).toBe(0);
  });
});
