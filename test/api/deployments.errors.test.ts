import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";
import {
  type Client,
  call,
  countDeployments,
  deploymentRow,
  deploymentRows,
  expectInvariants,
  expectProblem,
  newProject,
} from "./helpers.js";

let api: TestApi;
/** One project shared by the tests that only send requests that must fail. */
let shared: Awaited<ReturnType<typeof newProject>>;

beforeAll(async () => {
  api = await startTestApi();
  shared = await newProject(api);
});
afterAll(async () => {
  if (api) await expectInvariants(api.database.pool);
  await api?.close();
});

const pool = () => api.database.pool;

/** The request must fail with this problem and leave the project without a new deployment. */
async function expectRejected(
  projectId: string,
  send: () => Promise<Awaited<ReturnType<Client["trigger"]>>>,
  status: number,
  code: string,
) {
  const before = await countDeployments(pool(), projectId);
  const response = await send();
  const problem = expectProblem(response, status, code);
  expect(await countDeployments(pool(), projectId)).toBe(before);
  return problem;
}

describe("malformed requests", () => {
  it.each([
    ["an empty body", ""],
    ["a truncated object", '{"env": "production"'],
    ["single quotes", "{'env': 'production'}"],
    ["a trailing comma", '{"env": "production",}'],
    ["a bare word", "production"],
    ["two objects", '{"env":"a"}{"env":"b"}'],
    ["a BOM-less garbage byte string", "\u0001\u0002"],
  ])("rejects %s with 400 invalid_json and creates nothing", async (_label, body) => {
    const problem = await expectRejected(
      shared.project.project_id,
      () => call(api.baseUrl, "POST", "/deployments/trigger", { key: shared.project.api_key, body }),
      400,
      "invalid_json",
    );
    expect(problem.detail).toMatch(/JSON/);
  });

  it.each([
    ["no content type", null],
    ["text/plain", "text/plain"],
    ["a form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["application/jsonp", "application/jsonp"],
    ["json without the application type", "json"],
  ])("rejects a JSON body sent with %s as 415", async (_label, contentType) => {
    const problem = await expectRejected(
      shared.project.project_id,
      () =>
        call(api.baseUrl, "POST", "/deployments/trigger", {
          key: shared.project.api_key,
          body: JSON.stringify({ env: "production" }),
          contentType,
        }),
      415,
      "unsupported_media_type",
    );
    expect(problem.detail).toContain("application/json");
  });

  it.each([
    ["an array", []],
    ["null", null],
    ["a number", 1],
    ["a string", "production"],
    ["a boolean", true],
    ["an empty object", {}],
  ])("rejects %s as the body with 400 validation_error", async (_label, body) => {
    const problem = await expectRejected(
      shared.project.project_id,
      () => shared.api.trigger(JSON.stringify(body)),
      400,
      "validation_error",
    );
    expect(problem.errors?.length).toBeGreaterThan(0);
  });
});

/**
 * Oversized bodies go to a server of their own: after a 413 the server may drop the connection, and
 * the connection pool of the main server must not inherit that.
 */
describe("body size limit", () => {
  let limits: TestApi;
  let key: string;
  beforeAll(async () => {
    limits = await startTestApi();
    key = (await limits.createProject()).api_key;
  });
  afterAll(async () => limits?.close());
  const countAll = () => countDeployments(limits.database.pool);

  it("rejects a body over 64 KiB with 413 and creates nothing", async () => {
    const body = JSON.stringify({ env: "production", branch: "b".repeat(70 * 1024) });
    const response = await call(limits.baseUrl, "POST", "/deployments/trigger", { key, body });
    expectProblem(response, 413, "payload_too_large");
    expect(await countAll()).toBe(0);
  });

  it("draws the body limit at exactly 64 KiB", async () => {
    const sized = (bytes: number) => {
      const skeleton = JSON.stringify({ env: "production", branch: "" });
      return JSON.stringify({ env: "production", branch: "b".repeat(bytes - skeleton.length) });
    };
    const atLimit = await call(limits.baseUrl, "POST", "/deployments/trigger", {
      key,
      body: sized(64 * 1024),
    });
    // Read and validated: the branch is too long, but the size is fine.
    expectProblem(atLimit, 400, "validation_error");
    const overLimit = await call(limits.baseUrl, "POST", "/deployments/trigger", {
      key,
      body: sized(64 * 1024 + 1),
    });
    expectProblem(overLimit, 413, "payload_too_large");
  });

  it("refuses an oversized unauthenticated body and creates nothing", async () => {
    const response = await call(limits.baseUrl, "POST", "/deployments/trigger", {
      body: JSON.stringify({ env: "production", branch: "b".repeat(70 * 1024) }),
    });
    expect([401, 413]).toContain(response.status);
    expect(await countAll()).toBe(0);
  });

  it("rejects a streamed (chunked) body over 64 KiB with 413", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"env":"production","branch":"x"'));
        if (sent < 8) controller.enqueue(chunk);
        else {
          controller.enqueue(new TextEncoder().encode("}"));
          controller.close();
        }
        sent++;
      },
    });
    const response = await fetch(`${limits.baseUrl}/deployments/trigger`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const text = await response.text();
    expect(response.status, text).toBe(413);
    expect(JSON.parse(text).code).toBe("payload_too_large");
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(await countAll()).toBe(0);
  });

  it("keeps the connection usable, or says it closes it, after a 413", async () => {
    // A client that keeps connections alive (as fetch does) must be able to send its next request.
    const failures: string[] = [];
    for (let round = 0; round < 4; round++) {
      const big = await fetch(`${limits.baseUrl}/deployments/trigger`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ env: "production", branch: "b".repeat(300_000) }),
      });
      await big.text();
      expect(big.status).toBe(413);
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const next = await fetch(`${limits.baseUrl}/healthz`);
          await next.text();
        } catch (error) {
          failures.push(`round ${round}: ${(error as Error).message}: ${String((error as Error).cause)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("trigger validation", () => {
  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ["a missing env", {}, "env"],
    ["a numeric env", { env: 5 }, "env"],
    ["a null env", { env: null }, "env"],
    ["an empty env", { env: "" }, "env"],
    ["an env with a space", { env: "prod env" }, "env"],
    ["an env starting with '-'", { env: "-prod" }, "env"],
    ["an env starting with '.'", { env: ".prod" }, "env"],
    ["an env with a slash", { env: "prod/eu" }, "env"],
    ["an env of 51 characters", { env: "e".repeat(51) }, "env"],
    ["a non-ASCII env", { env: "prödüction" }, "env"],
    ["an env with a newline", { env: "prod\n" }, "env"],
    ["an env object", { env: { name: "prod" } }, "env"],
    ["a 256-character branch", { env: "production", branch: "b".repeat(256) }, "branch"],
    ["a blank branch", { env: "production", branch: "   " }, "branch"],
    ["a numeric branch", { env: "production", branch: 1 }, "branch"],
    ["a non-hex commit", { env: "production", commit_sha: "not-a-sha" }, "commit_sha"],
    ["a 3-character commit", { env: "production", commit_sha: "abc" }, "commit_sha"],
    ["a 65-character commit", { env: "production", commit_sha: "a".repeat(65) }, "commit_sha"],
    [
      "an ftp endpoint",
      { env: "production", metrics_endpoint: "ftp://127.0.0.1:9/metrics" },
      "metrics_endpoint",
    ],
    [
      "a javascript: endpoint",
      { env: "production", metrics_endpoint: "javascript:alert(1)" },
      "metrics_endpoint",
    ],
    ["a file: endpoint", { env: "production", metrics_endpoint: "file:///etc/passwd" }, "metrics_endpoint"],
    ["a relative endpoint", { env: "production", metrics_endpoint: "/metrics" }, "metrics_endpoint"],
    ["an empty endpoint", { env: "production", metrics_endpoint: "" }, "metrics_endpoint"],
    [
      "a 2049-character endpoint",
      { env: "production", metrics_endpoint: `http://127.0.0.1:9/${"m".repeat(2030)}` },
      "metrics_endpoint",
    ],
    ["a numeric idempotency_key", { env: "production", idempotency_key: 42 }, "idempotency_key"],
    ["an unknown field", { env: "production", deployment_number: 7 }, "(root)"],
    ["ci as a string", { env: "production", ci: "github" }, "ci"],
    ["ci as an array", { env: "production", ci: ["github"] }, "ci"],
    ["a nested ci value", { env: "production", ci: { labels: { a: 1 } } }, "ci.labels"],
    ["a fractional run_id", { env: "production", ci: { run_id: 1.5 } }, "ci.run_id"],
    ["a 501-character ci value", { env: "production", ci: { note: "n".repeat(501) } }, "ci.note"],
    ["a 2049-character run_url", { env: "production", ci: { run_url: "u".repeat(2049) } }, "ci.run_url"],
    [
      "31 ci fields",
      { env: "production", ci: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`f${i}`, i])) },
      "ci",
    ],
  ];

  it.each(invalid)("rejects %s with 400 validation_error naming the field", async (_label, body, path) => {
    const problem = await expectRejected(
      shared.project.project_id,
      () => shared.api.trigger(body),
      400,
      "validation_error",
    );
    expect(problem.errors?.map((error) => error.path)).toContain(path);
    expect(problem.detail).toContain(path);
  });
});

