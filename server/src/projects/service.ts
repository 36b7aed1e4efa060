import {
  AnalysisSettings,
  type CreateProjectRequest,
  type CreateProjectResponse,
  DEFAULT_ANALYSIS_SETTINGS,
  type DeleteProjectResponse,
  mergeAnalysisSettings,
  metricsSourceView,
  type ProjectSettings,
  type RotateApiKeyResponse,
  type RotateHmacSecretResponse,
  type UpdateProjectRequest,
} from "@seqpulse/types";
import { and, asc, count, eq, gt, sql } from "drizzle-orm";
import { type Database, isUniqueViolation } from "../db/client.js";
import { deployments, type Project, projects } from "../db/schema/index.js";
import { plannedPostSamples } from "../deployments/window.js";
import { AppError } from "../errors.js";
import { generateApiKey, generateHmacSecret, parseApiKeyId, secretMatches } from "./credentials.js";

/** Post samples one observation window may plan; each is a queued job. */
export const MAX_POST_SAMPLES = 720;

export async function createProject({
  db,
  input,
}: {
  db: Database;
  input: CreateProjectRequest;
}): Promise<CreateProjectResponse> {
  const analysis = mergeAnalysisSettings(DEFAULT_ANALYSIS_SETTINGS, input.analysis);
  const window = input.observation_window_seconds ?? 300;
  // By default one sample a minute, or tighter so that a short window still holds enough for a verdict.
  const interval =
    input.sample_interval_seconds ??
    Math.max(1, Math.min(60, Math.floor(window / analysis.min_post_samples)));
  const warmup = input.warmup_seconds ?? 0;
  assertTimingPlansAVerdict({ window, interval, warmup, analysis });
  const { apiKey, apiKeyId, apiKeyHash } = generateApiKey();
  const hmacSecret = generateHmacSecret();
  const [project] = await claimingName(input.name, () =>
    db
      .insert(projects)
      .values({
        name: input.name,
        apiKeyId,
        apiKeyHash,
        hmacSecret,
        hmacEnabled: input.hmac_enabled ?? false,
        envs: [...new Set(input.envs ?? [])],
        metricsEndpoint: input.metrics_endpoint ?? null,
        observationWindowSeconds: window,
        sampleIntervalSeconds: interval,
        warmupSeconds: warmup,
        baselineIntervalSeconds: input.baseline_interval_seconds ?? 15,
        baselineSamples: input.baseline_samples ?? 10,
        baselineLookbackSeconds: input.baseline_lookback_seconds ?? 1800,
        metricsSource: input.metrics_source ?? null,
        retentionDays: input.retention_days ?? null,
        runningConflict: input.running_conflict ?? "join",
        analysis,
      })
      .returning(),
  );
  if (!project) throw new Error("project insert returned no row");
  return { ...toProjectSettings(project), api_key: apiKey, hmac_secret: hmacSecret };
}

/**
 * Applies the fields the request carries, validated against the rest of the project as at creation.
 * Timing changes wait until no deployment is in its observation window: its sample jobs were
 * queued with the old timing.
 */
