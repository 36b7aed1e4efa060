import http from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, TEST_ADMIN_TOKEN, type TestApi } from "../support/api.js";
import {
  type ApiResponse,
  adminCall,
  call,
  countDeployments,
  expectInvariants,
  expectProblem,
  newProject,
} from "./helpers.js";

/** Regression tests for request-level defects found by adversarial testing (issue 7, section 5). */

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  if (api) await expectInvariants(api.database.pool);
  await api?.close();
});

/**
 * A POST with node:http, which sends a header given as an array as one line per value — what a
 * client that repeats a header does. fetch would join them into one line.
 */
function rawPost(
  path: string,
  headers: Record<string, string | string[]>,
  body: string,
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${api.baseUrl}${path}`,
      { method: "POST", headers: { "content-type": "application/json", ...headers } },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () => {
          const headerBag = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === "string") headerBag.set(name, value);
          }
          resolve({
            status: response.statusCode ?? 0,
            headers: headerBag,
            contentType: response.headers["content-type"] ?? "",
            text,
            body: JSON.parse(text),
          });
        });
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

describe("repeated idempotency key headers", () => {
  it("refuses two Idempotency-Key lines with different keys: 400 idempotency_key_conflict, nothing stored", async () => {
    const { project } = await newProject(api);
    const response = await rawPost(
      "/deployments/trigger",
      { "x-api-key": project.api_key, "idempotency-key": ["run-1", "run-2"] },
      JSON.stringify({ env: "production" }),
    );
    const problem = expectProblem(response, 400, "idempotency_key_conflict");
    expect(problem.detail).toContain("Idempotency-Key header");
    expect(problem.detail).toContain("send the header once");
    expect(await countDeployments(api.database.pool, project.project_id)).toBe(0);
  });

  it("refuses two X-Idempotency-Key lines with different keys", async () => {
    const { project } = await newProject(api);
    const response = await rawPost(
      "/deployments/trigger",
      { "x-api-key": project.api_key, "x-idempotency-key": ['"a"', '"b"'] },
      JSON.stringify({ env: "production" }),
    );
    expectProblem(response, 400, "idempotency_key_conflict");
    expect(await countDeployments(api.database.pool, project.project_id)).toBe(0);
  });

  it("accepts the same key sent twice, as that one key", async () => {
    const { project } = await newProject(api);
    const response = await rawPost(
      "/deployments/trigger",
      { "x-api-key": project.api_key, "idempotency-key": ["run-1", '"run-1"'] },
      JSON.stringify({ env: "production" }),
    );
    expect(response.status, response.text).toBe(201);
    expect((response.body as { idempotency_key: string }).idempotency_key).toBe("run-1");
  });

  it("keeps a single header whose key holds a comma as that key", async () => {
    const { project, api: ci } = await newProject(api);
    const response = await ci.trigger({ env: "production" }, { "idempotency-key": "run 1, attempt 2" });
    expect(response.status, response.text).toBe(201);
    expect(response.body.idempotency_key).toBe("run 1, attempt 2");
    expect(await countDeployments(api.database.pool, project.project_id)).toBe(1);
  });
});

describe("prototype keys in bodies", () => {
  it.each([
    ["__proto__", '{"env":"production","ci":{"__proto__":{"provider":"x"}}}', "ci.__proto__"],
    ["constructor", '{"env":"production","ci":{"constructor":"x"}}', "ci.constructor"],
    ["prototype", '{"env":"production","ci":{"prototype":1}}', "ci.prototype"],
    ["__proto__ at the top", '{"env":"production","__proto__":{"env":"staging"}}', "__proto__"],
  ])("refuses a %s key in a trigger: 400 validation_error naming the path", async (_label, body, path) => {
    const { project, api: ci } = await newProject(api);
    const response = await ci.trigger(body);
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.errors).toEqual([
      { path, message: expect.stringContaining("not allowed as a field name") },
    ]);
    expect(problem.detail).toContain(path);
    expect(await countDeployments(api.database.pool, project.project_id)).toBe(0);
  });

  it("refuses one deep inside a project's analysis settings", async () => {
    const response = await adminCall(api, "POST", "/admin/projects", {
      body: '{"name":"proto","analysis":{"latency_p95":{"__proto__":{"limit":1}}}}',
    });
    const problem = expectProblem(response, 400, "validation_error");
    expect(problem.errors?.[0]?.path).toBe("analysis.latency_p95.__proto__");
  });

  it("still accepts ordinary CI fields, and shows them back", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production", ci: { provider: "gitlab", proto: "x", build: 7 } });
    expect(created.status, created.text).toBe(201);
    const detail = await ci.get(created.body.deployment_id);
    expect(detail.body.ci).toEqual({ provider: "gitlab", proto: "x", build: 7 });
  });
});

describe("compressed bodies", () => {
  const gzipped = gzipSync(JSON.stringify({ env: "production" }));

  it.each([
    ["gzip", "/deployments/trigger"],
    ["br", "/deployments/trigger"],
    ["deflate", "/deployments/finish"],
    ["GZIP", "/admin/projects"],
  ])("refuses Content-Encoding: %s on %s with 415 naming the encoding", async (encoding, path) => {
    const { project } = await newProject(api);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "content-encoding": encoding,
      "x-api-key": project.api_key,
    };
    if (path === "/admin/projects") headers.authorization = `Bearer ${TEST_ADMIN_TOKEN}`;
    const response = await fetch(`${api.baseUrl}${path}`, {
      method: "POST",
      headers,
      body: gzipped,
    });
    const text = await response.text();
    const problem = expectProblem(
      {
        status: response.status,
        headers: response.headers,
        contentType: response.headers.get("content-type") ?? "",
        text,
        body: JSON.parse(text),
      },
      415,
      "unsupported_media_type",
    );
    expect(problem.detail).toContain(`Content-Encoding: ${encoding.toLowerCase()}`);
    expect(problem.detail).toContain("uncompressed");
    expect(await countDeployments(api.database.pool, project.project_id)).toBe(0);
  });

  it("accepts Content-Encoding: identity", async () => {
    const { project } = await newProject(api);
    const response = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key: project.api_key,
      body: { env: "production" },
      headers: { "content-encoding": "identity" },
    });
    expect(response.status, response.text).toBe(201);
  });
});
