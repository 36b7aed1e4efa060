import { compileErrors, validate } from "@readme/openapi-parser";
import { ListDeploymentsQuery } from "@seqpulse/types";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleRoutes } from "../../server/src/console/routes.js";
import { createLogger } from "../../server/src/logger.js";
import { startTestApi, type TestApi } from "../support/api.js";
import { type ApiResponse, adminCall, call, newProject, PROJECT_ENDPOINT } from "./helpers.js";

interface MediaTypeObject {
  schema?: object;
}
interface ResponseObject {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, MediaTypeObject>;
}
interface OperationObject {
  operationId?: string;
  responses: Record<string, ResponseObject>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OperationObject>>;
}

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

let api: TestApi;
let document: OpenApiDocument;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

beforeAll(async () => {
  api = await startTestApi();
  const response = await call<OpenApiDocument>(api.baseUrl, "GET", "/openapi.json");
  expect(response.status).toBe(200);
  document = response.body;
});
afterAll(async () => api?.close());

/**
 * Asserts that the document declares this response — its status for the operation, its media
 * type — and that the body satisfies the declared schema.
 */
function expectDocumented(method: string, template: string, response: ApiResponse): void {
  const operation = document.paths[template]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is not in the document`).toBeDefined();
  const declared = operation?.responses[String(response.status)];
  expect(declared, `${method} ${template} answered an undocumented ${response.status}`).toBeDefined();
  expect(declared?.headers, "every response documents X-Request-Id").toHaveProperty("X-Request-Id");
  expect(response.headers.get("x-request-id")).toBeTruthy();
  const mediaType = response.contentType.split(";")[0]?.trim() ?? "";
  const content = declared?.content?.[mediaType];
  expect(content, `${method} ${template} → ${response.status} with undocumented ${mediaType}`).toBeDefined();
  if (mediaType.endsWith("json")) {
    const check = ajv.compile(content?.schema ?? {});
    expect(check(response.body) ? [] : check.errors, `${method} ${template} → ${response.status}`).toEqual(
      [],
    );
  }
}

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.info.title).toBe("SeqPulse API");
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? "" : compileErrors(result)).toBe("");
    expect(result.specification).toBe("OpenAPI");
    expect(result.warnings).toEqual([]);
  });

  it("is checked by a validator that does refuse a broken document", async () => {
    const broken = structuredClone(document) as unknown as Record<string, unknown>;
    const paths = broken.paths as Record<string, Record<string, { responses: unknown }>>;
    (paths["/healthz"]?.get as { responses: unknown }).responses = "none";
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it("documents every route the app serves, and nothing it does not", () => {
    const key = (method: string, path: string) =>
      `${method.toLowerCase()} ${path.replaceAll(/:(\w+)/g, "{$1}")}`;
    // The console's pages and forms are for browsers, not part of the REST contract; where one
    // shares a path with an API route (GET /deployments/{id}), the API route is documented.
    const consolePages = new Set(
      consoleRoutes({
        db: api.database.db,
        logger: createLogger("silent"),
        queue: {} as never,
        runningTimeoutSeconds: 3600,
      }).routes.map((route) => key(route.method, route.path)),
    );
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => HTTP_METHODS.has(method))
        .map((method) => `${method} ${path}`),
    );
    const served = new Set(
      api.app.routes
        .filter((route) => route.method !== "ALL")
        .map((route) => key(route.method, route.path))
        .filter((route) => !consolePages.has(route) || documented.includes(route)),
    );
    expect(served.size).toBeGreaterThanOrEqual(11);
    expect(documented.length).toBe(new Set(documented).size);
    expect(documented.sort()).toEqual([...served].sort());
  });

  it("gives each operation an id, and every error response a problem+json schema with its codes", () => {
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(operation.operationId, `${method} ${path}`).toBeTruthy();
        operationIds.add(operation.operationId as string);
        expect(operation.responses, `${method} ${path} documents 500`).toHaveProperty("500");
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          const schema = response.content?.["application/problem+json"]?.schema as
            | { properties: { code: { enum: string[] }; status: { enum: number[] } } }
            | undefined;
          expect(schema, `${method} ${path} → ${status}`).toBeDefined();
          expect(schema?.properties.status.enum).toEqual([Number(status)]);
          expect(schema?.properties.code.enum.length).toBeGreaterThan(0);
        }
      }
    }
    expect(operationIds.size).toBe(
      Object.values(document.paths).reduce((count, item) => count + Object.keys(item).length, 0),
    );
  });

  it("declares the request schemas: body, headers, path and query parameters", () => {
    const trigger = document.paths["/deployments/trigger"]?.post as unknown as {
      requestBody: { required: boolean; content: Record<string, { schema: { required: string[] } }> };
      parameters: Array<{ name: string; in: string }>;
    };
    expect(trigger.requestBody.required).toBe(true);
    expect(trigger.requestBody.content["application/json"]?.schema.required).toEqual(["env"]);
    expect(trigger.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "idempotency-key", in: "header" }),
        expect.objectContaining({ name: "x-idempotency-key", in: "header" }),
      ]),
    );
    const list = document.paths["/deployments"]?.get as unknown as { parameters: Array<{ name: string }> };
    expect(list.parameters.map((parameter) => parameter.name).sort()).toEqual(
      Object.keys(ListDeploymentsQuery.shape).sort(),
    );
    const get = document.paths["/deployments/{id}"]?.get as unknown as {
      parameters: Array<{ name: string; in: string; schema: { format: string } }>;
    };
    expect(get.parameters).toEqual([expect.objectContaining({ name: "id", in: "path", required: true })]);
    expect(get.parameters[0]?.schema.format).toBe("uuid");
  });
});

describe("real responses match the documented ones", () => {
  it("is checked against schemas that do refuse a wrong body", () => {
    const created = document.paths["/deployments/trigger"]?.post?.responses["201"];
    const check = ajv.compile(created?.content?.["application/json"]?.schema ?? {});
    expect(check({ deployment_id: "not-a-uuid", status: "created" })).toBe(false);
  });

  it("admin routes", async () => {
    const created = await adminCall(api, "POST", "/admin/projects", {
      body: { name: `openapi-${Date.now()}`, metrics_endpoint: PROJECT_ENDPOINT, running_conflict: "reject" },
    });
    expect(created.status).toBe(201);
    expectDocumented("POST", "/admin/projects", created);
    expectDocumented("GET", "/admin/projects", await adminCall(api, "GET", "/admin/projects"));
    expectDocumented(
      "POST",
      "/admin/projects",
      await adminCall(api, "POST", "/admin/projects", { body: { name: "" } }),
    );
    expectDocumented(
      "GET",
      "/admin/projects",
      await adminCall(api, "GET", "/admin/projects", { token: "wrong-token" }),
    );
  });

  it("notification destination changes: update, secret rotation and their refusals", async () => {
    const project = await api.createProject();
    const created = await adminCall<{ id: string }>(
      api,
      "POST",
      `/admin/projects/${project.project_id}/destinations`,
      { body: { name: "ops", kind: "webhook", url: "https://hooks.example.test/x", events: ["verdict"] } },
    );
    expect(created.status).toBe(201);
    const path = "/admin/destinations/{destinationId}";
    const at = `/admin/destinations/${created.body.id}`;
    const updated = await adminCall(api, "PATCH", at, { body: { enabled: false, name: "muted" } });
    expect(updated.status).toBe(200);
    expectDocumented("PATCH", path, updated);
    for (const refused of [
      await adminCall(api, "PATCH", at, { body: { kind: "slack" } }),
      await adminCall(api, "PATCH", at, { body: "{" }),
      await adminCall(api, "PATCH", at, { body: { enabled: true }, token: "wrong-token" }),
      await adminCall(api, "PATCH", "/admin/destinations/00000000-0000-4000-8000-000000000000", {
        body: { enabled: true },
      }),
    ])
      expectDocumented("PATCH", path, refused);
    const rotated = await adminCall(api, "POST", `${at}/rotate-secret`);
    expect(rotated.status).toBe(201);
    expectDocumented("POST", `${path}/rotate-secret`, rotated);
  });

  it("trigger: created, replayed, joined, refused", async () => {
    const { api: ci } = await newProject(api, { running_conflict: "reject" });
    const created = await ci.trigger({ env: "production", idempotency_key: "run-1", ci: { run_id: 7 } });
    expect(created.status).toBe(201);
    expectDocumented("POST", "/deployments/trigger", created);
    const replayed = await ci.trigger({ env: "production", idempotency_key: "run-1" });
    expect(replayed.status).toBe(200);
    expectDocumented("POST", "/deployments/trigger", replayed);

    const refusals = [
      await ci.trigger({ env: "production" }), // 409 environment_busy
      await ci.trigger({ env: "production", idempotency_key: "run-1", branch: "other" }), // 422
      await ci.trigger({ env: "no spaces" }), // 400 validation_error
      await ci.trigger("{", {}), // 400 invalid_json
      await call(api.baseUrl, "POST", "/deployments/trigger", { body: { env: "x" } }), // 401
      await call(api.baseUrl, "POST", "/deployments/trigger", {
        key: created.body.deployment_id,
        body: "env=x",
        contentType: "text/plain",
      }), // 401 before the media type
    ];
    expect(refusals.map((response) => response.status)).toEqual([409, 422, 400, 400, 401, 401]);
    for (const response of refusals) expectDocumented("POST", "/deployments/trigger", response);
  });

  it("trigger with an unsupported media type and an oversized body", async () => {
    const { project } = await newProject(api);
    const unsupported = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key: project.api_key,
      body: "env=production",
      contentType: "application/x-www-form-urlencoded",
    });
    expect(unsupported.status).toBe(415);
    expectDocumented("POST", "/deployments/trigger", unsupported);
    const oversized = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key: project.api_key,
      body: JSON.stringify({ env: "production", branch: "b".repeat(70 * 1024) }),
    });
    expect(oversized.status).toBe(413);
    expectDocumented("POST", "/deployments/trigger", oversized);
  });

  it("finish, list and get, with samples, failures and a verdict", async () => {
    const { api: ci } = await newProject(api);
    const created = await ci.trigger({ env: "production" });
    const id = created.body.deployment_id;
    const pool = api.database.pool;
    await pool.query(
      `insert into metric_samples (deployment_id, phase, sequence, collected_at, requests_per_sec, latency_p95, error_rate, cpu_usage, memory_usage)
       values ($1, 'baseline', 0, '2030-01-01T00:00:00Z', 12, 100, 0, 0.4, 0.5)`,
      [id],
    );
    await pool.query(
      `insert into collection_failures (deployment_id, phase, sequence, attempted_at, kind, reason, http_status)
       values ($1, 'post', 1, '2030-01-01T00:01:00Z', 'transient', 'HTTP 503', 503)`,
      [id],
    );
    await pool.query(
      `insert into verdicts (deployment_id, verdict, confidence, summary, reasons, data_quality)
       values ($1, 'ok', 0.9, 'all good', '[]', $2)`,
      [id, JSON.stringify({ score: 1, issues: [] })],
    );

    const accepted = await ci.finish(id);
    expect(accepted.status).toBe(202);
    expectDocumented("POST", "/deployments/finish", accepted);
    const ignored = await ci.finish(id);
    expect(ignored.status).toBe(200);
    expectDocumented("POST", "/deployments/finish", ignored);
    const unknown = await ci.finish("00000000-0000-4000-8000-000000000000");
    expect(unknown.status).toBe(404);
    expectDocumented("POST", "/deployments/finish", unknown);

    const detail = await ci.get(id);
    expect(detail.status).toBe(200);
    expect(detail.body.samples).toHaveLength(1);
    expect(detail.body.collection_failures).toHaveLength(1);
    expect(detail.body.verdict).not.toBeNull();
    expectDocumented("GET", "/deployments/{id}", detail);
    expectDocumented("GET", "/deployments/{id}", await ci.get("not-a-uuid"));

    const list = await ci.list({ limit: 1 });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expectDocumented("GET", "/deployments", list);
    expectDocumented("GET", "/deployments", await ci.list({ limit: 0 }));
  });

  it("health, the document itself and the docs page", async () => {
    expectDocumented("GET", "/healthz", await call(api.baseUrl, "GET", "/healthz"));
    expectDocumented("GET", "/readyz", await call(api.baseUrl, "GET", "/readyz"));
    expectDocumented("GET", "/openapi.json", await call(api.baseUrl, "GET", "/openapi.json"));
    expectDocumented("GET", "/docs", await call(api.baseUrl, "GET", "/docs"));
    expectDocumented("GET", "/docs/{asset}", await call(api.baseUrl, "GET", "/docs/start.js"));
    expectDocumented("GET", "/docs/{asset}", await call(api.baseUrl, "GET", "/docs/swagger-ui.css"));
    expectDocumented("GET", "/docs/{asset}", await call(api.baseUrl, "GET", "/docs/nothing.js"));
  });
});

describe("GET /docs", () => {
  it("serves the reference page and everything it loads from this server", async () => {
    const page = await call(api.baseUrl, "GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.contentType).toMatch(/^text\/html/);
    const policy = page.headers.get("content-security-policy") ?? "";
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'"]) {
      expect(policy).toContain(directive);
    }
    const references = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(references.sort()).toEqual(["docs/start.js", "docs/swagger-ui-bundle.js", "docs/swagger-ui.css"]);
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/ };
    for (const reference of references) {
      const asset = await call(api.baseUrl, "GET", `/${reference}`);
      expect(asset.status, reference).toBe(200);
      expect(asset.contentType).toMatch(types[reference.split(".").at(-1) as string] as RegExp);
      expect(asset.text.length).toBeGreaterThan(100);
    }
    const bundle = await call(api.baseUrl, "GET", "/docs/swagger-ui-bundle.js");
    expect(bundle.text).toContain("SwaggerUIBundle");
    const start = await call(api.baseUrl, "GET", "/docs/start.js");
    expect(start.text).toContain('"openapi.json"');
    expect(start.text).toContain("validatorUrl: null");
  });

  it("answers 404 for a file it does not serve", async () => {
    for (const path of ["/docs/index.html", "/docs/..%2Fpackage.json", "/docs/swagger-ui.js"]) {
      const response = await call(api.baseUrl, "GET", path);
      expect(response.status, path).toBe(404);
      expect((response.body as { code: string }).code).toBe("not_found");
    }
  });
});
