import { createHash, randomUUID } from "node:crypto";
import type {
  CiMetadata,
  Deployment,
  DeploymentDetail,
  DeploymentList,
  DeploymentState,
  FinishResponse,
  ListDeploymentsQuery,
  PipelineResult,
  TriggerResponse,
} from "@seqpulse/types";
import { and, desc, eq, exists, gt, inArray, lt, sql } from "drizzle-orm";
import { unionAll } from "drizzle-orm/pg-core";
import type { PoolClient } from "pg";
import {
  type Database,
  isUniqueViolation,
  type SqlExecutor,
  transactionClient,
  transactionExecutor,
} from "../db/client.js";
import {
  type DeploymentRow,
  deploymentDecisions,
  deploymentKeys,
  deployments,
  verdicts,
} from "../db/schema/index.js";
import { AppError } from "../errors.js";
import type { JobQueue } from "../jobs/queue.js";
import type { AuthenticatedProject as Project } from "../projects/service.js";
import { assertEndpointSampleable, type EndpointPolicy } from "./endpoint-check.js";
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

type TriggeredRow = Pick<
  DeploymentRow,
  "id" | "deploymentNumber" | "env" | "state" | "startedAt" | "idempotencyKey"
>;

export interface TriggerOutcome {
  response: TriggerResponse;
  /** The response replays an earlier request with the same idempotency key. */
  replayed: boolean;
  /** Set when this call created the deployment. */
  created?: TriggeredRow;
}

// Each lost race makes the winner visible, so a few rounds always settle.
const MAX_TRIGGER_ROUNDS = 5;

