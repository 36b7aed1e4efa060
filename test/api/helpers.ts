import { createHash, randomUUID } from "node:crypto";
import {
  type CreateProjectRequest,
  type CreateProjectResponse,
  type DeploymentDetail,
  type DeploymentList,
  type FinishResponse,
  ProblemDetails,
  type TriggerResponse,
} from "@seqpulse/types";
import type pg from "pg";
import { expect } from "vitest";
import { TEST_ADMIN_TOKEN, type TestApi } from "../support/api.js";

/** What a test needs of a response: status, headers and the body, parsed when it is JSON. */
export interface ApiResponse<Body = unknown> {
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  body: Body;
}

export interface CallOptions {
  /** Sent as X-API-Key unless `auth` says otherwise. */
  key?: string;
  auth?: "x-api-key" | "bearer";
  /** Serialised as JSON unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Content-Type for a body; defaults to application/json. Pass null to send none. */
  contentType?: string | null;
}

export async function call<Body = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse<Body>> {
  const headers = new Headers(options.headers);
  if (options.key !== undefined) {
    if (options.auth === "bearer") headers.set("authorization", `Bearer ${options.key}`);
    else headers.set("x-api-key", options.key);
  }
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    const contentType = options.contentType === undefined ? "application/json" : options.contentType;
    if (contentType !== null && !headers.has("content-type")) headers.set("content-type", contentType);
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: the test sees the text.
  }
  return {
    status: response.status,
    headers: response.headers,
    contentType: response.headers.get("content-type") ?? "",
    text,
    body: parsed as Body,
  };
}

export interface TriggerBody {
  env: string;
  branch?: string | null;
  commit_sha?: string | null;
  metrics_endpoint?: string | null;
  idempotency_key?: string | null;
  ci?: Record<string, unknown> | null;
}

/** A thin client for one project's key. */
export function client(api: TestApi, key: string) {
  const base = api.baseUrl;
  return {
    trigger: (body: TriggerBody | unknown, headers: Record<string, string> = {}) =>
      call<TriggerResponse>(base, "POST", "/deployments/trigger", { key, body, headers }),
    finish: (deploymentId: string, result: string = "success") =>
      call<FinishResponse>(base, "POST", "/deployments/finish", {
        key,
        body: { deployment_id: deploymentId, result },
      }),
    get: (id: string) => call<DeploymentDetail>(base, "GET", `/deployments/${id}`, { key }),
    list: (query: Record<string, string | number | undefined> = {}) => {
      const entries = Object.entries(query).flatMap(
        ([name, value]): Array<[string, string]> => (value === undefined ? [] : [[name, String(value)]]),
      );
      const search = new URLSearchParams(entries).toString();
      return call<DeploymentList>(base, "GET", `/deployments${search ? `?${search}` : ""}`, { key });
    },
  };
}

export type Client = ReturnType<typeof client>;

export async function newProject(
  api: TestApi,
  input: Partial<CreateProjectRequest> = {},
): Promise<{ project: CreateProjectResponse; api: Client }> {
  const project = await api.createProject(input);
  return { project, api: client(api, project.api_key) };
}