describe("env restrictions", () => {
  it("rejects an env outside the project's list with env_not_allowed listing the allowed envs", async () => {
    const { project, api: ci } = await newProject(api, { envs: ["production", "staging"] });
    for (const env of ["dev", "Production", "prod"]) {
      const problem = await expectRejected(
        project.project_id,
        () => ci.trigger({ env }),
        400,
        "env_not_allowed",
      );
      expect(problem.detail).toContain(env);
      expect(problem.detail).toContain("production");
      expect(problem.detail).toContain("staging");
      expect((problem as Record<string, unknown>).allowed_envs).toEqual(["production", "staging"]);
    }
  });

  it("rejects an invalid env name as validation_error even when the project lists envs", async () => {
    const { project, api: ci } = await newProject(api, { envs: ["production"] });
    await expectRejected(project.project_id, () => ci.trigger({ env: "bad env" }), 400, "validation_error");
  });
});

describe("metrics endpoint rules", () => {
  it("rejects an endpoint on another origin than the project's", async () => {
    const { project, api: ci } = await newProject(api, {
      metrics_endpoint: "https://app.example.com/metrics",
    });
    for (const endpoint of [
      "https://evil.example.com/metrics",
      "http://app.example.com/metrics",
      "https://app.example.com:8443/metrics",
      "https://app.example.com.evil.io/metrics",
      "https://user@evil.io/metrics",
    ]) {
      const problem = await expectRejected(
        project.project_id,
        () => ci.trigger({ env: "production", metrics_endpoint: endpoint }),
        400,
        "metrics_endpoint_mismatch",
      );
      expect(problem.detail).toContain("https://app.example.com");
      expect(problem.errors?.[0]?.path).toBe("metrics_endpoint");
    }
  });

  it("requires an endpoint when neither the project nor the trigger has one", async () => {
    const { project, api: ci } = await newProject(api, { metrics_endpoint: undefined });
    for (const body of [{ env: "production" }, { env: "production", metrics_endpoint: null }]) {
      const problem = await expectRejected(
        project.project_id,
        () => ci.trigger(body),
        400,
        "metrics_endpoint_required",
      );
      expect(problem.errors?.[0]?.path).toBe("metrics_endpoint");
    }
  });
});

