import { createHash } from "node:crypto";
import type {
  CiMetadata,
  DeploymentDetail,
  DeploymentList,
  FinishResponse,
  ListDeploymentsQuery,
  PipelineResult,
  TriggerResponse,
} from "@seqpulse/types";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { type Database, isUniqueViolation, transactionExecutor } from "../db/client.js";
import {
  type DeploymentRow,
  deploymentDecisions,
  deployments,
  type Project,
  projects,
  verdicts,
} from "../db/schema/index.js";
import { AppError } from "../errors.js";
import type { JobQueue } from "../jobs/queue.js";
import { loadEvidence, toDeployment, toDeploymentDetail, toTriggerResponse } from "./store.js";
import { abandonStaleRunning } from "./sweep.js";
import { observationPlan } from "./window.js";

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
  queue,
  project,
  input,
  runningTimeoutSeconds,
}: {
  db: Database;
  queue: JobQueue;
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
        const created = row as DeploymentRow;
        await queue.enqueueBaseline(transactionExecutor(tx), created.id);
        return created;
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
  queue,
  project,
  deploymentId,
  result,
  runningTimeoutSeconds,
}: {
  db: Database;
  queue: JobQueue;
  project: Project;
  deploymentId: string;
  result: PipelineResult;
  runningTimeoutSeconds: number;
}): Promise<{ response: FinishResponse; finished?: DeploymentRow }> {
  await abandonStaleRunning({ db, runningTimeoutSeconds, projectId: project.id, deploymentId });
  const finished = await db.transaction(async (tx) => {
    const [row] = await tx
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
    if (row)
      await queue.enqueueWindow(
        transactionExecutor(tx),
        row.id,
        observationPlan({ deployment: row, project }),
      );
    return row;
  });
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
  const [evidence, [verdict], [decision]] = await Promise.all([
    loadEvidence(db, row.id),
    db.select().from(verdicts).where(eq(verdicts.deploymentId, row.id)),
    db.select().from(deploymentDecisions).where(eq(deploymentDecisions.deploymentId, row.id)),
  ]);
  return toDeploymentDetail(row, evidence, verdict, decision);
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
  // URL parsing lowercases the scheme and host: HTTP://Host/m and http://host/m are one endpoint.
  const endpoint = input.metricsEndpoint ? new URL(input.metricsEndpoint).href : null;
  const parts = [input.branch ?? null, input.commitSha?.toLowerCase() ?? null, endpoint];
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

function deploymentNotFound(deploymentId: string): AppError {
  return new AppError("not_found", `no deployment ${deploymentId} in this project`);
}
