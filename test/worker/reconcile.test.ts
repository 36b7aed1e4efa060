import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  finish,
  invariantViolations,
  serverEnv,
  slotsOf,
  trigger,
  waitForAnalyzed,
  waitUntil,
} from "./helpers.js";

/**
 * A process can crash after committing a deployment's state change and before queueing its jobs.
 * The jobs are deleted here to stand for that; a worker must notice and queue them.
 */
describe("jobs lost between a commit and the queue", () => {
  let database: TestDatabase;
  let app: MetricsApp;
  let api: ServerProcess;
  const workers: ServerProcess[] = [];

  beforeAll(async () => {
    [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    api = await startServerProcess(serverEnv(database.url, { SEQPULSE_ROLE: "api" }));
  });
  afterAll(async () => {
    await Promise.all([api, ...workers].map((server) => server?.stop()));
    await app?.close();
    await database?.close();
  });

  const dropJobsOf = (deploymentId: string) =>
    database.pool.query("delete from pgboss.job where data->>'deploymentId' = $1", [deploymentId]);

  async function startWorker() {
    const worker = await startServerProcess(
      serverEnv(database.url, { SEQPULSE_ROLE: "worker", SEQPULSE_RECONCILE_INTERVAL_SECONDS: "1" }),
    );
    workers.push(worker);
    return worker;
  }

  it("queues the baseline of a running deployment and the window of a finished one", async () => {
    const url = apiUrlOf(api);
    app.script("/lost/running", [values()]);
    app.script("/lost/finished", [values()]);
    const runningProject = await createProject(url, { metrics_endpoint: app.url("/lost/running") });
    const finishedProject = await createProject(url, { metrics_endpoint: app.url("/lost/finished") });

    const running = await trigger(url, runningProject.api_key);
    const finished = await trigger(url, finishedProject.api_key);
    await finish(url, finishedProject.api_key, finished.deployment_id);
    await dropJobsOf(running.deployment_id);
    await dropJobsOf(finished.deployment_id);
    // Old enough for the reconciler, which leaves the last 5 seconds to the normal path.
    await database.pool.query(
      `update deployments set started_at = started_at - interval '10 seconds',
         finished_at = finished_at - interval '10 seconds' where id = any($1)`,
      [[running.deployment_id, finished.deployment_id]],
    );

    const worker = await startWorker();

    await waitUntil(
      "the running deployment's baseline sample",
      async () => {
        const { rows } = await database.pool.query(
          "select 1 from metric_samples where deployment_id = $1 and phase = 'baseline'",
          [running.deployment_id],
        );
        return rows.length === 1;
      },
      { timeoutMs: 15_000, context: () => worker.output() },
    );

    const detail = await waitForAnalyzed(url, finishedProject.api_key, finished.deployment_id, {
      server: worker,
    });
    // It finished before its baseline job came back: that slot says so instead of staying open.
    expect(slotsOf(detail.collection_failures)).toEqual([["baseline", 0]]);
    expect(detail.collection_failures[0]?.reason).toBe(
      "the deploy finished before the baseline sample could be taken",
    );
    expect(detail.samples.map((sample) => sample.sequence)).toEqual([1, 2, 3]);
    expect(detail.verdict?.reasons.map((reason) => reason.rule)).toContain("insufficient_data");

    expect(worker.output()).toContain('"msg":"queueing jobs lost before they were queued"');
    expect(worker.output()).not.toContain('"level":"error"');
    expect(await invariantViolations(database.pool)).toEqual([]);
  });
});
