import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";

describe("test harness", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.close());

  it("serves a real app over a migrated database", async () => {
    const project = await api.createProject();
    const response = await fetch(`${api.baseUrl}/deployments/trigger`, {
      method: "POST",
      headers: { "x-api-key": project.api_key, "content-type": "application/json" },
      body: JSON.stringify({ env: "production" }),
    });
    expect(response.status).toBe(201);
    const { rows } = await api.database.pool.query("select count(*)::int as n from deployments");
    expect(rows[0].n).toBe(1);
  });
});