export async function updateProject({
  db,
  projectId,
  input,
}: {
  db: Database;
  projectId: string;
  input: UpdateProjectRequest;
}): Promise<ProjectSettings> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(projects).where(eq(projects.id, projectId)).for("update");
    if (!current) throw projectNotFound(projectId);
    if (
      input.dry_run !== undefined &&
      input.analysis?.dry_run !== undefined &&
      input.dry_run !== input.analysis.dry_run
    ) {
      throw new AppError("validation_error", "dry_run and analysis.dry_run disagree; send one of them", {
        errors: [{ path: "dry_run", message: "disagrees with analysis.dry_run" }],
      });
    }
    const analysis = mergeAnalysisSettings(storedAnalysis(current.analysis), {
      ...input.analysis,
      ...(input.dry_run === undefined ? {} : { dry_run: input.dry_run }),
    });
    const window = input.observation_window_seconds ?? current.observationWindowSeconds;
    const interval = input.sample_interval_seconds ?? current.sampleIntervalSeconds;
    const warmup = input.warmup_seconds ?? current.warmupSeconds;
    assertTimingPlansAVerdict({ window, interval, warmup, analysis });

    const timingChanged =
      window !== current.observationWindowSeconds ||
      interval !== current.sampleIntervalSeconds ||
      warmup !== current.warmupSeconds;
    if (timingChanged) {
      const [observed] = await tx
        .select({ n: count() })
        .from(deployments)
        .where(and(eq(deployments.projectId, projectId), eq(deployments.state, "finished")));
      if (observed && observed.n > 0) {
        throw new AppError(
          "project_busy",
          `${observed.n} deployment(s) of this project are in their observation window, sampled on the current timing; change observation_window_seconds, sample_interval_seconds or warmup_seconds once they are analyzed`,
        );
      }
    }

    const [updated] = await claimingName(input.name ?? current.name, () =>
      tx
        .update(projects)
        .set({
          name: input.name,
          envs: input.envs === undefined ? undefined : [...new Set(input.envs)],
          metricsEndpoint: input.metrics_endpoint,
          observationWindowSeconds: window,
          sampleIntervalSeconds: interval,
          warmupSeconds: warmup,
          baselineIntervalSeconds: input.baseline_interval_seconds,
          baselineSamples: input.baseline_samples,
          baselineLookbackSeconds: input.baseline_lookback_seconds,
          metricsSource: input.metrics_source,
          retentionDays: input.retention_days,
          hmacEnabled: input.hmac_enabled,
          runningConflict: input.running_conflict,
          analysis,
        })
        .where(eq(projects.id, projectId))
        .returning(),
    );
    if (!updated) throw projectNotFound(projectId);
    return toProjectSettings(updated);
  });
}

/** A new API key, shown once; the replaced one keeps working for `graceSeconds`. */
export async function rotateApiKey({
  db,
  projectId,
  graceSeconds,
}: {
  db: Database;
  projectId: string;
  graceSeconds: number;
}): Promise<RotateApiKeyResponse> {
  const { apiKey, apiKeyId, apiKeyHash } = generateApiKey();
  // On the right of SET, columns are the row's values before the update: the current key becomes the previous.
  const [row] = await db
    .update(projects)
    .set({
      apiKeyId,
      apiKeyHash,
      previousApiKeyId: sql`${projects.apiKeyId}`,
      previousApiKeyHash: sql`${projects.apiKeyHash}`,
      previousApiKeyExpiresAt: sql`now() + make_interval(secs => ${graceSeconds})`,
    })
    .where(eq(projects.id, projectId))
    .returning({ id: projects.id, expiresAt: projects.previousApiKeyExpiresAt });
  if (!row?.expiresAt) throw projectNotFound(projectId);
  return { project_id: row.id, api_key: apiKey, previous_api_key_expires_at: row.expiresAt.toISOString() };
}

/** A new HMAC secret: the collector signs with it at once; endpoints may accept the old one during the grace. */
export async function rotateHmacSecret({
  db,
  projectId,
  graceSeconds,
}: {
  db: Database;
  projectId: string;
  graceSeconds: number;
}): Promise<RotateHmacSecretResponse> {
  const hmacSecret = generateHmacSecret();
  const [row] = await db
    .update(projects)
    .set({
      hmacSecret,
      previousHmacSecret: sql`${projects.hmacSecret}`,
      previousHmacSecretExpiresAt: sql`now() + make_interval(secs => ${graceSeconds})`,
    })
    .where(eq(projects.id, projectId))
    .returning({ id: projects.id, expiresAt: projects.previousHmacSecretExpiresAt });
  if (!row?.expiresAt) throw projectNotFound(projectId);
  return {
    project_id: row.id,
    hmac_secret: hmacSecret,
    previous_hmac_expires_at: row.expiresAt.toISOString(),
  };
}

/** Disabling keeps the project and its data; its keys answer 403 project_disabled until it is enabled. */
export async function setProjectDisabled({
  db,
  projectId,
  disabled,
}: {
  db: Database;
  projectId: string;
  disabled: boolean;
}): Promise<ProjectSettings> {
  const [row] = await db
    .update(projects)
    // Disabling twice keeps the first time.
    .set({ disabledAt: disabled ? sql`coalesce(${projects.disabledAt}, now())` : null })
    .where(eq(projects.id, projectId))
    .returning();
  if (!row) throw projectNotFound(projectId);
  return toProjectSettings(row);
}

/**
 * Deletes the project and, by cascade, its deployments, samples, failures and verdicts. Refused
 * while a deployment runs unless `force`. The project row lock orders it against a trigger, which
 * bumps the project's counter in its insert.
 */
