import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/src/logger.js";
import { startTestApi, TEST_ADMIN_TOKEN, type TestApi } from "../support/api.js";
import {
  type ApiResponse,
  adminCall,
  backdate,
  call,
  captureLines,
  client,
  countDeployments,
  deploymentRow,
  expectInvariants,
  expectProblem,
  newProject,
  sha256Hex,
} from "./helpers.js";

const logLines: string[] = [];
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ logger: createLogger("debug", {}, captureLines(logLines)) });
});
afterAll(async () => {
  if (api) await expectInvariants(api.database.pool);
  await api?.close();
});

const pool = () => api.database.pool;
const VALID_TRIGGER = { env: "production", branch: "main" };

describe("authentication", () => {
  let project: Awaited<ReturnType<TestApi["createProject"]>>;
  let other: Awaited<ReturnType<TestApi["createProject"]>>;
  beforeAll(async () => {
    project = await api.createProject();
    other = await api.createProject();
  });

  const badCredentials = (): Array<[string, Record<string, string>]> => {
    const [, id, ...secretParts] = project.api_key.split("_");
    const secret = secretParts.join("_");
    const otherSecret = other.api_key.split("_").slice(2).join("_");
    const flipped = `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
    return [
      ["no credentials", {}],
      ["an empty X-API-Key", { "x-api-key": "" }],
      ["a wrong X-API-Key", { "x-api-key": "wrong" }],
      ["a key with its last character changed", { "x-api-key": `sp_${id}_${flipped}` }],
      ["the project's id with another project's secret", { "x-api-key": `sp_${id}_${otherSecret}` }],
      ["a truncated key", { "x-api-key": project.api_key.slice(0, -1) }],
      ["a key with an extra character", { "x-api-key": `${project.api_key}x` }],
      ["the key in upper case", { "x-api-key": project.api_key.toUpperCase() }],
      ["the key's hash", { "x-api-key": sha256Hex(project.api_key) }],
      ["the project's HMAC secret", { "x-api-key": project.hmac_secret }],
      ["the admin token", { "x-api-key": TEST_ADMIN_TOKEN }],
      ["the admin token as bearer", { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }],
      ["the key as Basic auth", { authorization: `Basic ${project.api_key}` }],
      ["the key without a scheme", { authorization: project.api_key }],
      ["a bearer with two tokens", { authorization: `Bearer ${project.api_key} extra` }],
      ["an empty bearer", { authorization: "Bearer" }],
      ["a SQL injection", { "x-api-key": "sp_' or '1'='1_x" }],
      ["an 8 KiB key", { "x-api-key": `sp_${"a".repeat(8192)}` }],
      [
        "a wrong X-API-Key next to a right bearer",
        { "x-api-key": "wrong", authorization: `Bearer ${project.api_key}` },
      ],
    ];
  };

  it("refuses every bad credential on every deployment route with 401 problem+json", async () => {
    const created = await client(api, project.api_key).trigger({ env: "auth-target" });
    expect(created.status).toBe(201);
    const id = created.body.deployment_id;
    for (const [label, headers] of badCredentials()) {
      const responses: Array<[string, ApiResponse]> = [
        [
          "trigger",
          await call(api.baseUrl, "POST", "/deployments/trigger", { headers, body: VALID_TRIGGER }),
        ],
        [
          "finish",
          await call(api.baseUrl, "POST", "/deployments/finish", {
            headers,
            body: { deployment_id: id, result: "success" },
          }),
        ],
        ["get", await call(api.baseUrl, "GET", `/deployments/${id}`, { headers })],
        ["list", await call(api.baseUrl, "GET", "/deployments", { headers })],
      ];
      for (const [route, response] of responses) {
        expect({ label, route, status: response.status }).toEqual({ label, route, status: 401 });
        expectProblem(response, 401, "unauthorized");
        expect(response.text).not.toContain(id);
        expect(response.headers.get("www-authenticate") ?? "").not.toContain(project.api_key);
      }
    }
    expect(await countDeployments(pool(), project.project_id)).toBe(1);
    expect((await deploymentRow(pool(), id))?.state).toBe("running");
  });

  it("accepts the key as X-API-Key (any header case, padded) or as a bearer token (any scheme case)", async () => {
    const { project: fresh } = await newProject(api);
    const variants: Record<string, string>[] = [
      { "X-API-KEY": fresh.api_key },
      { "x-api-key": `  ${fresh.api_key}  ` },
      { authorization: `Bearer ${fresh.api_key}` },
      { authorization: `bearer ${fresh.api_key}` },
      { authorization: `BEARER   ${fresh.api_key} ` },
      { "x-api-key": "", authorization: `Bearer ${fresh.api_key}` },
    ];
    for (const headers of variants) {
      const response = await call(api.baseUrl, "GET", "/deployments", { headers });
      expect(response.status, JSON.stringify(Object.keys(headers))).toBe(200);
    }
  });

  it("does not take the key from the query string", async () => {
    const response = await call(api.baseUrl, "GET", `/deployments?api_key=${project.api_key}`);
    expectProblem(response, 401, "unauthorized");
  });
});

describe("nothing is read or written before authentication", () => {
  it("an unauthenticated valid trigger creates nothing", async () => {
    const { project } = await newProject(api);
    const response = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key: "sp_notavalidkey0_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      body: VALID_TRIGGER,
      headers: { "idempotency-key": "k" },
    });
    expectProblem(response, 401, "unauthorized");
    const noKey = await call(api.baseUrl, "POST", "/deployments/trigger", { body: VALID_TRIGGER });
    expectProblem(noKey, 401, "unauthorized");
    expect(await countDeployments(pool(), project.project_id)).toBe(0);
    const { rows } = await pool().query(
      "select count(*)::int as n from deployments where idempotency_key = 'k'",
    );
    expect(rows[0].n).toBe(0);
  });

  it.each([
    ["invalid JSON", { body: "{not json" }],
    ["a wrong content type", { body: JSON.stringify(VALID_TRIGGER), contentType: "text/plain" }],
    ["no body", {}],
    ["an invalid body", { body: { env: "bad env", extra: 1 } }],
    [
      "conflicting idempotency keys",
      { body: { ...VALID_TRIGGER, idempotency_key: "a" }, headers: { "idempotency-key": "b" } },
    ],
    ["an invalid idempotency key", { body: VALID_TRIGGER, headers: { "idempotency-key": "k".repeat(300) } }],
  ])("an unauthenticated trigger with %s gets 401, not a validation error", async (_label, options) => {
    const response = await call(api.baseUrl, "POST", "/deployments/trigger", options);
    expectProblem(response, 401, "unauthorized");
  });

  it("an unauthenticated finish leaves the deployment running", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger(VALID_TRIGGER);
    const response = await call(api.baseUrl, "POST", "/deployments/finish", {
      body: { deployment_id: created.body.deployment_id, result: "success" },
    });
    expectProblem(response, 401, "unauthorized");
    expect(await deploymentRow(pool(), created.body.deployment_id)).toMatchObject({
      state: "running",
      finished_at: null,
    });
  });

  it("an unauthenticated request does not sweep stale deployments", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger(VALID_TRIGGER);
    await backdate(pool(), created.body.deployment_id, 7200);
    await call(api.baseUrl, "POST", "/deployments/trigger", { body: VALID_TRIGGER });
    await call(api.baseUrl, "POST", "/deployments/finish", {
      body: { deployment_id: created.body.deployment_id, result: "success" },
    });
    expect((await deploymentRow(pool(), created.body.deployment_id))?.state).toBe("running");
  });
});

describe("projects are isolated from each other", () => {
  it("one project cannot read another's deployment", async () => {
    const a = await newProject(api);
    const b = await newProject(api);
    const created = await a.api.trigger(VALID_TRIGGER);
    const response = await b.api.get(created.body.deployment_id);
    const problem = expectProblem(response, 404, "not_found");
    expect(response.text).not.toContain(a.project.project_id);
    expect(problem.detail).not.toContain("production");
    expect((await a.api.get(created.body.deployment_id)).status).toBe(200);
  });

  it("one project cannot finish another's deployment: 404, and it stays running", async () => {
    const a = await newProject(api);
    const b = await newProject(api);
    const created = await a.api.trigger(VALID_TRIGGER);
    const before = await deploymentRow(pool(), created.body.deployment_id);
    for (const result of ["success", "failed", "cancelled"]) {
      expectProblem(await b.api.finish(created.body.deployment_id, result), 404, "not_found");
    }
    expect(await deploymentRow(pool(), created.body.deployment_id)).toEqual(before);
    // The owner can still finish it.
    expect((await a.api.finish(created.body.deployment_id)).status).toBe(202);
  });

  it("one project's finish answers 404 for another's finished deployment, without revealing its state", async () => {
    const a = await newProject(api);
    const b = await newProject(api);
    const created = await a.api.trigger(VALID_TRIGGER);
    await a.api.finish(created.body.deployment_id);
    const response = await b.api.finish(created.body.deployment_id);
    expectProblem(response, 404, "not_found");
    expect(response.text).not.toContain("finished");
  });

  it("one project's finish does not abandon another project's stale deployment", async () => {
    const a = await newProject(api);
    const b = await newProject(api);
    const created = await a.api.trigger(VALID_TRIGGER);
    await backdate(pool(), created.body.deployment_id, 7200);
    const before = await deploymentRow(pool(), created.body.deployment_id);
    expectProblem(await b.api.finish(created.body.deployment_id), 404, "not_found");
    // Project B's request must not write to project A's rows.
    expect(await deploymentRow(pool(), created.body.deployment_id)).toEqual(before);
  });

  it("lists never show another project's deployments, whatever the filter or cursor", async () => {
    const a = await newProject(api);
    const b = await newProject(api);
    const aIds = new Set<string>();
    for (const env of ["production", "staging", "dev"]) {
      aIds.add((await a.api.trigger({ env })).body.deployment_id);
    }
    const bOwn = await b.api.trigger({ env: "production" });
    for (const query of [{}, { env: "production" }, { state: "running" }, { cursor: "4" }, { limit: 100 }]) {
      const response = await b.api.list(query);
      expect(response.status).toBe(200);
      for (const item of response.body.items) {
        expect(aIds.has(item.id)).toBe(false);
        expect(item.project_id).toBe(b.project.project_id);
      }
    }
    expect((await b.api.list()).body.items.map((item) => item.id)).toEqual([bOwn.body.deployment_id]);
  });

  it("the same idempotency key in two projects makes two deployments, neither sees the other", async () => {
    const a = await newProject(api);
    const b = await newProject(api);
    const headers = { "idempotency-key": "release-2024-01-01" };
    const fromA = await a.api.trigger({ env: "production", branch: "a" }, headers);
    const fromB = await b.api.trigger({ env: "production", branch: "b" }, headers);
    expect([fromA.status, fromB.status]).toEqual([201, 201]);
    expect(fromA.body.deployment_id).not.toBe(fromB.body.deployment_id);
    expect(fromB.body.deployment_number).toBe(1);
    // Different parameters with the same key are no conflict across projects.
    const replayA = await a.api.trigger({ env: "production", branch: "a" }, headers);
    const replayB = await b.api.trigger({ env: "production", branch: "b" }, headers);
    expect(replayA.body.deployment_id).toBe(fromA.body.deployment_id);
    expect(replayB.body.deployment_id).toBe(fromB.body.deployment_id);
    expect(replayA.text).not.toContain(fromB.body.deployment_id);
    expect(replayB.text).not.toContain(fromA.body.deployment_id);
    expect((await b.api.get(fromA.body.deployment_id)).status).toBe(404);
  });

  it("a running deployment in one project never answers another project's trigger", async () => {
    const a = await newProject(api, { running_conflict: "reject" });
    const b = await newProject(api, { running_conflict: "reject" });
    const fromA = await a.api.trigger(VALID_TRIGGER);
    const fromB = await b.api.trigger(VALID_TRIGGER);
    expect(fromB.status).toBe(201);
    expect(fromB.text).not.toContain(fromA.body.deployment_id);
  });

  it("stores SQL-looking input literally", async () => {
    const { api: ci } = await newProject(api);
    const key = "'; delete from deployments; --";
    const created = await ci.trigger(
      { env: "production", branch: "' or '1'='1" },
      { "idempotency-key": key },
    );
    expect(created.status).toBe(201);
    expect(created.body.idempotency_key).toBe(key);
    const detail = await ci.get(created.body.deployment_id);
    expect(detail.body.branch).toBe("' or '1'='1");
    expect(await countDeployments(pool())).toBeGreaterThan(1);
  });
});

describe("secrets stay secret", () => {
  it("never shows the API key or HMAC secret after project creation", async () => {
    const { project, api: ci } = await newProject(api, { running_conflict: "reject" });
    const responses: ApiResponse[] = [];
    const created = await ci.trigger(VALID_TRIGGER, { "idempotency-key": "s1" });
    responses.push(
      created,
      await ci.trigger(VALID_TRIGGER, { "idempotency-key": "s1" }),
      await ci.trigger(VALID_TRIGGER, { "idempotency-key": "s2" }),
      await ci.trigger({ env: "bad env" }),
      await ci.trigger({ ...VALID_TRIGGER, branch: "x" }, { "idempotency-key": "s1" }),
      await ci.get(created.body.deployment_id),
      await ci.list(),
      await ci.finish(created.body.deployment_id),
      await ci.finish(created.body.deployment_id),
      await adminCall(api, "GET", "/admin/projects"),
      await call(api.baseUrl, "GET", "/deployments", { key: `${project.api_key}x` }),
    );
    expect(responses.map((response) => response.status)).toEqual([
      201, 200, 409, 400, 422, 200, 200, 202, 200, 200, 401,
    ]);
    for (const response of responses) {
      expect(response.text).not.toContain(project.api_key);
      expect(response.text).not.toContain(project.hmac_secret);
      expect(response.text).not.toContain(sha256Hex(project.api_key));
      for (const value of response.headers.values()) {
        expect(value).not.toContain(project.api_key);
        expect(value).not.toContain(project.hmac_secret);
      }
    }
  });

  it("never logs API keys, HMAC secrets or the admin token", async () => {
    const start = logLines.length;
    const { project, api: ci } = await newProject(api);
    const wrongKey = `${project.api_key.slice(0, -4)}ABCD`;
    const created = await ci.trigger(VALID_TRIGGER, { "idempotency-key": "log-1" });
    await ci.trigger(VALID_TRIGGER, { "idempotency-key": "log-1" });
    await ci.trigger({ env: "bad env" });
    await ci.get(created.body.deployment_id);
    await ci.list({ state: "running" });
    await ci.finish(created.body.deployment_id);
    await call(api.baseUrl, "GET", "/deployments", { key: project.api_key, auth: "bearer" });
    await call(api.baseUrl, "GET", "/deployments", { key: wrongKey });
    await call(api.baseUrl, "GET", "/deployments", { key: wrongKey, auth: "bearer" });
    await adminCall(api, "GET", "/admin/projects", { token: "not-the-admin-token" });
    await adminCall(api, "GET", "/admin/projects");

    const lines = logLines.slice(start);
    // The logger is in use: each request is logged, with its request id and, once known, the project.
    const requests = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((e) => e.msg === "request");
    expect(requests.length).toBeGreaterThanOrEqual(12);
    expect(requests.every((entry) => typeof entry.request_id === "string")).toBe(true);
    expect(requests.some((entry) => entry.project_id === project.project_id)).toBe(true);
    expect(lines.some((line) => line.includes(created.body.deployment_id))).toBe(true);

    const secrets = {
      api_key: project.api_key,
      api_key_secret_part: project.api_key.split("_").slice(2).join("_"),
      wrong_key: wrongKey,
      hmac_secret: project.hmac_secret,
      api_key_hash: sha256Hex(project.api_key),
      admin_token: TEST_ADMIN_TOKEN,
    };
    for (const line of lines) {
      for (const [name, secret] of Object.entries(secrets)) {
        expect(line.includes(secret), `${name} in log line ${line}`).toBe(false);
      }
    }
  });

  it("does not log or answer secrets when storing a project fails", async () => {
    const lines: string[] = [];
    const failing = await startTestApi({ logger: createLogger("debug", {}, captureLines(lines)) });
    try {
      // Make the database refuse this one project, as a full disk or a lost connection would.
      await failing.database.pool.query(
        "alter table projects add constraint test_refuse_name check (name <> 'refused-by-database')",
      );
      const response = await adminCall(failing, "POST", "/admin/projects", {
        body: { name: "refused-by-database" },
      });
      expectProblem(response, 500, "internal_error");
      expect(response.text).not.toMatch(/sp_hmac_|insert|projects/);
      expect(lines.some((line) => line.includes("unhandled error"))).toBe(true);
      for (const line of lines) {
        expect(line, "the HMAC secret is logged").not.toMatch(/sp_hmac_[A-Za-z0-9_-]{20,}/);
        expect(line, "the API key hash is logged").not.toMatch(/\b[0-9a-f]{64}\b/);
      }
    } finally {
      await failing.close();
    }
  });

  it("does not answer database details when storing a deployment fails", async () => {
    const failing = await startTestApi();
    try {
      const { api: ci } = await newProject(failing);
      await failing.database.pool.query(
        "alter table deployments add constraint test_refuse_branch check (branch is distinct from 'refused')",
      );
      const response = await ci.trigger({ env: "production", branch: "refused" });
      expectProblem(response, 500, "internal_error");
      expect(response.text).not.toMatch(/insert|deployments|constraint|refused/);
      expect((await ci.trigger({ env: "production", branch: "main" })).status).toBe(201);
    } finally {
      await failing.close();
    }
  });
});