describe("idempotency key errors", () => {
  const cases: Array<[string, Record<string, string>, Record<string, unknown>, string]> = [
    [
      "header and body differ",
      { "idempotency-key": "a" },
      { idempotency_key: "b" },
      "idempotency_key_conflict",
    ],
    [
      "Idempotency-Key and X-Idempotency-Key differ",
      { "idempotency-key": "a", "x-idempotency-key": "b" },
      {},
      "idempotency_key_conflict",
    ],
    [
      "X-Idempotency-Key and body differ",
      { "x-idempotency-key": "a" },
      { idempotency_key: "b" },
      "idempotency_key_conflict",
    ],
    [
      "header and body differ in case",
      { "idempotency-key": "abc" },
      { idempotency_key: "ABC" },
      "idempotency_key_conflict",
    ],
    ["a 256-character header", { "idempotency-key": "k".repeat(256) }, {}, "idempotency_key_invalid"],
    ["a 256-character body key", {}, { idempotency_key: "k".repeat(256) }, "idempotency_key_invalid"],
    ["an 8 KiB header", { "idempotency-key": "k".repeat(8192) }, {}, "idempotency_key_invalid"],
    [
      "a quoted 256-character header",
      { "idempotency-key": `"${"k".repeat(256)}"` },
      {},
      "idempotency_key_invalid",
    ],
    ["a non-ASCII body key", {}, { idempotency_key: "ключ" }, "idempotency_key_invalid"],
    ["an emoji body key", {}, { idempotency_key: "run-🚀" }, "idempotency_key_invalid"],
    ["a Latin-1 header", { "idempotency-key": "caf\u00e9" }, {}, "idempotency_key_invalid"],
    ["a tab inside a header", { "idempotency-key": "a\tb" }, {}, "idempotency_key_invalid"],
    ["a newline inside a body key", {}, { idempotency_key: "a\nb" }, "idempotency_key_invalid"],
    ["a bell character in a body key", {}, { idempotency_key: "a\u0007b" }, "idempotency_key_invalid"],
    ["a DEL character in a body key", {}, { idempotency_key: "a\u007fb" }, "idempotency_key_invalid"],
    // NUL is refused for every string of a body before any field-specific rule.
    ["a NUL character in a body key", {}, { idempotency_key: "a\u0000b" }, "validation_error"],
    [
      "a quoted header with a bad escape",
      { "idempotency-key": String.raw`"a\nb"` },
      {},
      "idempotency_key_invalid",
    ],
    ["a quoted header with an inner quote", { "idempotency-key": '"a"b"' }, {}, "idempotency_key_invalid"],
  ];

  it.each(cases)("rejects %s", async (_label, headers, body, code) => {
    const problem = await expectRejected(
      shared.project.project_id,
      () => shared.api.trigger({ env: "production", ...body }, headers),
      400,
      code,
    );
    // The problem never echoes an over-long or binary key back.
    expect(problem.detail.length).toBeLessThan(300);
  });

  describe("a known key with different parameters", () => {
    const variants: Array<[string, Record<string, unknown>]> = [
      ["another branch", { branch: "release" }],
      ["no branch", { branch: null }],
      ["another commit", { commit_sha: "bbbb2222" }],
      ["no commit", { commit_sha: undefined }],
      ["another metrics endpoint", { metrics_endpoint: "http://127.0.0.1:9/other" }],
    ];

    it.each(variants)(
      "answers 422 idempotency_key_reused for %s and changes nothing",
      async (_label, change) => {
        const { project, api: ci } = await newProject(api);
        const original = { env: "production", branch: "main", commit_sha: "aaaa1111" };
        const first = await ci.trigger(original, { "idempotency-key": "deploy-1" });
        expect(first.status).toBe(201);
        const rowsBefore = await deploymentRows(pool(), project.project_id);

        const reused = await ci.trigger({ ...original, ...change }, { "idempotency-key": "deploy-1" });
        const problem = expectProblem(reused, 422, "idempotency_key_reused");
        expect(problem.detail).toContain("deploy-1");
        expect((problem as Record<string, unknown>).deployment_id).toBe(first.body.deployment_id);
        expect(reused.headers.get("idempotent-replayed")).toBeNull();
        expect(await deploymentRows(pool(), project.project_id)).toEqual(rowsBefore);

        // The original request still replays.
        const replay = await ci.trigger(original, { "idempotency-key": "deploy-1" });
        expect(replay.status).toBe(200);
        expect(replay.body.deployment_id).toBe(first.body.deployment_id);
      },
    );

    it("answers 422 even after the deployment finished, and does not reopen the env", async () => {
      const { project, api: ci } = await newProject(api);
      const first = await ci.trigger({ env: "production", branch: "main" }, { "idempotency-key": "k" });
      expect((await ci.finish(first.body.deployment_id)).status).toBe(202);
      const reused = await ci.trigger({ env: "production", branch: "next" }, { "idempotency-key": "k" });
      expectProblem(reused, 422, "idempotency_key_reused");
      expect(await countDeployments(pool(), project.project_id)).toBe(1);
      expect((await deploymentRow(pool(), first.body.deployment_id))?.branch).toBe("main");
    });
  });
});

