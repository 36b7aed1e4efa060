import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { ADMIN_TOKEN, apiUrlOf, createProject, invariantViolations, sleep } from "./helpers.js";

/**
 * The default server refuses private endpoints. Every target below is this machine's loopback, so
 * a missing guard would show as a request reaching the metrics app.
 */
describe("SSRF guard: server started without SEQPULSE_ALLOW_PRIVATE_ENDPOINTS", () => {
  let database: TestDatabase;
  let app: MetricsApp;
  let server: ServerProcess;
  let apiUrl: string;

  beforeAll(async () => {
    [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    server = await startServerProcess({
      DATABASE_URL: database.url,
      SEQPULSE_ADMIN_TOKEN: ADMIN_TOKEN,
      // Not set for the server; only overridden should the test runner's own environment set it.
      ...(process.env.SEQPULSE_ALLOW_PRIVATE_ENDPOINTS === undefined
        ? {}
        : { SEQPULSE_ALLOW_PRIVATE_ENDPOINTS: "false" }),
    });
    apiUrl = apiUrlOf(server);
  });
  afterAll(async () => {
    await server?.stop();
    await app?.close();
    await database?.close();
  });

  it("reports that private endpoints are refused", () => {
    const started = server
      .output()
      .split("\n")
      .find((line) => line.includes('"msg":"SeqPulse workers started"'));
    expect(JSON.parse(started ?? "{}")).toMatchObject({ private_endpoints_allowed: false });
  });

  const targets = [
    { name: "an IPv4 loopback literal", url: (port: number) => `http://127.0.0.1:${port}/ssrf/literal` },
    { name: "a name resolving to loopback", url: (port: number) => `http://localhost:${port}/ssrf/dns` },
    {
      name: "an IPv4-mapped IPv6 loopback literal",
      url: (port: number) => `http://[::ffff:127.0.0.1]:${port}/ssrf/mapped`,
    },
  ];

  // The trigger refuses them before a deployment exists (issue 10); the connect-time guard behind
  // it is covered by the sampling unit tests (address-guard, fetch-metrics) and test/prometheus.
  describe.concurrent("refused targets", () => {
    it.for(targets)(
      "refuses $name at trigger time: 400, no deployment, no request sent",
      async ({ url }, { expect }) => {
        const endpoint = url(app.port);
        const path = new URL(endpoint).pathname;
        app.script(path, [values()]);
        const project = await createProject(apiUrl, { metrics_endpoint: endpoint });
        const response = await fetch(`${apiUrl}/deployments/trigger`, {
          method: "POST",
          headers: { "x-api-key": project.api_key, "content-type": "application/json" },
          body: JSON.stringify({ env: "production" }),
        });
        expect(response.status).toBe(400);
        const problem = (await response.json()) as { code: string; detail: string };
        expect(problem.code).toBe("metrics_endpoint_private");
        expect(problem.detail).toContain("SEQPULSE_ALLOW_PRIVATE_ENDPOINTS=true");
        const { rows } = await database.pool.query(
          "select count(*)::int as n from deployments where project_id = $1",
          [project.project_id],
        );
        expect(rows[0].n).toBe(0);
        await sleep(500);
        expect(app.requestsTo(path)).toEqual([]);
      },
    );
  });

  it("the metrics app never received a request; invariants hold", async () => {
    expect(app.requests).toEqual([]);
    expect(await invariantViolations(database.pool)).toEqual([]);
  });
});