export async function triggerDeployment({
  db,
  queue,
  project,
  input,
  runningTimeoutSeconds,
  endpointPolicy,
}: {
  db: Database;
  queue: JobQueue;
  project: Project;
  input: TriggerInput;
  runningTimeoutSeconds: number;
  endpointPolicy: EndpointPolicy;
}): Promise<TriggerOutcome> {
  assertEnvAllowed(project, input.env);
  const metricsEndpoint = resolveMetricsEndpoint(project, input.metricsEndpoint);
  const fingerprint = requestFingerprint(input);
  const key = input.idempotencyKey;
  const statements = deploymentStatements(db);
  let endpointChecked = false;

  for (let round = 0; round < MAX_TRIGGER_ROUNDS; round++) {
    // One statement, one snapshot: the deployment the key names, and the one running in the env.
    const found = await statements.triggerLookup.execute({
      projectId: project.id,
      env: input.env,
      key: key ?? null,
      timeoutSeconds: runningTimeoutSeconds,
    });
    const known = found.find((row) => row.kind === "key");
    if (known) return replay(known, input);
    const running = found.find((row) => row.kind === "running");

    if (running?.stale) {
      await abandonStaleRunning({ db, runningTimeoutSeconds, projectId: project.id, env: input.env });
      continue;
    }
    if (running) {
      if (project.runningConflict === "reject") {
        throw new AppError(
          "environment_busy",
          `deployment #${running.deploymentNumber} (${running.id}) is still running in ${input.env}; finish it before triggering another`,
          { deployment_id: running.id, deployment_number: running.deploymentNumber },
        );
      }
      // The joining key becomes an alias of the running deployment, so that its retries and a
      // finish by that key find this deployment, whatever happens to it meanwhile.
      if (key !== undefined && !(await claimAlias(db, project.id, input.env, key, running.id, fingerprint))) {
        continue;
      }
      return { response: toTriggerResponse(running, "existing", "running"), replayed: false };
    }

    if (!endpointChecked) {
      await assertEndpointSampleable(metricsEndpoint, endpointPolicy);
      endpointChecked = true;
    }
    try {
      const deploymentId = randomUUID();
      const created = await db.transaction(async (tx) => {
        const client = transactionClient(tx);
        // The job first: the insert locks the project's counter row, which then stays locked only
        // until the commit that follows it. A create that fails rolls its job back with it.
        await queue.enqueueBaseline(preparingExecutor(client), deploymentId);
        const { rows } = await client.query<CreatedRow>({
          name: "seqpulse_create_deployment",
          text: CREATE_DEPLOYMENT_SQL,
          values: [
            deploymentId,
            project.id,
            input.env,
            key ?? null,
            fingerprint,
            input.branch ?? null,
            input.commitSha ?? null,
            metricsEndpoint,
            input.ci ? JSON.stringify(input.ci) : null,
          ],
        });
        const [row] = rows;
        if (!row) throw new AppError("unauthorized", "the project no longer exists");
        return row;
      });
      const row: TriggeredRow = {
        id: created.id,
        deploymentNumber: created.deployment_number,
        env: created.env,
        state: created.state,
        startedAt: created.started_at,
        idempotencyKey: created.idempotency_key,
      };
      return { response: toTriggerResponse(row, "created"), replayed: false, created: row };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  throw new AppError(
    "service_unavailable",
    "too many concurrent triggers for this environment; retry the request",
  );
}

const statementNames = new Map<string, string>();

/**
 * Runs pg-boss's statements as named ones: the job insert is one fixed text, so PostgreSQL parses
 * and plans it once per connection instead of on every create.
 */
function preparingExecutor(client: PoolClient): SqlExecutor {
  return {
    executeSql: (text, values) => {
      let name = statementNames.get(text);
      if (!name) {
        name = `seqpulse_queue_${createHash("sha256").update(text).digest("hex").slice(0, 16)}`;
        statementNames.set(text, name);
      }
      return client.query({ name, text, values });
    },
  };
}

interface CreatedRow {
  id: string;
  deployment_number: number;
  env: string;
  state: DeploymentState;
  started_at: Date;
  idempotency_key: string | null;
}

/**
 * The create in one statement: the project's counter bump, the deployment (its id chosen by the
 * caller, who queued its baseline job first) and its key's claim. A key or running deployment that
 * won a race fails it with a unique violation.
 */
const CREATE_DEPLOYMENT_SQL = `
with counter as (
  update projects set deployment_counter = deployment_counter + 1 where id = $2
  returning deployment_counter
), created as (
  insert into deployments (id, project_id, deployment_number, env, idempotency_key, request_fingerprint,
                           branch, commit_sha, metrics_endpoint, ci)
  select $1, $2, counter.deployment_counter, $3, $4, $5, $6, $7, $8, $9::jsonb from counter
  returning id, deployment_number, env, state, started_at, idempotency_key
), claimed as (
  insert into deployment_keys (project_id, env, idempotency_key, deployment_id, request_fingerprint)
  select $2, $3, $4, created.id, $5 from created where $4::text is not null
)
select * from created`;

/** Records `key` as an alias of a running deployment; false when the key was claimed first or it stopped running. */
async function claimAlias(
  db: Database,
  projectId: string,
  env: string,
  key: string,
  deploymentId: string,
  fingerprint: string,
): Promise<boolean> {
  const { rows } = await db.execute(sql`
    insert into ${deploymentKeys} (project_id, env, idempotency_key, deployment_id, request_fingerprint)
    select ${projectId}, ${env}, ${key}, ${deploymentId}, ${fingerprint}
    from ${deployments} where id = ${deploymentId} and state = 'running'
    on conflict do nothing
    returning deployment_id`);
  return rows.length === 1;
}

function replay(known: TriggeredRow & { fingerprint: string }, input: TriggerInput): TriggerOutcome {
  if (known.fingerprint !== requestFingerprint(input)) {
    throw new AppError(
      "idempotency_key_reused",
      `idempotency key "${input.idempotencyKey}" was already used for deployment #${known.deploymentNumber} in ${input.env} with a different branch, commit_sha or metrics_endpoint; use a new key for a different deploy`,
      { deployment_id: known.id, deployment_number: known.deploymentNumber },
    );
  }
  return { response: toTriggerResponse(known, "existing", "idempotency_key"), replayed: true };
}

/** The deployment a finish names: by id, or by a key it was triggered or joined with. */
export type DeploymentRef = { deploymentId: string } | { env: string; idempotencyKey: string };

export async function finishDeployment({
  db,
  queue,
  project,
  target,
  result,
  runningTimeoutSeconds,
}: {
  db: Database;
  queue: JobQueue;
  project: Project;
  target: DeploymentRef;
  result: PipelineResult;
  runningTimeoutSeconds: number;
}): Promise<{ response: FinishResponse; finished?: DeploymentRow }> {
  const deploymentId = await resolveDeploymentRef(db, project, target);
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

async function resolveDeploymentRef(db: Database, project: Project, target: DeploymentRef): Promise<string> {
  if ("deploymentId" in target) return target.deploymentId;
  const [row] = await deploymentStatements(db).deploymentByKey.execute({
    projectId: project.id,
    env: target.env,
    key: target.idempotencyKey,
  });
  if (!row) {
    throw new AppError(
      "not_found",
      `no deployment in env "${target.env}" was triggered or joined with idempotency key "${target.idempotencyKey}"`,
    );
  }
  return row.deploymentId;
}

const CANCELLABLE_STATES: DeploymentState[] = ["running", "finished"];

/**
 * Discards a deployment before its analysis: it is never observed and gets no verdict. The update
 * waits on the row lock the analysis holds, so exactly one of them wins. Cancelling again answers
 * the cancelled record unchanged.
 */
export async function cancelDeployment({
  db,
  project,
  deploymentId,
  reason,
  by,
}: {
  db: Database;
  project: Project;
  deploymentId: string;
  reason?: string | undefined;
  by?: string | undefined;
}): Promise<{ deployment: Deployment; cancelled: boolean }> {
  const [row] = await db
    .update(deployments)
    .set({
      state: "cancelled",
      cancelledAt: sql`now()`,
      cancelledBy: by ?? null,
      cancelReason: reason ?? null,
    })
    .where(
      and(
        eq(deployments.id, deploymentId),
        eq(deployments.projectId, project.id),
        inArray(deployments.state, CANCELLABLE_STATES),
      ),
    )
    .returning();
  if (row) return { deployment: toDeployment(row, null), cancelled: true };
  const [current] = await db
    .select({ deployment: deployments, verdict: verdicts })
    .from(deployments)
    .leftJoin(verdicts, eq(verdicts.deploymentId, deployments.id))
    .where(and(eq(deployments.id, deploymentId), eq(deployments.projectId, project.id)));
  if (!current) throw deploymentNotFound(deploymentId);
  if (current.deployment.state === "cancelled") {
    return { deployment: toDeployment(current.deployment, current.verdict), cancelled: false };
  }
  throw new AppError(
    "deployment_not_cancellable",
    `deployment #${current.deployment.deploymentNumber} is ${current.deployment.state}; only a running or finished deployment that has not been analyzed can be cancelled`,
    { deployment_id: current.deployment.id, deployment_number: current.deployment.deploymentNumber },
  );
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
    .select({ deployment: deployments, verdict: verdicts })
    .from(deployments)
    .leftJoin(verdicts, eq(verdicts.deploymentId, deployments.id))
    .where(
      and(
        eq(deployments.projectId, project.id),
        query.env === undefined ? undefined : eq(deployments.env, query.env),
        query.state === undefined ? undefined : eq(deployments.state, query.state),
        query.cursor === undefined ? undefined : lt(deployments.deploymentNumber, Number(query.cursor)),
        query.idempotency_key === undefined
          ? undefined
          : exists(
              db
                .select({ one: sql`1` })
                .from(deploymentKeys)
                .where(
                  and(
                    eq(deploymentKeys.deploymentId, deployments.id),
                    eq(deploymentKeys.idempotencyKey, query.idempotency_key),
                  ),
                ),
            ),
        query.commit_sha === undefined
          ? undefined
          : sql`lower(${deployments.commitSha}) like ${`${query.commit_sha.toLowerCase()}%`}`,
        query.branch === undefined ? undefined : eq(deployments.branch, query.branch),
        query.verdict === undefined ? undefined : eq(verdicts.verdict, query.verdict),
        query.created_after === undefined
          ? undefined
          : gt(deployments.startedAt, new Date(query.created_after)),
      ),
    )
    .orderBy(desc(deployments.deploymentNumber))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => toDeployment(row.deployment, row.verdict)),
    next_cursor: rows.length > query.limit && last ? String(last.deployment.deploymentNumber) : null,
  };
}

type DeploymentStatements = ReturnType<typeof prepareDeploymentStatements>;
const preparedByDatabase = new WeakMap<Database, DeploymentStatements>();

/** The trigger's and finish's lookups, prepared once per database handle (parsed once per connection). */
function prepareDeploymentStatements(db: Database) {
  const triggered = {
    id: deployments.id,
    deploymentNumber: deployments.deploymentNumber,
    env: deployments.env,
    state: deployments.state,
    startedAt: deployments.startedAt,
    idempotencyKey: deployments.idempotencyKey,
  };
  const byKey = db
    .select({
      kind: sql<"key" | "running">`'key'`.as("kind"),
      ...triggered,
      fingerprint: deploymentKeys.requestFingerprint,
      stale: sql<boolean>`false`.as("stale"),
    })
    .from(deploymentKeys)
    .innerJoin(deployments, eq(deployments.id, deploymentKeys.deploymentId))
    .where(
      and(
        eq(deploymentKeys.projectId, sql.placeholder("projectId")),
        eq(deploymentKeys.env, sql.placeholder("env")),
        eq(deploymentKeys.idempotencyKey, sql.placeholder("key")),
      ),
    );
  const runningInEnv = db
    .select({
      kind: sql<"key" | "running">`'running'`.as("kind"),
      ...triggered,
      fingerprint: deployments.requestFingerprint,
      stale:
        sql<boolean>`${deployments.startedAt} < now() - make_interval(secs => ${sql.placeholder("timeoutSeconds")})`.as(
          "stale",
        ),
    })
    .from(deployments)
    .where(
      and(
        eq(deployments.projectId, sql.placeholder("projectId")),
        eq(deployments.env, sql.placeholder("env")),
        eq(deployments.state, "running"),
      ),
    );
  return {
    triggerLookup: unionAll(byKey, runningInEnv).prepare("seqpulse_trigger_lookup"),
    deploymentByKey: db
      .select({ deploymentId: deploymentKeys.deploymentId })
      .from(deploymentKeys)
      .where(
        and(
          eq(deploymentKeys.projectId, sql.placeholder("projectId")),
          eq(deploymentKeys.env, sql.placeholder("env")),
          eq(deploymentKeys.idempotencyKey, sql.placeholder("key")),
        ),
      )
      .prepare("seqpulse_deployment_by_key"),
  };
}

function deploymentStatements(db: Database): DeploymentStatements {
  let statements = preparedByDatabase.get(db);
  if (!statements) {
    statements = prepareDeploymentStatements(db);
    preparedByDatabase.set(db, statements);
  }
  return statements;
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
    // A project read from Prometheus needs no JSON endpoint: the deployment records where it is read.
    if (project.metricsSource) return project.metricsSource.url;
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
