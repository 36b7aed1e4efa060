import { randomUUID } from "node:crypto";
import type { CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { type Bundle, copyBundle, FAST_RETRIES, githubEnv, runStep, uniqueRunId } from "./runner.js";

const ADMIN_TOKEN = "action-e2e-admin-token-0123456789";

/**
 * The verdict gate end to end: the bundled action against the full server (API and workers) sampling
 * a scripted metrics endpoint, 1 baseline and 3 post samples a second apart.
 */
describe("GitHub Action verdict gate against the full server", () => {
  let database: TestDatabase;
  let app: MetricsApp;
  let server: ServerProcess;
  let apiUrl: string;
  let bundle: Bundle;

  beforeAll(async () => {
    [database, app, bundle] = await Promise.all([createTestDatabase(), startMetricsApp(), copyBundle()]);
    server = await startServerProcess({
      DATABASE_URL: database.url,
      SEQPULSE_ADMIN_TOKEN: ADMIN_TOKEN,
      SEQPULSE_ALLOW_PRIVATE_ENDPOINTS: "true",
    });
    apiUrl = server.url ?? "";
  });
  afterAll(async () => {
    await server?.stop();
    await app?.close();
    await database?.close();
    await bundle?.close();
  });

  async function projectOn(path: string): Promise<CreateProjectResponse> {
    const response = await fetch(`${apiUrl}/admin/projects`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: `action-e2e-${randomUUID()}`,
        metrics_endpoint: app.url(path),
        observation_window_seconds: 3,
        sample_interval_seconds: 1,
      }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as CreateProjectResponse;
  }

  describe.concurrent("scenarios", () => {
    it("fails the job in the post step when SeqPulse recommends a rollback", async ({ expect }) => {
      const path = "/gate-rollback/metrics";
      // The baseline sees the healthy app; after the deploy, one request in five fails.
      app.script(path, [values(), values({ error_rate: 0.2 })]);
      const project = await projectOn(path);
      const inputs = {
        "api-key": project.api_key,
        "api-url": apiUrl,
        "wait-for-verdict": "true",
        "verdict-timeout-seconds": "60",
      };
      const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };

      const main = await runStep(bundle, "main", { inputs, env });
      expect(main.exitCode, main.stdout).toBe(0);
      // The deploy happens between the steps; the baseline is taken meanwhile.
      await app.waitForRequests(path, 1);

      const post = await runStep(bundle, "post", {
        inputs: { ...inputs, "job-status": "success" },
        env,
        state: main.state,
      });
      expect(post.exitCode, `${post.stdout}\n${server.output().slice(-3000)}`).toBe(1);
      expect(post.errors).toHaveLength(1);
      expect(post.errors[0]).toMatch(
        /^SeqPulse verdict for deployment #1: rollback_recommended \(confidence \d+ %\)\n/,
      );
      expect(post.errors[0]).toContain("[critical] error_rate");
      expect(post.errors[0]).toContain("The job fails because fail-on is rollback_recommended.");
      expect(post.log).toContain("[group] SeqPulse: wait for the verdict on deployment #1");

      expect(post.summary).toContain("## SeqPulse · deployment #1 · 🛑 rollback recommended");
      expect(post.summary).toMatch(/\| Verdict \| 🛑 \*\*rollback_recommended\*\* \(confidence \d+ %\) \|/);
      expect(post.summary).toMatch(/\| Error rate \| 0\.10 % \| 20\.00 % \| \+19900 % \| 🛑 /);
      expect(post.summary).toContain("```mermaid\nxychart-beta");
      expect(post.summary).toContain('title "Error rate (%)');
    });

    it("explicit finish with wait-for-verdict: an ok verdict passes and sets the outputs", async ({
      expect,
    }) => {
      const path = "/gate-ok/metrics";
      app.script(path, [values()]);
      const project = await projectOn(path);
      const env = { ...githubEnv(uniqueRunId()), ...FAST_RETRIES };
      const common = { "api-key": project.api_key, "api-url": apiUrl };

      const trigger = await runStep(bundle, "main", { inputs: { ...common, "auto-finish": "false" }, env });
      expect(trigger.exitCode, trigger.stdout).toBe(0);
      await app.waitForRequests(path, 1);

      const finishInputs = {
        ...common,
        mode: "finish",
        "deployment-id": trigger.outputs["deployment-id"] ?? "",
        result: "success",
        "wait-for-verdict": "true",
        "fail-on": "warning",
        "verdict-timeout-seconds": "60",
      };
      const finish = await runStep(bundle, "main", { inputs: finishInputs, env });
      expect(finish.exitCode, `${finish.stdout}\n${server.output().slice(-3000)}`).toBe(0);
      expect(finish.outputs).toMatchObject({
        "deployment-id": trigger.outputs["deployment-id"],
        "deployment-number": "1",
        "http-status": "202",
        verdict: "ok",
      });
      expect(Number(finish.outputs.confidence)).toBeGreaterThan(0);
      expect(finish.warnings).toEqual([]);
      expect(finish.log).toMatch(/SeqPulse verdict for deployment #1: ok \(confidence \d+ %\)/);

      const post = await runStep(bundle, "post", {
        inputs: { ...finishInputs, "job-status": "success" },
        env,
        state: finish.state,
      });
      expect(post.exitCode).toBe(0);
      expect(post.summary).toContain("## SeqPulse · deployment #1 · ✅ ok");
      expect(post.summary).toContain("Median of the samples in each phase (1 baseline, 3 post).");
    });
  });
});
