import { createHash } from "node:crypto";
import type {
  CiMetadata,
  Deployment,
  DeploymentDetail,
  DeploymentList,
  FinishResponse,
  ListDeploymentsQuery,
  PipelineResult,
  TriggerResponse,
} from "@seqpulse/types";
import { and, asc, desc, eq, lt, sql } from "drizzle-orm";
import { type Database, isUniqueViolation } from "../db/client.js";
import {
  collectionFailures,
  type DeploymentRow,
  deployments,
  metricSamples,
  type Project,
  projects,
  verdicts,
} from "../db/schema/index.js";
import { AppError } from "../errors.js";
import { toMetricValues } from "../jobs/collect.js";

export interface TriggerInput {
  env: string;
  branch?: string | null | undefined;
  commitSha?: string | null | undefined;
  metricsEndpoint?: string | null | undefined;
  idempotencyKey?: string | undefined;
  ci?: CiMetadata | null | undefined;
}

export interface TriggerOutcome {
  response: TriggerResponse;
  /** The response replays an earlier request with the same idempotency key. */
  replayed: boolean;
  /** Set when this call created the deployment. */
  created?: DeploymentRow;
}

// Each lost race makes the winner visible, so a few rounds always settle.
const MAX_TRIGGER_ROUNDS = 5;