describe("finish errors", () => {
  it("answers 404 not_found for an unknown deployment id", async () => {
    const response = await shared.api.finish("6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70");
    const problem = expectProblem(response, 404, "not_found");
    expect(problem.detail).toContain("6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70");
  });

  const invalid: Array<[string, unknown, string]> = [
    ["a non-UUID id", { deployment_id: "42", result: "success" }, "deployment_id"],
    [
      "a UUID with a trailing character",
      { deployment_id: "6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70x", result: "success" },
      "deployment_id",
    ],
    ["a numeric id", { deployment_id: 42, result: "success" }, "deployment_id"],
    ["a missing id", { result: "success" }, "deployment_id"],
    [
      "an unknown result",
      { deployment_id: "6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70", result: "succeeded" },
      "result",
    ],
    [
      "an upper-case result",
      { deployment_id: "6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70", result: "SUCCESS" },
      "result",
    ],
    ["a missing result", { deployment_id: "6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70" }, "result"],
    ["a null result", { deployment_id: "6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70", result: null }, "result"],
    [
      "an unknown field",
      { deployment_id: "6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70", result: "success", state: "analyzed" },
      "(root)",
    ],
    ["an array body", [], "(root)"],
  ];

  it.each(invalid)("rejects %s with 400 validation_error", async (_label, body, path) => {
    const response = await call(api.baseUrl, "POST", "/deployments/finish", {
      key: shared.project.api_key,
      body,
    });
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.errors?.map((error) => error.path)).toContain(path);
  });

  it("leaves a running deployment running when the finish is invalid", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production" });
    const bad = await call(api.baseUrl, "POST", "/deployments/finish", {
      body: { deployment_id: created.body.deployment_id, result: "success" },
    });
    expectProblem(bad, 401, "unauthorized");
    const badResult = await ci.finish(created.body.deployment_id, "done");
    expectProblem(badResult, 400, "validation_error");
    const row = await deploymentRow(pool(), created.body.deployment_id);
    expect(row).toMatchObject({ state: "running", pipeline_result: null, finished_at: null });
  });

  it("rejects malformed JSON and the wrong content type", async () => {
    expectProblem(
      await call(api.baseUrl, "POST", "/deployments/finish", { key: shared.project.api_key, body: "{" }),
      400,
      "invalid_json",
    );
    expectProblem(
      await call(api.baseUrl, "POST", "/deployments/finish", {
        key: shared.project.api_key,
        body: JSON.stringify({ deployment_id: "6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70", result: "success" }),
        contentType: "text/plain",
      }),
      415,
      "unsupported_media_type",
    );
  });
});

