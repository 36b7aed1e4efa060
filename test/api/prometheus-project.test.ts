import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";
import { client } from "./helpers.js";

describe("a project read from Prometheus only", () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it("triggers without any metrics_endpoint; the deployment records the Prometheus URL", async () => {
    const project = await api.createProject({
      metrics_endpoint: undefined,
      metrics_source: { type: "prometheus", url: "http://127.0.0.1:9090", preset: "prom-client" },
    });
    expect(project.metrics_endpoint).toBeNull();
    const ci = client(api, project.api_key);
    const triggered = await ci.trigger({ env: "production" });
    expect(triggered.status, triggered.text).toBe(201);
    const detail = await ci.get(triggered.body.deployment_id);
    expect(detail.body).toMatchObject({ metrics_endpoint: "http://127.0.0.1:9090" });
  });
});