export async function triggerDeployment({
  db,
  project,
  input,
  runningTimeoutSeconds,
}: {
  db: Database;
  project: Project;
  input: TriggerInput;
  runningTimeoutSeconds: number;
}): Promise<TriggerOutcome> {
  assertEnvAllowed(project, input.env);
  const metricsEndpoint = resolveMetricsEndpoint(project, input.metricsEndpoint);
  const fingerprint = requestFingerprint(input);

  for (let round = 0; round < MAX_TRIGGER_ROUNDS; round++) {
    if (input.idempotencyKey !== undefined) {
      const [known] = await db
        .select()
        .from(deployments)
        .where(
          and(
            eq(deployments.projectId, project.id),
            eq(deployments.env, input.env),
            eq(deployments.idempotencyKey, input.idempotencyKey),
          ),
        );
      if (known) return replay(known, input, fingerprint);
    }

    await abandonStaleRunning({ db, runningTimeoutSeconds, projectId: project.id, env: input.env });
    const [running] = await db
      .select()
      .from(deployments)
      .where(
        and(
          eq(deployments.projectId, project.id),
          eq(deployments.env, input.env),
          eq(deployments.state, "running"),
        ),
      );
    if (running) {
      // The key's first attempt committed between the key lookup and here: still a replay.
      if (input.idempotencyKey !== undefined && running.idempotencyKey === input.idempotencyKey) {
        return replay(running, input, fingerprint);
      }
      if (project.runningConflict === "reject") {
        throw new AppError(
          "environment_busy",
          `deployment #${running.deploymentNumber} (${running.id}) is still running in ${input.env}; finish it before triggering another`,
          { deployment_id: running.id, deployment_number: running.deploymentNumber },
        );
      }
      return { response: toTriggerResponse(running, "existing", "running"), replayed: false };
    }

    try {
      const created = await db.transaction(async (tx) => {
        const [counter] = await tx
          .update(projects)
          .set({ deploymentCounter: sql`${projects.deploymentCounter} + 1` })
          .where(eq(projects.id, project.id))
          .returning({ deploymentNumber: projects.deploymentCounter });
        if (!counter) throw new AppError("unauthorized", "the project no longer exists");
        const [row] = await tx
          .insert(deployments)
          .values({
            projectId: project.id,
            deploymentNumber: counter.deploymentNumber,
            env: input.env,
            idempotencyKey: input.idempotencyKey ?? null,
            requestFingerprint: fingerprint,
            branch: input.branch ?? null,
            commitSha: input.commitSha ?? null,
            metricsEndpoint,
            ci: input.ci ?? null,
          })
          .returning();
        return row as DeploymentRow;
      });
      return { response: toTriggerResponse(created, "created"), replayed: false, created };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  throw new AppError(
    "service_unavailable",
    "too many concurrent triggers for this environment; retry the request",
  );
}

function replay(known: DeploymentRow, input: TriggerInput, fingerprint: string): TriggerOutcome {
  if (known.requestFingerprint !== fingerprint) {
    throw new AppError(
      "idempotency_key_reused",
      `idempotency key "${input.idempotencyKey}" was already used for deployment #${known.deploymentNumber} in ${input.env} with a different branch, commit_sha or metrics_endpoint; use a new key for a different deploy`,
      { deployment_id: known.id, deployment_number: known.deploymentNumber },
    );
  }
  return { response: toTriggerResponse(known, "existing", "idempotency_key"), replayed: true };
}

export async function finishDeployment({
  db,
  project,
  deploymentId,
  result,
  runningTimeoutSeconds,
}: {
  db: Database;
  project: Project;
  deploymentId: string;
  result: PipelineResult;
  runningTimeoutSeconds: number;
}): Promise<{ response: FinishResponse; finished?: DeploymentRow }> {
  await abandonStaleRunning({ db, runningTimeoutSeconds, projectId: project.id, deploymentId });
  const [finished] = await db
    .update(deployments)
    .set({
      state: "finished",
      pipelineResult: result,
      finishedAt: sql`now()`,
      durationMs: sql`greatest(0, round(extract(epoch from (now() - ${deployments.startedAt})) * 1000))::int`,
    })
    .where(
      and(
        eq(deployments.id, deploymentId),
        eq(deployments.projectId, project.id),
        eq(deployments.state, "running"),
      ),
    )
    .returning();
  if (finished) {
    return { response: { status: "accepted", deployment_id: finished.id, state: "finished" }, finished };
  }
  const [current] = await db
    .select({ state: deployments.state })
    .from(deployments)
    .where(and(eq(deployments.id, deploymentId), eq(deployments.projectId, project.id)));
  if (!current) throw deploymentNotFound(deploymentId);
  return { response: { status: "ignored", deployment_id: deploymentId, state: current.state } };
}

/**
 * Moves running deployments older than the timeout to `abandoned`, so they stop blocking their
 * environment. Scoped to one environment or deployment when found on a request; global for the sweep.
 */
export async function abandonStaleRunning({
  db,
  runningTimeoutSeconds,
  projectId,
  env,
  deploymentId,
}: {
  db: Database;
  runningTimeoutSeconds: number;
  projectId?: string;
  env?: string;
  deploymentId?: string;
}): Promise<DeploymentRow[]> {
  return db
    .update(deployments)
    .set({ state: "abandoned", abandonedAt: sql`now()`, stateReason: "running_timeout" })
    .where(
      and(
        eq(deployments.state, "running"),
        lt(deployments.startedAt, sql`now() - make_interval(secs => ${runningTimeoutSeconds})`),
        projectId === undefined ? undefined : eq(deployments.projectId, projectId),
        env === undefined ? undefined : eq(deployments.env, env),
        deploymentId === undefined ? undefined : eq(deployments.id, deploymentId),
      ),
    )
    .returning();
}

export async function getDeployment({
  db,
  project,
  deploymentId,
}: {
  db: Database;
  project: Project;
  deploymentId: string;
}): Promise<DeploymentDetail> {
  const [row] = await db
    .select()
    .from(deployments)
    .where(and(eq(deployments.id, deploymentId), eq(deployments.projectId, project.id)));
  if (!row) throw deploymentNotFound(deploymentId);
  const [samples, failures, [verdict]] = await Promise.all([
    db
      .select()
      .from(metricSamples)
      .where(eq(metricSamples.deploymentId, row.id))
      .orderBy(asc(metricSamples.collectedAt), asc(metricSamples.phase)),
    db
      .select()
      .from(collectionFailures)
      .where(eq(collectionFailures.deploymentId, row.id))
      .orderBy(asc(collectionFailures.attemptedAt)),
    db.select().from(verdicts).where(eq(verdicts.deploymentId, row.id)),
  ]);
  return {
    ...toDeployment(row),
    samples: samples.map((sample) => ({
      phase: sample.phase,
      sequence: sample.sequence,
      collected_at: sample.collectedAt.toISOString(),
      metrics: toMetricValues(sample),
    })),
    collection_failures: failures.map((failure) => ({
      phase: failure.phase,
      sequence: failure.sequence,
      attempted_at: failure.attemptedAt.toISOString(),
      kind: failure.kind,
      reason: failure.reason,
      http_status: failure.httpStatus,
    })),
    verdict: verdict
      ? {
          verdict: verdict.verdict,
          confidence: verdict.confidence,
          summary: verdict.summary,
          reasons: verdict.reasons,
          data_quality: verdict.dataQuality,
          created_at: verdict.createdAt.toISOString(),
        }
      : null,
  };
}

export async function listDeployments({
  db,
  project,
  query,
}: {
  db: Database;
  project: Project;
  query: ListDeploymentsQuery;
}): Promise<DeploymentList> {
  const rows = await db
    .select()
    .from(deployments)
    .where(
      and(
        eq(deployments.projectId, project.id),
        query.env === undefined ? undefined : eq(deployments.env, query.env),
        query.state === undefined ? undefined : eq(deployments.state, query.state),
        query.cursor === undefined ? undefined : lt(deployments.deploymentNumber, Number(query.cursor)),
      ),
    )
    .orderBy(desc(deployments.deploymentNumber))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(toDeployment),
    next_cursor: rows.length > query.limit && last ? String(last.deploymentNumber) : null,
  };
}

function assertEnvAllowed(project: Project, env: string): void {
  if (project.envs.length > 0 && !project.envs.includes(env)) {
    throw new AppError(
      "env_not_allowed",
      `env "${env}" is not allowed for this project; allowed: ${project.envs.join(", ")}`,
      { allowed_envs: project.envs },
    );
  }
}

function resolveMetricsEndpoint(project: Project, requested: string | null | undefined): string {
  if (!requested) {
    if (project.metricsEndpoint) return project.metricsEndpoint;
    throw new AppError(
      "metrics_endpoint_required",
      "no metrics_endpoint in the request and none configured for the project; send the URL SeqPulse should sample",
      { errors: [{ path: "metrics_endpoint", message: "required" }] },
    );
  }
  if (project.metricsEndpoint && new URL(requested).origin !== new URL(project.metricsEndpoint).origin) {
    throw new AppError(
      "metrics_endpoint_mismatch",
      `metrics_endpoint must be on ${new URL(project.metricsEndpoint).origin}, the origin configured for this project`,
      {
        errors: [
          { path: "metrics_endpoint", message: `must be on ${new URL(project.metricsEndpoint).origin}` },
        ],
      },
    );
  }
  return requested;
}

/** What a replayed key must match: the parts of the request that define which deploy it is. */
function requestFingerprint(input: TriggerInput): string {
  const parts = [input.branch ?? null, input.commitSha?.toLowerCase() ?? null, input.metricsEndpoint ?? null];
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

function deploymentNotFound(deploymentId: string): AppError {
  return new AppError("not_found", `no deployment ${deploymentId} in this project`);
}

function toTriggerResponse(
  row: DeploymentRow,
  status: TriggerResponse["status"],
  reason?: TriggerResponse["reason"],
): TriggerResponse {
  return {
    deployment_id: row.id,
    deployment_number: row.deploymentNumber,
    status,
    ...(reason ? { reason } : {}),
    env: row.env,
    state: row.state,
    started_at: row.startedAt.toISOString(),
    idempotency_key: row.idempotencyKey,
  };
}

export function toDeployment(row: DeploymentRow): Deployment {
  return {
    id: row.id,
    project_id: row.projectId,
    deployment_number: row.deploymentNumber,
    env: row.env,
    state: row.state,
    state_reason: row.stateReason,
    pipeline_result: row.pipelineResult,
    idempotency_key: row.idempotencyKey,
    branch: row.branch,
    commit_sha: row.commitSha,
    metrics_endpoint: row.metricsEndpoint,
    ci: row.ci,
    started_at: row.startedAt.toISOString(),
    finished_at: row.finishedAt?.toISOString() ?? null,
    duration_ms: row.durationMs,
    abandoned_at: row.abandonedAt?.toISOString() ?? null,
    analyzed_at: row.analyzedAt?.toISOString() ?? null,
  };
}
