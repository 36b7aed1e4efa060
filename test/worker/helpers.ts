import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type {
  CreateProjectRequest,
  CreateProjectResponse,
  DeploymentDetail,
  FinishResponse,
  TriggerResponse,
} from "@seqpulse/types";
import type pg from "pg";
import type { ServerProcess } from "../support/server-process.js";

export const ADMIN_TOKEN = "worker-e2e-admin-token-0123456789";

/** The version the server reports in its User-Agent. */
export const SERVER_VERSION: string = JSON.parse(
  readFileSync(new URL("../../server/package.json", import.meta.url), "utf8"),
).version;

/** Short timing for every project unless a test says otherwise: 3 post samples, one a second. */
export const FAST_TIMING = {
  observation_window_seconds: 3,
  sample_interval_seconds: 1,
  // One baseline sample: request counts stay the same however long a test takes to finish.
  baseline_samples: 1,
} as const;

export function serverEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    SEQPULSE_ADMIN_TOKEN: ADMIN_TOKEN,
    SEQPULSE_ALLOW_PRIVATE_ENDPOINTS: "true",
    ...extra,
  };
}

export function apiUrlOf(server: ServerProcess): string {
  if (!server.url) throw new Error("this server process does not serve the API");
  return server.url;
}

/** Base URL of the /healthz, /readyz and /metrics of a SEQPULSE_ROLE=worker process. */
export function workerUrlOf(server: ServerProcess): string {
  const line = server
    .output()
    .split("\n")
    .find((entry) => entry.includes('"worker health and metrics listening"'));
  if (!line) throw new Error("this server process is not a worker");
  return (JSON.parse(line) as { url: string }).url;
}

async function call<T>(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  expected: number[],
): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!expected.includes(response.status))
    throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export function createProject(
  apiUrl: string,
  input: Partial<CreateProjectRequest> & { metrics_endpoint: string },
): Promise<CreateProjectResponse> {
  return call(
    "POST",
    `${apiUrl}/admin/projects`,
    { authorization: `Bearer ${ADMIN_TOKEN}` },
    { name: `worker-e2e-${randomUUID()}`, ...FAST_TIMING, ...input },
    [201],
  );
}

export function trigger(apiUrl: string, apiKey: string, env = "production"): Promise<TriggerResponse> {
  return call("POST", `${apiUrl}/deployments/trigger`, { "x-api-key": apiKey }, { env }, [201]);
}

export function finish(apiUrl: string, apiKey: string, deploymentId: string): Promise<FinishResponse> {
  return call(
    "POST",
    `${apiUrl}/deployments/finish`,
    { "x-api-key": apiKey },
    { deployment_id: deploymentId, result: "success" },
    [202],
  );
}

export function getDeployment(
  apiUrl: string,
  apiKey: string,
  deploymentId: string,
): Promise<DeploymentDetail> {
  return call("GET", `${apiUrl}/deployments/${deploymentId}`, { "x-api-key": apiKey }, undefined, [200]);
}

/** [phase, sequence] of samples or failures in slot order (failures are listed by attempt time). */
export function slotsOf(rows: readonly { phase: string; sequence: number }[]): [string, number][] {
  return rows
    .map((row): [string, number] => [row.phase, row.sequence])
    .sort(([phaseA, a], [phaseB, b]) => phaseA.localeCompare(phaseB) || a - b);
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Extra text for the timeout error, e.g. the server's log. */
  context?: () => string;
}

/** Polls `probe` until it returns something other than undefined/false. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 100, context = () => "" }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await sleep(intervalMs);
  }
}

/** Last lines of a server's log, for failure messages. */
export function tail(server: ServerProcess | undefined, lines = 40): string {
  return server ? server.output().trim().split("\n").slice(-lines).join("\n") : "";
}

/** Waits until the baseline slot is settled: a baseline sample or a recorded baseline failure. */
export function waitForBaselineSettled(
  apiUrl: string,
  apiKey: string,
  deploymentId: string,
  server?: ServerProcess,
): Promise<DeploymentDetail> {
  return waitUntil(
    `baseline of ${deploymentId}`,
    async () => {
      const detail = await getDeployment(apiUrl, apiKey, deploymentId);
      const settled =
        detail.samples.some((s) => s.phase === "baseline") ||
        detail.collection_failures.some((f) => f.phase === "baseline");
      return settled && detail;
    },
    { timeoutMs: 15_000, context: () => tail(server) },
  );
}

