import { randomUUID } from "node:crypto";
import {
  CreateProjectResponse,
  DEFAULT_ANALYSIS_SETTINGS,
  ProjectList,
  type ProjectSettings,
} from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, TEST_ADMIN_TOKEN, type TestApi } from "../support/api.js";
import { adminCall, call, client, expectProblem, sha256Hex } from "./helpers.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

const createBody = (extra: Record<string, unknown> = {}) => ({ name: `admin-${randomUUID()}`, ...extra });

describe("POST /admin/projects", () => {
  it("creates a project and shows its key and HMAC secret once", async () => {
    const name = `shop-${randomUUID()}`;
    const response = await adminCall<CreateProjectResponse>(api, "POST", "/admin/projects", {
      body: {
        name,
        envs: ["production", "staging"],
        metrics_endpoint: "https://shop.example.com/seqpulse/metrics",
        observation_window_seconds: 600,
        sample_interval_seconds: 30,
        warmup_seconds: 15,
        hmac_enabled: true,
        running_conflict: "reject",
        analysis: { safety_factor: 0.8, latency_p95: { limit: 500 } },
      },
    });
    expect(response.status).toBe(201);
    expect(response.contentType).toMatch(/^application\/json/);
    const project = CreateProjectResponse.parse(response.body);
    expect(project).toMatchObject({
      name,
      envs: ["production", "staging"],
      metrics_endpoint: "https://shop.example.com/seqpulse/metrics",
      observation_window_seconds: 600,
      sample_interval_seconds: 30,
      warmup_seconds: 15,
      hmac_enabled: true,
      running_conflict: "reject",
    });
    expect(project.analysis.safety_factor).toBe(0.8);
    expect(project.analysis.latency_p95.limit).toBe(500);
    // Fields not in the patch keep their defaults.
    expect(project.analysis.latency_p95.tolerance).toBe(DEFAULT_ANALYSIS_SETTINGS.latency_p95.tolerance);
    expect(project.analysis.error_rate).toEqual(DEFAULT_ANALYSIS_SETTINGS.error_rate);
    expect(project.api_key).toMatch(/^sp_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(project.hmac_secret.length).toBeGreaterThanOrEqual(32);
    expect(Number.isNaN(Date.parse(project.created_at))).toBe(false);

    const { rows } = await api.database.pool.query("select * from projects where id = $1", [
      project.project_id,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe(name);
    expect(rows[0].envs).toEqual(["production", "staging"]);
    expect(rows[0].running_conflict).toBe("reject");
    expect(rows[0].deployment_counter).toBe(0);
  });

  it("applies the documented defaults", async () => {
    const response = await adminCall<CreateProjectResponse>(api, "POST", "/admin/projects", {
      body: createBody(),
    });
    expect(response.status).toBe(201);
    const project = CreateProjectResponse.parse(response.body);
    expect(project).toMatchObject({
      envs: [],
      metrics_endpoint: null,
      observation_window_seconds: 300,
      sample_interval_seconds: 60,
      warmup_seconds: 0,
      hmac_enabled: false,
      running_conflict: "join",
      analysis: DEFAULT_ANALYSIS_SETTINGS,
    });
  });

  it("refuses fail-fast on a single sample", async () => {
    const response = await adminCall<CreateProjectResponse>(api, "POST", "/admin/projects", {
      body: createBody({ analysis: { fail_fast_consecutive: 1 } }),
    });
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.errors).toEqual([
      {
        path: "analysis.fail_fast_consecutive",
        message: "must be at least 2: one sample on its own never recommends a rollback",
      },
    ]);
  });

  it("refuses a window that plans fewer post samples than a verdict needs", async () => {
    const response = await adminCall<CreateProjectResponse>(api, "POST", "/admin/projects", {
      body: createBody({ observation_window_seconds: 120, sample_interval_seconds: 60 }),
    });
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.detail).toContain("plans 2 post samples, fewer than the 3 a verdict needs");
    expect(problem.errors).toEqual([
      { path: "sample_interval_seconds", message: "must be at most 40 for a 120 s window" },
    ]);
  });

  it("defaults the sample interval so that a short window still plans the samples a verdict needs", async () => {
    const response = await adminCall<CreateProjectResponse>(api, "POST", "/admin/projects", {
      body: createBody({ observation_window_seconds: 20 }),
    });
    expect(response.status).toBe(201);
    // Three samples in the window: the minimum a verdict needs by default.
    expect(response.body.sample_interval_seconds).toBe(6);
  });

  it("stores only the SHA-256 of the API key; the key appears nowhere in the row", async () => {
    const project = await api.createProject();
    const { rows } = await api.database.pool.query("select * from projects where id = $1", [
      project.project_id,
    ]);
    const row = rows[0];
    expect(row.api_key_hash).toBe(sha256Hex(project.api_key));
    expect(row.api_key_hash).toMatch(/^[0-9a-f]{64}$/);
    const { rows: textRows } = await api.database.pool.query<{ t: string }>(
      "select p::text as t from projects p where id = $1",
      [project.project_id],
    );
    expect(textRows[0]?.t).toBeTruthy();
    expect(textRows[0]?.t).not.toContain(project.api_key);
    // Nor its secret half on its own.
    expect(textRows[0]?.t).not.toContain(project.api_key.split("_").slice(2).join("_"));
  });

  it("gives every project its own key, id and secret", async () => {
    const projects = await Promise.all(Array.from({ length: 5 }, () => api.createProject()));
    expect(new Set(projects.map((p) => p.api_key)).size).toBe(5);
    expect(new Set(projects.map((p) => p.hmac_secret)).size).toBe(5);
    expect(new Set(projects.map((p) => p.project_id)).size).toBe(5);
  });

  it("deduplicates envs", async () => {
    const response = await adminCall<CreateProjectResponse>(api, "POST", "/admin/projects", {
      body: createBody({ envs: ["prod", "prod", "stage"] }),
    });
    expect(response.status).toBe(201);
    expect(response.body.envs).toEqual(["prod", "stage"]);
  });

  it("creates a project whose key works on the deployment API", async () => {
    const project = await api.createProject({ envs: ["production"] });
    const response = await client(api, project.api_key).trigger({ env: "production" });
    expect(response.status).toBe(201);
  });
});

describe("POST /admin/projects validation", () => {
  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ["an env name with a space", { envs: ["prod env"] }, "envs.0"],
    ["an env name starting with a dot", { envs: [".prod"] }, "envs.0"],
    ["an env name of 51 characters", { envs: ["a".repeat(51)] }, "envs.0"],
    ["an empty env name", { envs: [""] }, "envs.0"],
    ["a numeric env", { envs: [5] }, "envs.0"],
    ["more than 50 envs", { envs: Array.from({ length: 51 }, (_, i) => `e${i}`) }, "envs"],
    ["an ftp metrics endpoint", { metrics_endpoint: "ftp://example.com/metrics" }, "metrics_endpoint"],
    ["a relative metrics endpoint", { metrics_endpoint: "/metrics" }, "metrics_endpoint"],
    ["a non-URL metrics endpoint", { metrics_endpoint: "not a url" }, "metrics_endpoint"],
    [
      "a sample interval above the window",
      { observation_window_seconds: 60, sample_interval_seconds: 61 },
      "sample_interval_seconds",
    ],
    [
      "a default window shorter than the interval",
      { sample_interval_seconds: 301 },
      "sample_interval_seconds",
    ],
    ["a zero window", { observation_window_seconds: 0 }, "observation_window_seconds"],
    ["a fractional window", { observation_window_seconds: 1.5 }, "observation_window_seconds"],
    ["a window above a day", { observation_window_seconds: 86_401 }, "observation_window_seconds"],
    ["a negative warmup", { warmup_seconds: -1 }, "warmup_seconds"],
    ["an unknown running_conflict", { running_conflict: "queue" }, "running_conflict"],
    ["a string hmac_enabled", { hmac_enabled: "yes" }, "hmac_enabled"],
    ["an unknown field", { api_key: "sp_mine" }, "(root)"],
    ["an unknown analysis field", { analysis: { magic: true } }, "analysis"],
  ];

  it.each(invalid)("rejects %s with 400 and errors[]", async (_label, extra, path) => {
    const before = await api.database.pool.query("select count(*)::int as n from projects");
    const response = await adminCall(api, "POST", "/admin/projects", { body: createBody(extra) });
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.errors?.map((error) => error.path)).toContainEqual(expect.stringContaining(path));
    const after = await api.database.pool.query("select count(*)::int as n from projects");
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it.each([
    ["a missing name", {}],
    ["a blank name", { name: "   " }],
    ["a 101-character name", { name: "n".repeat(101) }],
    ["a numeric name", { name: 42 }],
  ])("rejects %s", async (_label, body) => {
    const response = await adminCall(api, "POST", "/admin/projects", { body });
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.errors?.some((error) => error.path === "name")).toBe(true);
  });

  it.each([
    ["name", { name: "shop\u0000" }],
    ["metrics endpoint", { metrics_endpoint: "https://shop.example.com/\u0000" }],
  ])("answers a NUL character in the %s with a 4xx, not a 500", async (_label, extra) => {
    const response = await adminCall(api, "POST", "/admin/projects", { body: createBody(extra) });
    expect(response.status, response.text).toBeLessThan(500);
  });

  it("rejects a body that is not JSON with 400 invalid_json", async () => {
    const response = await adminCall(api, "POST", "/admin/projects", { body: "{name:" });
    expectProblem(response, 400, "invalid_json");
  });

  it("rejects a body that is not declared as JSON with 415", async () => {
    const response = await adminCall(api, "POST", "/admin/projects", {
      body: JSON.stringify(createBody()),
      contentType: "text/plain",
    });
    expectProblem(response, 415, "unsupported_media_type");
  });
});

