import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";
import { countDeployments, expectProblem, newProject } from "./helpers.js";

/** Made-up names under .test (RFC 2606): the injected resolver answers them; nothing is looked up. */
const ZONE: Record<string, string[]> = {
  "internal.metrics.test": ["10.1.2.3", "fd00::7"],
  "mixed.metrics.test": ["10.1.2.3", "93.184.216.34"],
  "public.metrics.test": ["93.184.216.34"],
};

let api: TestApi;
const resolved: string[] = [];
beforeAll(async () => {
  api = await startTestApi({
    allowPrivateEndpoints: false,
    resolveHost: async (hostname) => {
      resolved.push(hostname);
      const addresses = ZONE[hostname];
      if (!addresses) throw Object.assign(new Error(`${hostname} not found`), { code: "ENOTFOUND" });
      return addresses;
    },
  });
});
afterAll(async () => api?.close());

describe("trigger-time metrics endpoint check (SEQPULSE_ALLOW_PRIVATE_ENDPOINTS off)", () => {
  it.each([
    "http://127.0.0.1:9100/metrics",
    "http://[::1]:9100/metrics",
    "http://10.0.0.5/metrics",
    "http://192.168.1.10/metrics",
    "http://[::ffff:127.0.0.1]/metrics",
    "http://internal.metrics.test/metrics",
  ])("refuses %s with 400 metrics_endpoint_private naming the setting", async (endpoint) => {
    const { project, api: ci } = await newProject(api, { metrics_endpoint: undefined });
    const response = await ci.trigger({ env: "production", metrics_endpoint: endpoint });
    const problem = expectProblem(response, 400, "metrics_endpoint_private");
    expect(problem.detail).toContain("SEQPULSE_ALLOW_PRIVATE_ENDPOINTS");
    expect(problem.errors?.map((error) => error.path)).toEqual(["metrics_endpoint"]);
    expect(await countDeployments(api.database.pool, project.project_id)).toBe(0);
  });

  it("checks the project's configured endpoint too", async () => {
    const { api: ci } = await newProject(api, { metrics_endpoint: "http://127.0.0.1:9100/metrics" });
    expectProblem(await ci.trigger({ env: "production" }), 400, "metrics_endpoint_private");
  });

  it.each([
    "http://public.metrics.test/metrics",
    // Some address is public: the connect-time guard decides per connection.
    "http://mixed.metrics.test/metrics",
    // A name that does not resolve proves nothing at trigger time.
    "http://unknown.metrics.test/metrics",
    "http://93.184.216.34/metrics",
  ])("accepts %s", async (endpoint) => {
    const { api: ci } = await newProject(api, { metrics_endpoint: undefined });
    const response = await ci.trigger({ env: "production", metrics_endpoint: endpoint });
    expect(response.status, response.text).toBe(201);
  });

  it("does not look the name up again on a replay or a join", async () => {
    const { api: ci } = await newProject(api, { metrics_endpoint: undefined });
    const body = { env: "production", metrics_endpoint: "http://public.metrics.test/metrics" };
    expect((await ci.trigger(body, { "idempotency-key": "once" })).status).toBe(201);
    const before = resolved.length;
    expect((await ci.trigger(body, { "idempotency-key": "once" })).status).toBe(200);
    expect((await ci.trigger(body, { "idempotency-key": "joins" })).status).toBe(200);
    expect(resolved.length).toBe(before);
  });
});

describe("with SEQPULSE_ALLOW_PRIVATE_ENDPOINTS on", () => {
  let allowing: TestApi;
  beforeAll(async () => {
    allowing = await startTestApi({
      allowPrivateEndpoints: true,
      resolveHost: async () => {
        throw new Error("an allowed private endpoint is not looked up");
      },
    });
  });
  afterAll(async () => allowing?.close());

  it("accepts loopback and private endpoints", async () => {
    const { api: ci } = await newProject(allowing, { metrics_endpoint: undefined });
    for (const [index, endpoint] of [
      "http://127.0.0.1:9100/metrics",
      "http://internal.metrics.test/m",
    ].entries()) {
      const response = await ci.trigger({ env: `env-${index}`, metrics_endpoint: endpoint });
      expect(response.status, response.text).toBe(201);
    }
  });
});