describe("GET /deployments/:id errors", () => {
  it.each([
    ["an unknown UUID", "6f1c2a4e-8b7d-4c3e-9a1f-2b3c4d5e6f70"],
    ["a number", "1"],
    ["a word", "latest"],
    ["a SQL fragment", "1%27%20or%20%271%27%3D%271"],
    ["a UUID without dashes", "6f1c2a4e8b7d4c3e9a1f2b3c4d5e6f70"],
    ["a very long id", "a".repeat(5000)],
    ["a malformed percent-encoding", "%E0%A4%A"],
    ["an encoded NUL", "%00"],
    ["an encoded path traversal", "x%2F..%2F"],
  ])("answers 404 not_found for %s", async (_label, id) => {
    const response = await shared.api.get(id);
    expectProblem(response, 404, "not_found");
  });
});

describe("GET /deployments errors", () => {
  it.each([
    ["limit=0", { limit: 0 }, "limit"],
    ["limit=101", { limit: 101 }, "limit"],
    ["limit=-1", { limit: -1 }, "limit"],
    ["limit=1.5", { limit: 1.5 }, "limit"],
    ["limit=abc", { limit: "abc" }, "limit"],
    ["an empty limit", { limit: "" }, "limit"],
    ["cursor=abc", { cursor: "abc" }, "cursor"],
    ["cursor=0", { cursor: "0" }, "cursor"],
    ["cursor=-5", { cursor: "-5" }, "cursor"],
    ["cursor=007", { cursor: "007" }, "cursor"],
    ["an 11-digit cursor", { cursor: "12345678901" }, "cursor"],
    ["state=done", { state: "done" }, "state"],
    ["env with a space", { env: "bad env" }, "env"],
    ["an unknown parameter", { page: 2 }, "(root)"],
  ])("rejects %s with 400 validation_error", async (_label, query, path) => {
    const response = await shared.api.list(query);
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.errors?.map((error) => error.path)).toContain(path);
  });

  it("answers a cursor beyond any deployment number with an empty page or a 400, never a 500", async () => {
    const { api: ci } = await newProject(api);
    await ci.trigger({ env: "production" });
    for (const cursor of ["2147483647", "2147483648", "9999999999"]) {
      const response = await ci.list({ cursor });
      expect(response.status, `cursor=${cursor}: ${response.text}`).toBeLessThan(500);
      if (response.status === 200)
        expect(response.body.items.map((item) => item.deployment_number)).toEqual([1]);
      else expectProblem(response, 400, "validation_error");
    }
  });
});

