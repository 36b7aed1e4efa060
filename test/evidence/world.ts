import type { CreateProjectRequest, CreateProjectResponse, DeploymentDetail } from "@seqpulse/types";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  finish,
  getDeployment,
  serverEnv,
  tail,
  trigger,
  waitForAnalyzed,
  waitUntil,
} from "../worker/helpers.js";

/** A real SeqPulse (API and workers in one process) on a database of its own. */
export interface EvidenceWorld {
  database: TestDatabase;
  server: ServerProcess;
  apiUrl: string;
  project(
    input: Partial<CreateProjectRequest> & { metrics_endpoint: string },
  ): Promise<CreateProjectResponse>;
  detail(project: CreateProjectResponse, deploymentId: string): Promise<DeploymentDetail>;
  /**
   * Trigger, wait until `baselineSamples` baseline samples (or a baseline failure) are in, finish,
   * and wait for the verdict.
   */
  deploy(project: CreateProjectResponse, options?: { baselineSamples?: number }): Promise<DeploymentDetail>;
  close(): Promise<void>;
}

export async function startEvidenceWorld(env: Record<string, string> = {}): Promise<EvidenceWorld> {
  const database = await createTestDatabase();
  // Scenarios run side by side, each with its own project.
  const server = await startServerProcess(
    serverEnv(database.url, { SEQPULSE_WORKER_CONCURRENCY: "16", ...env }),
  );
  const apiUrl = apiUrlOf(server);
  const detail = (project: CreateProjectResponse, id: string) => getDeployment(apiUrl, project.api_key, id);
  return {
    database,
    server,
    apiUrl,
    project: (input) => createProject(apiUrl, input),
    detail,
    async deploy(project, { baselineSamples = 1 } = {}) {
      const { deployment_id: id } = await trigger(apiUrl, project.api_key);
      await waitUntil(
        `${baselineSamples} baseline sample(s) of ${id}`,
        async () => {
          const seen = await detail(project, id);
          return (
            seen.samples.filter((sample) => sample.phase === "baseline").length >= baselineSamples ||
            seen.collection_failures.some((failure) => failure.phase === "baseline")
          );
        },
        { timeoutMs: 20_000, context: () => tail(server) },
      );
      await finish(apiUrl, project.api_key, id);
      return waitForAnalyzed(apiUrl, project.api_key, id, { server });
    },
    async close() {
      await server?.stop();
      await database?.close();
    },
  };
}

/** The history rows of a deployment as stored: sequence, span and counts, oldest first. */
export async function historyRows(database: TestDatabase, deploymentId: string) {
  const { rows } = await database.pool.query<{
    sequence: number;
    period_start: Date;
    collected_at: Date;
    requests: string | null;
    errors: string | null;
  }>(
    `select sequence, period_start, collected_at, requests, errors from metric_samples
     where deployment_id = $1 and source = 'history' order by collected_at`,
    [deploymentId],
  );
  return rows.map((row) => ({
    sequence: row.sequence,
    start: row.period_start.toISOString(),
    end: row.collected_at.toISOString(),
    requests: row.requests === null ? null : Number(row.requests),
    errors: row.errors === null ? null : Number(row.errors),
  }));
}

/**
 * Invariants of the evidence on top of the pipeline's (test/worker/helpers.ts): history rows are
 * baseline rows with negative sequences, ended before their trigger and within the project's
 * lookback; samples SeqPulse took have slot sequences from 0; counts never go negative.
 */
export async function evidenceViolations(database: TestDatabase): Promise<string[]> {
  const checks: Record<string, string> = {
    "history row outside the baseline before the trigger": `
      select s.deployment_id, s.sequence, s.collected_at from metric_samples s
      join deployments d on d.id = s.deployment_id join projects p on p.id = d.project_id
      where s.source = 'history' and (s.phase <> 'baseline' or s.sequence >= 0
        or s.collected_at >= d.started_at
        or s.collected_at <= d.started_at - make_interval(secs => p.baseline_lookback_seconds)
        or s.period_start >= s.collected_at)`,
    "sample taken by SeqPulse with a negative sequence": `
      select deployment_id, phase, sequence from metric_samples where source = 'sample' and sequence < 0`,
    "negative counts": `
      select deployment_id, phase, sequence from metric_samples where requests < 0 or errors < 0`,
    "more baseline samples than the project asks for": `
      select s.deployment_id, count(*)::int from metric_samples s
      join deployments d on d.id = s.deployment_id join projects p on p.id = d.project_id
      where s.phase = 'baseline' and s.source = 'sample'
      group by s.deployment_id, p.baseline_samples having count(*) > p.baseline_samples`,
  };
  const violations: string[] = [];
  for (const [name, query] of Object.entries(checks)) {
    const { rows } = await database.pool.query(query);
    if (rows.length > 0) violations.push(`${name}: ${JSON.stringify(rows)}`);
  }
  return violations;
}