export function waitForAnalyzed(
  apiUrl: string,
  apiKey: string,
  deploymentId: string,
  { server, timeoutMs = 20_000 }: { server?: ServerProcess; timeoutMs?: number } = {},
): Promise<DeploymentDetail> {
  return waitUntil(
    `verdict of ${deploymentId}`,
    async () => {
      // A poll loop rides out a connection the server closed as it was reused (keep-alive race).
      const detail = await getDeployment(apiUrl, apiKey, deploymentId).catch((error: unknown) => {
        if (error instanceof TypeError && error.message === "fetch failed") return undefined;
        throw error;
      });
      if (!detail) return undefined;
      return (
        detail.state === "analyzed" && detail.verdict !== null && detail.verdict.confidence >= 0 && detail
      );
    },
    { timeoutMs, intervalMs: 200, context: () => tail(server) },
  );
}

export interface Run {
  project: CreateProjectResponse;
  triggered: TriggerResponse;
  detail: DeploymentDetail;
  /** ms from finish to the verdict being visible. */
  finishToVerdictMs: number;
}

/** trigger → baseline settled → finish → verdict, on an existing project. */
export async function runDeployment(
  apiUrl: string,
  project: CreateProjectResponse,
  { server, env }: { server?: ServerProcess; env?: string } = {},
): Promise<Run> {
  const triggered = await trigger(apiUrl, project.api_key, env);
  await waitForBaselineSettled(apiUrl, project.api_key, triggered.deployment_id, server);
  await finish(apiUrl, project.api_key, triggered.deployment_id);
  const finishedAt = Date.now();
  const detail = await waitForAnalyzed(apiUrl, project.api_key, triggered.deployment_id, { server });
  return { project, triggered, detail, finishToVerdictMs: Date.now() - finishedAt };
}

/**
 * Cross-deployment invariants of the worker pipeline, as a list of violations (empty when all hold):
 * exactly one verdict per analyzed deployment and none for others, no duplicate sample or failure
 * slot, no slot that is both a sample and a failure, and no verdict without samples unless it says
 * the data was insufficient.
 */
export async function invariantViolations(pool: pg.Pool): Promise<string[]> {
  const checks: Record<string, string> = {
    "duplicate sample (deployment, phase, collected_at)": `
      select deployment_id, phase, collected_at, count(*)::int as n from metric_samples
      group by 1, 2, 3 having count(*) > 1`,
    "duplicate sample (deployment, phase, sequence)": `
      select deployment_id, phase, sequence, count(*)::int as n from metric_samples
      group by 1, 2, 3 having count(*) > 1`,
    "duplicate failure (deployment, phase, sequence)": `
      select deployment_id, phase, sequence, count(*)::int as n from collection_failures
      group by 1, 2, 3 having count(*) > 1`,
    "slot both sampled and failed": `
      select s.deployment_id, s.phase, s.sequence from metric_samples s
      join collection_failures f using (deployment_id, phase, sequence)`,
    "analyzed deployment without exactly one verdict": `
      select d.id, count(v.deployment_id)::int as verdicts from deployments d
      left join verdicts v on v.deployment_id = d.id
      where d.state = 'analyzed' group by d.id having count(v.deployment_id) <> 1`,
    "verdict on a deployment that is not analyzed": `
      select d.id, d.state from verdicts v join deployments d on d.id = v.deployment_id
      where d.state <> 'analyzed'`,
    "verdict without samples that does not report insufficient_data": `
      select v.deployment_id, v.verdict from verdicts v
      where not exists (select 1 from metric_samples s where s.deployment_id = v.deployment_id)
        and not exists (select 1 from jsonb_array_elements(v.reasons) r
                        where r->>'rule' = 'insufficient_data')`,
    "ok verdict with collection data missing": `
      select v.deployment_id from verdicts v
      where v.verdict = 'ok'
        and not exists (select 1 from metric_samples s
                        where s.deployment_id = v.deployment_id and s.phase = 'baseline')`,
  };
  const violations: string[] = [];
  for (const [name, query] of Object.entries(checks)) {
    const { rows } = await pool.query(query);
    if (rows.length > 0) violations.push(`${name}: ${JSON.stringify(rows)}`);
  }
  return violations;
}