describe("no input makes the server fail (never a 500)", () => {
  it.each([
    ["branch", { env: "nul-branch", branch: "main\u0000" }],
    ["a ci value", { env: "nul-ci", ci: { note: "a\u0000b" } }],
    ["a ci field name", { env: "nul-ci-key", ci: { "a\u0000b": "x" } }],
    ["metrics_endpoint", { env: "nul-endpoint", metrics_endpoint: "http://127.0.0.1:9/metrics\u0000" }],
  ])("answers a NUL character in %s with a 4xx, not a 500", async (_label, body) => {
    const { project, api: ci } = await newProject(api);
    const response = await ci.trigger(body);
    expect(response.status, response.text).toBeLessThan(500);
    // PostgreSQL text cannot hold NUL: the request is either rejected or stored without it.
    const rows = await deploymentRows(pool(), project.project_id);
    expect(rows.length).toBe(response.status === 201 ? 1 : 0);
  });

  it.each([
    ["ci.actor", { env: "production", ci: { actor: "\ud800" } }, "ci.actor", "unpaired surrogate"],
    ["a ci field name", { env: "production", ci: { "x\udc00": "y" } }, "ci", "a key must be valid Unicode"],
    ["branch", { env: "production", branch: "main\u0000" }, "branch", "NUL"],
  ])(
    "rejects text PostgreSQL cannot store in %s with a 400 naming the field",
    async (_label, body, path, message) => {
      const { project, api: ci } = await newProject(api);
      const response = await ci.trigger(body);
      const problem = expectProblem(response, 400, "validation_error");
      expect(problem.errors?.[0]?.path).toBe(path);
      expect(problem.errors?.[0]?.message).toContain(message);
      expect(await deploymentRows(pool(), project.project_id)).toEqual([]);
    },
  );

  it.each([
    ["a lone surrogate branch", { env: "production", branch: "\ud800" }],
    ["a 60 KB env", { env: "e".repeat(60_000) }],
    ["deeply nested JSON", `${"[".repeat(5000)}${"]".repeat(5000)}`],
    ["a deeply nested ci", `{"env":"production","ci":${'{"a":'.repeat(3000)}1${"}".repeat(3000)}}`],
    ["a huge number env", { env: 1e308 }],
    ["an overflowing run_id", { env: "production", ci: { run_id: 1e300 } }],
    ["an infinite ci number", '{"env":"production","ci":{"x":1e999}}'],
    ["__proto__ in ci", '{"env":"production","ci":{"__proto__":{"polluted":true}}}'],
    ["__proto__ in the body", '{"env":"production","__proto__":{"env":"x"}}'],
    ["constructor in the body", '{"env":"production","constructor":{"prototype":{}}}'],
    ["duplicate keys", '{"env":"production","env":"bad env"}'],
    ["unicode everywhere", { env: "production", branch: "分支/🚀", ci: { ключ: "值", emoji: "👍🏽" } }],
    ["RTL and zero-width characters", { env: "production", branch: "\u202emain\u200b" }],
    ["a long commit of non-hex", { env: "production", commit_sha: "z".repeat(10_000) }],
    ["an object as commit", { env: "production", commit_sha: { sha: "abcd" } }],
    [
      "an endpoint with credentials",
      { env: "production", metrics_endpoint: "http://u:p@127.0.0.1:9/metrics" },
    ],
    ["an IPv6 endpoint", { env: "production", metrics_endpoint: "http://[::1]:9/metrics" }],
    ["a punycode endpoint", { env: "production", metrics_endpoint: "http://xn--nxasmq6b.example/metrics" }],
  ])("%s", async (_label, body) => {
    const response = await shared.api.trigger(typeof body === "string" ? body : JSON.stringify(body));
    expect(response.status, response.text).toBeLessThan(500);
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });

  it("survives random trigger bodies", async () => {
    const { api: ci } = await newProject(api);
    const text = fc.oneof(fc.string(), fc.string({ unit: "binary", maxLength: 40 }), fc.constant(""));
    const anyValue = fc.oneof(
      text,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.jsonValue(),
    );
    // Mostly plausible values, so that many bodies get past validation and reach the database.
    const field = <T>(plausible: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: plausible, weight: 4 }, { arbitrary: anyValue, weight: 1 });
    const body = fc.oneof(
      { arbitrary: fc.jsonValue(), weight: 1 },
      {
        weight: 5,
        arbitrary: fc.record(
          {
            env: field(fc.constantFrom("production", "staging", "dev")),
            branch: field(fc.string({ minLength: 1, maxLength: 30 })),
            commit_sha: field(
              fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: 1, maxLength: 70 }),
            ),
            metrics_endpoint: field(
              fc.oneof(
                fc.webUrl(),
                fc.string().map((path) => `http://127.0.0.1:9/${encodeURIComponent(path)}`),
              ),
            ),
            idempotency_key: field(fc.string({ maxLength: 20 })),
            ci: field(
              fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string(), fc.integer()), {
                maxKeys: 5,
              }),
            ),
          },
          { requiredKeys: ["env"] },
        ),
      },
    );
    let created = 0;
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const response = await ci.trigger(JSON.stringify(value));
        if (response.status >= 500)
          throw new Error(`${response.status} for ${JSON.stringify(value)}: ${response.text}`);
        if (response.status >= 400)
          expectProblem(response, response.status, (response.body as unknown as { code: string }).code);
        if (response.status === 201) {
          created++;
          // Free the env again so later bodies can create deployments.
          expect((await ci.finish(response.body.deployment_id)).status).toBe(202);
        }
      }),
      { numRuns: 150 },
    );
    expect(created).toBeGreaterThan(10);
  });

  it("survives random list queries and ids", async () => {
    const key = shared.project.api_key;
    const param = fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.constant(""));
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom("env", "state", "limit", "cursor", "x"), param, { maxKeys: 4 }),
        fc.oneof(fc.string({ maxLength: 60 }), fc.uuid()),
        async (query, id) => {
          const search = new URLSearchParams(query).toString();
          const list = await call(api.baseUrl, "GET", `/deployments?${search}`, { key });
          if (list.status >= 500) throw new Error(`${list.status} for ?${search}: ${list.text}`);
          const get = await call(api.baseUrl, "GET", `/deployments/${encodeURIComponent(id)}`, { key });
          if (get.status >= 500) throw new Error(`${get.status} for id ${JSON.stringify(id)}: ${get.text}`);
          expect([200, 404]).toContain(get.status);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("survives random finish bodies", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            deployment_id: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
            result: fc.oneof(fc.string(), fc.constantFrom("success", "failed")),
          },
          { requiredKeys: [] },
        ),
        async (body) => {
          const response = await call(api.baseUrl, "POST", "/deployments/finish", {
            key: shared.project.api_key,
            body,
          });
          if (response.status >= 500)
            throw new Error(`${response.status} for ${JSON.stringify(body)}: ${response.text}`);
          expect([400, 404]).toContain(response.status);
        },
      ),
      { numRuns: 60 },
    );
  });
});