export async function deleteProject({
  db,
  projectId,
  force,
}: {
  db: Database;
  projectId: string;
  force: boolean;
}): Promise<DeleteProjectResponse> {
  return db.transaction(async (tx) => {
    const [project] = await tx
      .select({ id: projects.id, name: projects.name })
      .from(projects)
      .where(eq(projects.id, projectId))
      .for("update");
    if (!project) throw projectNotFound(projectId);
    const [counts] = await tx
      .select({
        total: count(),
        running: sql<number>`count(*) filter (where ${deployments.state} = 'running')`.mapWith(Number),
      })
      .from(deployments)
      .where(eq(deployments.projectId, projectId));
    const running = counts?.running ?? 0;
    if (running > 0 && !force) {
      throw new AppError(
        "project_busy",
        `${running} deployment(s) of project "${project.name}" are running; finish or cancel them first, or delete with force=true (--force) to discard them`,
      );
    }
    await tx.delete(projects).where(eq(projects.id, projectId));
    return { project_id: project.id, name: project.name, deleted_deployments: counts?.total ?? 0 };
  });
}

export async function listProjects({ db }: { db: Database }): Promise<ProjectSettings[]> {
  const rows = await db.select().from(projects).orderBy(asc(projects.createdAt), asc(projects.id));
  return rows.map(toProjectSettings);
}

/** The project a name or id names: the CLI accepts either. */
export async function findProjectId({ db, nameOrId }: { db: Database; nameOrId: string }): Promise<string> {
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(nameOrId);
  const [row] = await db
    .select({ id: projects.id })
    .from(projects)
    .where(byId ? eq(projects.id, nameOrId) : sql`lower(${projects.name}) = lower(${nameOrId})`);
  if (!row) throw new AppError("not_found", `no project named or with id "${nameOrId}"`);
  return row.id;
}

/**
 * What the request path needs of the project an API key authenticates: its settings, without its
 * secrets (decrypted only where they are used). `apiKeyHash` is the hash of the key that matched.
 */
const authenticatedColumns = {
  id: projects.id,
  name: projects.name,
  apiKeyId: projects.apiKeyId,
  envs: projects.envs,
  metricsEndpoint: projects.metricsEndpoint,
  // A project read from Prometheus triggers without a metrics endpoint.
  metricsSource: projects.metricsSource,
  observationWindowSeconds: projects.observationWindowSeconds,
  sampleIntervalSeconds: projects.sampleIntervalSeconds,
  warmupSeconds: projects.warmupSeconds,
  baselineIntervalSeconds: projects.baselineIntervalSeconds,
  runningConflict: projects.runningConflict,
  disabledAt: projects.disabledAt,
};
export type AuthenticatedProject = { [Column in keyof typeof authenticatedColumns]: Project[Column] } & {
  apiKeyHash: string;
};

type ProjectStatements = ReturnType<typeof prepareProjectStatements>;
const preparedByDatabase = new WeakMap<Database, ProjectStatements>();

/** Prepared once per database handle: PostgreSQL parses and plans each only once per connection. */
function prepareProjectStatements(db: Database) {
  return {
    byKeyId: db
      .select({ ...authenticatedColumns, apiKeyHash: projects.apiKeyHash })
      .from(projects)
      .where(eq(projects.apiKeyId, sql.placeholder("keyId")))
      .prepare("seqpulse_project_by_key_id"),
    byPreviousKeyId: db
      .select({ ...authenticatedColumns, apiKeyHash: projects.previousApiKeyHash })
      .from(projects)
      .where(
        and(
          eq(projects.previousApiKeyId, sql.placeholder("keyId")),
          gt(projects.previousApiKeyExpiresAt, sql`now()`),
        ),
      )
      .prepare("seqpulse_project_by_previous_key_id"),
  };
}

function projectStatements(db: Database): ProjectStatements {
  let statements = preparedByDatabase.get(db);
  if (!statements) {
    statements = prepareProjectStatements(db);
    preparedByDatabase.set(db, statements);
  }
  return statements;
}

/**
 * Finds the project an API key belongs to: its current key, or the key replaced by the last
 * rotation while its grace lasts. Undefined for any key that does not match; a disabled project's
 * valid key is refused with 403 project_disabled.
 */
