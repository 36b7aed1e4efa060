import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  ADMIN_TOKEN,
  apiUrlOf,
  createProject,
  invariantViolations,
  runDeployment,
  sleep,
  slotsOf,
} from "./helpers.js";

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

  describe.concurrent("refused targets", () => {
    it.for(targets)("refuses $name: permanent failures, no request sent", async ({ url }, { expect }) => {
      const endpoint = url(app.port);
      const path = new URL(endpoint).pathname;
      app.script(path, [values()]);
      const project = await createProject(apiUrl, { metrics_endpoint: endpoint });
      const { detail } = await runDeployment(apiUrl, project, { server });

      expect(detail.samples).toEqual([]);
      expect(slotsOf(detail.collection_failures)).toEqual([
        ["baseline", 0],
        ["post", 1],
        ["post", 2],
        ["post", 3],
      ]);
      for (const failure of detail.collection_failures) {
        expect(failure.kind).toBe("permanent");
        expect(failure.http_status).toBeNull();
        expect(failure.reason).toMatch(/^Refused to connect: .*private or reserved address/);
        expect(failure.reason).toContain("SEQPULSE_ALLOW_PRIVATE_ENDPOINTS=true");
      }
      expect(detail.verdict?.verdict).toBe("warning");
      expect(detail.verdict?.reasons.map((r) => r.rule)).toEqual(["insufficient_data", "insufficient_data"]);
      await sleep(500);
      expect(app.requestsTo(path)).toEqual([]);
    });
  });

  it("the metrics app never received a request; invariants hold", async () => {
    expect(app.requests).toEqual([]);
    expect(await invariantViolations(database.pool)).toEqual([]);
  });
});