export function adminCall<Body = unknown>(
  api: TestApi,
  method: string,
  path: string,
  options: Omit<CallOptions, "key" | "auth"> & { token?: string | null } = {},
) {
  const { token = TEST_ADMIN_TOKEN, ...rest } = options;
  const headers = { ...rest.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return call<Body>(api.baseUrl, method, path, { ...rest, headers });
}

/** Asserts an RFC 9457 problem response with the documented fields, and returns it. */
export function expectProblem(
  response: ApiResponse,
  status: number,
  code: string,
): ProblemDetails & Record<string, unknown> {
  expect(
    { status: response.status, code: (response.body as { code?: string } | undefined)?.code },
    response.text,
  ).toEqual({ status, code });
  expect(response.contentType).toMatch(/^application\/problem\+json/);
  const problem = ProblemDetails.parse(response.body);
  expect(problem.status).toBe(status);
  expect(problem.type).toBe(`https://seqpulse.dev/problems/${code.replaceAll("_", "-")}`);
  expect(problem.title.length).toBeGreaterThan(0);
  expect(problem.detail.length).toBeGreaterThan(0);
  expect(problem.request_id).toBeTruthy();
  expect(problem.request_id).toBe(response.headers.get("x-request-id"));
  if (code === "validation_error") expect(problem.errors?.length).toBeGreaterThan(0);
  // The schema strips the problem's extension members; hand them back too.
  return response.body as ProblemDetails & Record<string, unknown>;
}

/** Queries that must return no rows, whatever happened before. */
export const INVARIANT_QUERIES: Record<string, string> = {
  "one running deployment per project and env":
    "select project_id, env from deployments where state='running' group by 1,2 having count(*)>1",
  "one metric sample per deployment, phase and slot":
    "select deployment_id, phase, collected_at from metric_samples group by 1,2,3 having count(*)>1",
  "one deployment per idempotency key, project and env":
    "select project_id, env, idempotency_key from deployments where idempotency_key is not null group by 1,2,3 having count(*)>1",
  "deployment numbers are unique and gapless per project (1..n)":
    "select project_id from deployments group by 1 having count(distinct deployment_number) <> count(*) or min(deployment_number) <> 1 or max(deployment_number) <> count(*)",
  "the project counter equals its last deployment number":
    "select p.id from projects p left join deployments d on d.project_id = p.id group by p.id, p.deployment_counter having p.deployment_counter <> coalesce(max(d.deployment_number), 0)",
  "finished deployments have a result, a finish time and a duration":
    "select id from deployments where state = 'finished' and (pipeline_result is null or finished_at is null or duration_ms is null or duration_ms < 0)",
  "abandoned deployments say when and why":
    "select id from deployments where state = 'abandoned' and (abandoned_at is null or state_reason is null)",
  "running deployments have no end":
    "select id from deployments where state = 'running' and (finished_at is not null or abandoned_at is not null or pipeline_result is not null)",
};

export async function expectInvariants(pool: pg.Pool): Promise<void> {
  for (const [name, query] of Object.entries(INVARIANT_QUERIES)) {
    const { rows } = await pool.query(query);
    expect(rows, name).toEqual([]);
  }
}

export interface DeploymentSqlRow {
  id: string;
  project_id: string;
  deployment_number: number;
  env: string;
  idempotency_key: string | null;
  request_fingerprint: string;
  branch: string | null;
  commit_sha: string | null;
  metrics_endpoint: string;
  ci: Record<string, unknown> | null;
  state: string;
  state_reason: string | null;
  pipeline_result: string | null;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  abandoned_at: Date | null;
  analyzed_at: Date | null;
}

export async function deploymentRows(pool: pg.Pool, projectId: string): Promise<DeploymentSqlRow[]> {
  const { rows } = await pool.query<DeploymentSqlRow>(
    "select * from deployments where project_id = $1 order by deployment_number",
    [projectId],
  );
  return rows;
}

export async function deploymentRow(pool: pg.Pool, id: string): Promise<DeploymentSqlRow | undefined> {
  const { rows } = await pool.query<DeploymentSqlRow>("select * from deployments where id = $1", [id]);
  return rows[0];
}

export async function countDeployments(pool: pg.Pool, projectId?: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    projectId === undefined
      ? "select count(*)::int as n from deployments"
      : "select count(*)::int as n from deployments where project_id = $1",
    projectId === undefined ? [] : [projectId],
  );
  return rows[0]?.n ?? 0;
}

/** Moves a deployment's start into the past, as if it had been running that long. */
export async function backdate(pool: pg.Pool, deploymentId: string, seconds: number): Promise<void> {
  const { rowCount } = await pool.query(
    "update deployments set started_at = now() - make_interval(secs => $2) where id = $1",
    [deploymentId, seconds],
  );
  expect(rowCount).toBe(1);
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export const uniqueEnv = (prefix = "env") => `${prefix}-${randomUUID().slice(0, 8)}`;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A log sink for `createLogger` that keeps every line. */
export function captureLines(lines: string[]) {
  return (line: string) => {
    lines.push(line);
    return true;
  };
}

export const PROJECT_ENDPOINT = "http://127.0.0.1:9/metrics";
