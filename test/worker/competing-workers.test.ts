import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { HEALTHY, type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  finish,
  invariantViolations,
  serverEnv,
  trigger,
  waitForAnalyzed,
  waitForBaselineSettled,
} from "./helpers.js";

const DEPLOYMENTS = 8;

/** One API process and two worker processes on one database, as a scaled-out install runs. */
describe("two worker processes competing for the same queue", () => {
  let database: TestDatabase;
  let app: MetricsApp;
  let api: ServerProcess;
  let workers: ServerProcess[] = [];
  let apiUrl: string;

  beforeAll(async () => {
    [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    api = await startServerProcess(serverEnv(database.url, { SEQPULSE_ROLE: "api" }));
    apiUrl = apiUrlOf(api);
  });
  afterAll(async () => {
    await Promise.all([api, ...workers].map((process) => process?.stop()));
    await app?.close();
    await database?.close();
  });

  const workerEnv = () =>
    serverEnv(database.url, { SEQPULSE_ROLE: "worker", SEQPULSE_RECONCILE_INTERVAL_SECONDS: "1" });
  const allOutput = () => [api, ...workers].map((p) => p.output()).join("\n");

  it("every deployment gets one verdict, every slot one sample and one request", {
    timeout: 60_000,
  }, async () => {
    // Triggered and finished while no worker runs: the baseline can only be attempted after the finish.
    const lateProject = await createProject(apiUrl, { metrics_endpoint: app.url("/late") });
    app.script("/late", [values()]);
    const late = await trigger(apiUrl, lateProject.api_key);
    await finish(apiUrl, lateProject.api_key, late.deployment_id);

    workers = await Promise.all([startServerProcess(workerEnv()), startServerProcess(workerEnv())]);
    expect(workers.map((w) => w.url)).toEqual([undefined, undefined]);

    const paths = Array.from({ length: DEPLOYMENTS }, (_, index) => `/fleet/${index}`);
    for (const path of paths) app.script(path, [values()]);
    const projects = await Promise.all(
      paths.map((path) => createProject(apiUrl, { metrics_endpoint: app.url(path) })),
    );
    const triggered = await Promise.all(projects.map((project) => trigger(apiUrl, project.api_key)));
    await Promise.all(
      triggered.map((t, i) => waitForBaselineSettled(apiUrl, projects[i]?.api_key ?? "", t.deployment_id)),
    );
    await Promise.all(triggered.map((t, i) => finish(apiUrl, projects[i]?.api_key ?? "", t.deployment_id)));
    const details = await Promise.all(
      triggered.map((t, i) =>
        waitForAnalyzed(apiUrl, projects[i]?.api_key ?? "", t.deployment_id, { timeoutMs: 30_000 }),
      ),
    );

    for (const [index, detail] of details.entries()) {
      expect(detail.verdict?.verdict, `deployment ${index}`).toBe("ok");
      expect(detail.collection_failures).toEqual([]);
      expect(detail.samples.map((s) => [s.phase, s.sequence])).toEqual([
        ["baseline", 0],
        ["post", 1],
        ["post", 2],
        ["post", 3],
      ]);
      for (const sample of detail.samples) expect(sample.metrics).toEqual(HEALTHY);
    }
    // No slot was fetched twice, by either worker.
    for (const path of paths) expect(app.requestsTo(path), path).toHaveLength(4);

    // The late deployment: its baseline slot is a permanent failure, its post window ran normally.
    const lateDetail = await waitForAnalyzed(apiUrl, lateProject.api_key, late.deployment_id);
    expect(lateDetail.collection_failures).toEqual([
      {
        phase: "baseline",
        sequence: 0,
        attempted_at: expect.any(String),
        kind: "permanent",
        reason: "the deploy finished before the baseline sample could be taken",
        http_status: null,
      },
    ]);
    expect(lateDetail.samples.map((s) => [s.phase, s.sequence])).toEqual([
      ["post", 1],
      ["post", 2],
      ["post", 3],
    ]);
    expect(lateDetail.verdict?.verdict).toBe("warning");
    expect(lateDetail.verdict?.reasons.map((r) => [r.rule, r.severity])).toEqual([
      ["insufficient_data", "warning"],
    ]);
    expect(lateDetail.verdict?.reasons[0]?.message).toMatch(
      /^no valid baseline observations \(0 valid, 1 failed\) and no last known good deployment/,
    );
    expect(app.requestsTo("/late")).toHaveLength(3);

    // The API process ran no jobs; the analyses were shared out between the workers.
    expect(api.output()).not.toContain('"msg":"deployment analyzed"');
    const analyzedBy = workers.map(
      (worker) =>
        worker
          .output()
          .split("\n")
          .filter((line) => line.includes('"msg":"deployment analyzed"')).length,
    );
    expect(analyzedBy.reduce((a, b) => a + b, 0)).toBe(DEPLOYMENTS + 1);
    console.info(`analyses per worker process: ${analyzedBy.join(" / ")}`);
  });

  it("invariants hold: no duplicate samples, exactly one verdict per deployment", async () => {
    const { rows } = await database.pool.query<{ state: string; n: number }>(
      "select state, count(*)::int as n from deployments group by state",
    );
    expect(rows).toEqual([{ state: "analyzed", n: DEPLOYMENTS + 1 }]);
    const { rows: verdicts } = await database.pool.query<{ n: number }>(
      "select count(*)::int as n from verdicts",
    );
    expect(verdicts[0]?.n).toBe(DEPLOYMENTS + 1);
    const { rows: duplicates } = await database.pool.query(
      "select deployment_id, phase, collected_at from metric_samples group by 1, 2, 3 having count(*) > 1",
    );
    expect(duplicates).toEqual([]);
    expect(await invariantViolations(database.pool)).toEqual([]);
    expect(allOutput()).not.toContain('"level":"error"');
  });
});
