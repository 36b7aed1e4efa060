import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDatabase } from "../../server/src/db/client.js";
import { startTestApi, type TestApi } from "../support/api.js";
import { adminCall, call, expectProblem } from "./helpers.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

describe("health endpoints", () => {
  it("GET /healthz → 200 without authentication", async () => {
    const response = await call(api.baseUrl, "GET", "/healthz");
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^application\/json/);
    expect(response.body).toEqual({ status: "ok" });
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });

  it("GET /readyz → 200 when the database is reachable and migrated", async () => {
    const response = await call(api.baseUrl, "GET", "/readyz");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ready" });
  });

  it("does not need an API key nor mind a wrong one", async () => {
    const response = await call(api.baseUrl, "GET", "/healthz", { key: "sp_wrong" });
    expect(response.status).toBe(200);
  });
});

describe("readiness failures", () => {
  it("GET /readyz → 503 problem when the database is unreachable", async () => {
    const unreachable = connectDatabase("postgres://nobody:nothing@127.0.0.1:1/none", { max: 1 });
    const broken = await startTestApi({ db: unreachable.db });
    try {
      const response = await call(broken.baseUrl, "GET", "/readyz");
      const problem = expectProblem(response, 503, "service_unavailable");
      expect(problem.detail).toContain("database unreachable");
      // Liveness does not depend on the database.
      expect((await call(broken.baseUrl, "GET", "/healthz")).status).toBe(200);
    } finally {
      await broken.close();
      await unreachable.close();
    }
  });

  it("GET /readyz → 503 naming a failing readiness check", async () => {
    const degraded = await startTestApi({
      readinessChecks: [async () => undefined, async () => "job queue not started"],
    });
    try {
      const response = await call(degraded.baseUrl, "GET", "/readyz");
      const problem = expectProblem(response, 503, "service_unavailable");
      expect(problem.detail).toContain("job queue not started");
    } finally {
      await degraded.close();
    }
  });

  it("GET /readyz → 503 when a readiness check throws", async () => {
    const degraded = await startTestApi({
      readinessChecks: [
        async () => {
          throw new Error("queue exploded");
        },
      ],
    });
    try {
      const response = await call(degraded.baseUrl, "GET", "/readyz");
      const problem = expectProblem(response, 503, "service_unavailable");
      // The route is public: the failure's details go to the log, not to the caller.
      expect(problem.detail).toBe("a dependency is not ready");
      expect(response.text).not.toContain("queue exploded");
    } finally {
      await degraded.close();
    }
  });
});

describe("request ids", () => {
  it("answers every response with an X-Request-Id, unique per request", async () => {
    const responses = await Promise.all([
      call(api.baseUrl, "GET", "/healthz"),
      call(api.baseUrl, "GET", "/healthz"),
      call(api.baseUrl, "GET", "/readyz"),
      call(api.baseUrl, "GET", "/nowhere"),
      call(api.baseUrl, "GET", "/deployments"),
      call(api.baseUrl, "POST", "/deployments/trigger", { body: "{" }),
      call(api.baseUrl, "GET", "/admin/projects"),
    ]);
    const ids = responses.map((response) => response.headers.get("x-request-id"));
    for (const id of ids) expect(id).toMatch(/^[\w=-]{8,}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("echoes a sane incoming X-Request-Id, in the header and in problem bodies", async () => {
    const ok = await call(api.baseUrl, "GET", "/healthz", {
      headers: { "x-request-id": "ci-run-42_attempt-1" },
    });
    expect(ok.headers.get("x-request-id")).toBe("ci-run-42_attempt-1");
    const problem = await call(api.baseUrl, "GET", "/deployments", {
      headers: { "x-request-id": "trace-abc-123" },
    });
    expect(problem.headers.get("x-request-id")).toBe("trace-abc-123");
    expect(expectProblem(problem, 401, "unauthorized").request_id).toBe("trace-abc-123");
  });

  it.each([
    ["spaces", "has spaces in it"],
    ["a header-injection attempt", "abc\tdef"],
    ["300 characters", "a".repeat(300)],
    ["markup", "<script>alert(1)</script>"],
  ])("replaces an incoming X-Request-Id with %s by its own", async (_label, incoming) => {
    const response = await call(api.baseUrl, "GET", "/healthz", { headers: { "x-request-id": incoming } });
    expect(response.status).toBe(200);
    const id = response.headers.get("x-request-id");
    expect(id).toBeTruthy();
    expect(id).not.toBe(incoming);
    expect(id).toMatch(/^[\w=-]{1,255}$/);
  });
});

describe("unknown routes", () => {
  it.each([
    ["GET", "/"],
    ["GET", "/nope"],
    ["POST", "/healthz"],
    ["GET", "/deployment"],
    ["GET", "/%2e%2e/etc/passwd"],
  ])("%s %s → 404 problem+json", async (method, path) => {
    const response = await call(api.baseUrl, method, path);
    const problem = expectProblem(response, 404, "not_found");
    expect(problem.detail).toContain(method);
  });
});

describe("unknown routes behind authentication", () => {
  it.each([
    ["DELETE", "/admin/projects"],
    ["GET", "/admin/users"],
    ["PUT", "/admin/projects"],
  ])("%s %s with the admin token → 404 problem+json", async (method, path) => {
    const response = await adminCall(api, method, path);
    expectProblem(response, 404, "not_found");
  });

  it.each([
    ["PUT", "/deployments/trigger"],
    ["GET", "/deployments/trigger"],
    ["DELETE", "/deployments/00000000-0000-4000-8000-000000000000"],
    ["GET", "/deployments/a/b"],
    ["POST", "/deployments"],
  ])("%s %s with an API key → 404 or 405 problem+json", async (method, path) => {
    const project = await api.createProject();
    const response = await call(api.baseUrl, method, path, { key: project.api_key });
    expect([404, 405]).toContain(response.status);
    expectProblem(response, response.status, response.status === 404 ? "not_found" : "method_not_allowed");
  });

  it("asks for credentials before revealing whether a deployment route exists", async () => {
    const response = await call(api.baseUrl, "PUT", "/deployments/trigger");
    expectProblem(response, 401, "unauthorized");
  });
});