export async function authenticateApiKey({
  db,
  apiKey,
}: {
  db: Database;
  apiKey: string;
}): Promise<AuthenticatedProject | undefined> {
  const apiKeyId = parseApiKeyId(apiKey);
  if (!apiKeyId) return undefined;
  const statements = projectStatements(db);
  const [current] = await statements.byKeyId.execute({ keyId: apiKeyId });
  // Key ids are unique across current and previous keys: only an unknown id can be a previous key.
  const [found] = current ? [current] : await statements.byPreviousKeyId.execute({ keyId: apiKeyId });
  if (!found?.apiKeyHash || !secretMatches(apiKey, found.apiKeyHash)) return undefined;
  const project = { ...found, apiKeyHash: found.apiKeyHash };
  if (project.disabledAt) {
    throw new AppError(
      "project_disabled",
      `project "${project.name}" is disabled; an operator can enable it again (pnpm seqpulse projects enable)`,
    );
  }
  return project;
}

export function toProjectSettings(project: Project): ProjectSettings {
  return {
    project_id: project.id,
    name: project.name,
    envs: project.envs,
    metrics_endpoint: project.metricsEndpoint,
    observation_window_seconds: project.observationWindowSeconds,
    sample_interval_seconds: project.sampleIntervalSeconds,
    warmup_seconds: project.warmupSeconds,
    baseline_interval_seconds: project.baselineIntervalSeconds,
    baseline_samples: project.baselineSamples,
    baseline_lookback_seconds: project.baselineLookbackSeconds,
    metrics_source: project.metricsSource ? metricsSourceView(project.metricsSource) : null,
    retention_days: project.retentionDays,
    hmac_enabled: project.hmacEnabled,
    running_conflict: project.runningConflict,
    analysis: storedAnalysis(project.analysis),
    created_at: project.createdAt.toISOString(),
    disabled_at: project.disabledAt?.toISOString() ?? null,
    previous_api_key_expires_at: stillAhead(project.previousApiKeyExpiresAt),
    previous_hmac_expires_at: stillAhead(project.previousHmacSecretExpiresAt),
  };
}

function stillAhead(instant: Date | null): string | null {
  return instant && instant.getTime() > Date.now() ? instant.toISOString() : null;
}

function assertTimingPlansAVerdict({
  window,
  interval,
  warmup,
  analysis,
}: {
  window: number;
  interval: number;
  warmup: number;
  analysis: AnalysisSettings;
}): void {
  if (interval > window) {
    throw new AppError(
      "validation_error",
      `sample_interval_seconds (${interval}) must not exceed observation_window_seconds (${window})`,
      { errors: [{ path: "sample_interval_seconds", message: `must be at most ${window}` }] },
    );
  }
  const planned = plannedPostSamples({
    observationWindowSeconds: window,
    sampleIntervalSeconds: interval,
    warmupSeconds: warmup,
  });
  if (planned > MAX_POST_SAMPLES) {
    throw new AppError(
      "validation_error",
      `a ${window} s window sampled every ${interval} s plans ${planned} samples; at most ${MAX_POST_SAMPLES} — lengthen sample_interval_seconds`,
      {
        errors: [
          {
            path: "sample_interval_seconds",
            message: `must be at least ${Math.ceil(window / MAX_POST_SAMPLES)}`,
          },
        ],
      },
    );
  }
  if (planned < analysis.min_post_samples) {
    throw new AppError(
      "validation_error",
      `a ${window} s window sampled every ${interval} s plans ${planned} post samples, fewer than the ${analysis.min_post_samples} a verdict needs (analysis.min_post_samples); every verdict would be insufficient_data`,
      {
        errors: [
          {
            path: "sample_interval_seconds",
            message: `must be at most ${Math.floor(window / analysis.min_post_samples)} for a ${window} s window`,
          },
        ],
      },
    );
  }
}

/** Runs a write that may claim `name`; the unique index on lower(name) refuses a taken one. */
async function claimingName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw new AppError(
      "project_name_taken",
      `a project named "${name}" exists already; choose another name`,
      {
        errors: [{ path: "name", message: "is taken" }],
      },
    );
  }
}

function projectNotFound(projectId: string): AppError {
  return new AppError("not_found", `no project ${projectId}`);
}

/** Settings as stored, with the fields added since they were written at their defaults. */
function storedAnalysis(stored: AnalysisSettings): AnalysisSettings {
  return AnalysisSettings.parse(stored);
}
