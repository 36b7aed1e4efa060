import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  finish,
  getDeployment,
  invariantViolations,
  serverEnv,
  tail,
  trigger,
  waitForAnalyzed,
  waitUntil,
} from "./helpers.js";

/**
 * The deploy finishes while a slow baseline request is still in flight. Whatever the server does
 * with that late answer (waits for it, or refuses it as too late), the verdict must describe the
 * baseline the deployment ends up with.
 */
describe("finish while the baseline request is still in flight", () => {
  let database: TestDatabase;
  let app: MetricsApp;
  let server: ServerProcess;

  beforeAll(async () => {
    [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    server = await startServerProcess(serverEnv(database.url, { SEQPULSE_METRICS_TIMEOUT_MS: "10000" }));
  });
  afterAll(async () => {
    await server?.stop();
    await app?.close();
    await database?.close();
  });

  it("the verdict agrees with the baseline slot's final outcome", { timeout: 40_000 }, async () => {
    const url = apiUrlOf(server);
    const path = "/slow-baseline";
    // The baseline answers (validly) after 7 s; the 3-second post window is over well before that.
    app.script(path, [values({}, 7000), values()]);
    const project = await createProject(url, { metrics_endpoint: app.url(path) });
    const { deployment_id: id } = await trigger(url, project.api_key);
    await app.waitForRequests(path, 1);
    await finish(url, project.api_key, id);

    const analyzed = await waitForAnalyzed(url, project.api_key, id, { server });
    // Let the baseline request end, then read what was stored for the slot.
    const final = await waitUntil(
      "the baseline slot to settle",
      async () => {
        const detail = await getDeployment(url, project.api_key, id);
        const settled =
          detail.samples.some((s) => s.phase === "baseline") ||
          detail.collection_failures.some((f) => f.phase === "baseline");
        return settled && detail;
      },
      { timeoutMs: 15_000, context: () => tail(server) },
    );
    const baselineSamples = final.samples.filter((s) => s.phase === "baseline").length;
    const baselineFailures = final.collection_failures.filter((f) => f.phase === "baseline").length;
    expect(baselineSamples + baselineFailures).toBe(1);

    const missingBaseline = analyzed.verdict?.reasons.find(
      (r) => r.rule === "insufficient_data" && r.needed?.baseline_observations,
    );
    if (baselineSamples === 1) {
      // The valid baseline was stored: the verdict may not claim there was none.
      expect(missingBaseline?.message, analyzed.verdict?.summary).toBeUndefined();
      expect(analyzed.verdict?.verdict).toBe("ok");
    } else {
      expect(missingBaseline?.message).toMatch(/^no valid baseline observations \(0 valid, 1 failed\)/);
      expect(analyzed.verdict?.verdict).toBe("warning");
    }
    expect(await invariantViolations(database.pool)).toEqual([]);
  });
});