describe("admin authentication", () => {
  const tokens: Array<[string, Record<string, string>]> = [
    ["no Authorization header", {}],
    ["a wrong token", { authorization: "Bearer not-the-admin-token" }],
    ["the token with a suffix", { authorization: `Bearer ${TEST_ADMIN_TOKEN}x` }],
    ["a token prefix", { authorization: `Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}` }],
    ["the token as Basic auth", { authorization: `Basic ${TEST_ADMIN_TOKEN}` }],
    ["the token without a scheme", { authorization: TEST_ADMIN_TOKEN }],
    ["the token in X-API-Key", { "x-api-key": TEST_ADMIN_TOKEN }],
    ["an empty bearer", { authorization: "Bearer " }],
  ];

  it.each(tokens)("POST with %s → 401 and no project", async (_label, headers) => {
    const name = `unauth-${randomUUID()}`;
    const response = await adminCall(api, "POST", "/admin/projects", {
      token: null,
      headers,
      body: { name },
    });
    expectProblem(response, 401, "unauthorized");
    const { rows } = await api.database.pool.query("select 1 from projects where name = $1", [name]);
    expect(rows).toEqual([]);
  });

  it.each(tokens)("GET with %s → 401", async (_label, headers) => {
    const response = await adminCall(api, "GET", "/admin/projects", { token: null, headers });
    expectProblem(response, 401, "unauthorized");
    expect(response.text).not.toContain("api_key");
  });

  it("refuses a project API key on admin routes", async () => {
    const project = await api.createProject();
    const response = await adminCall(api, "GET", "/admin/projects", { token: project.api_key });
    expectProblem(response, 401, "unauthorized");
  });

  it("checks the token before reading the body (invalid JSON → 401)", async () => {
    const response = await adminCall(api, "POST", "/admin/projects", { token: "wrong", body: "{oops" });
    expectProblem(response, 401, "unauthorized");
  });

  it("accepts the scheme in any case", async () => {
    const response = await call(api.baseUrl, "GET", "/admin/projects", {
      headers: { authorization: `bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
  });
});

describe("GET /admin/projects", () => {
  it("lists projects with their settings but without keys or secrets", async () => {
    const created = await Promise.all([
      api.createProject({ envs: ["production"] }),
      api.createProject({ running_conflict: "reject" }),
    ]);
    const response = await adminCall(api, "GET", "/admin/projects");
    expect(response.status).toBe(200);
    const list = ProjectList.parse(response.body);
    for (const project of created) {
      const listed = list.items.find((item) => item.project_id === project.project_id);
      const { api_key: _key, hmac_secret: _secret, ...settings } = project;
      expect(listed).toEqual(settings satisfies ProjectSettings);
      expect(Object.keys(listed ?? {})).not.toContain("api_key");
      expect(Object.keys(listed ?? {})).not.toContain("hmac_secret");
      expect(Object.keys(listed ?? {})).not.toContain("api_key_hash");
      expect(response.text).not.toContain(project.api_key);
      expect(response.text).not.toContain(project.hmac_secret);
      expect(response.text).not.toContain(sha256Hex(project.api_key));
    }
  });

  it("lists projects oldest first", async () => {
    const first = await api.createProject();
    const second = await api.createProject();
    const response = await adminCall<{ items: ProjectSettings[] }>(api, "GET", "/admin/projects");
    const ids = response.body.items.map((item) => item.project_id);
    expect(ids.indexOf(first.project_id)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(first.project_id)).toBeLessThan(ids.indexOf(second.project_id));
  });
});

describe("admin API without an admin token", () => {
  let disabled: TestApi;
  beforeAll(async () => {
    disabled = await startTestApi({ adminToken: undefined });
  });
  afterAll(async () => disabled?.close());

  it.each([
    ["POST", "/admin/projects"],
    ["GET", "/admin/projects"],
  ])("%s %s answers 404 problem+json, even with a token", async (method, path) => {
    for (const token of [TEST_ADMIN_TOKEN, null, ""]) {
      const response = await adminCall(disabled, method, path, {
        token,
        ...(method === "POST" ? { body: { name: "nope" } } : {}),
      });
      expectProblem(response, 404, "not_found");
    }
    const { rows } = await disabled.database.pool.query("select count(*)::int as n from projects");
    expect(rows[0].n).toBe(0);
  });

  it("still serves the deployment API", async () => {
    const response = await call(disabled.baseUrl, "GET", "/healthz");
    expect(response.status).toBe(200);
    const unauth = await call(disabled.baseUrl, "GET", "/deployments");
    expectProblem(unauth, 401, "unauthorized");
  });
});
