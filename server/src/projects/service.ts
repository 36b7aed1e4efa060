import {
  type CreateProjectRequest,
  type CreateProjectResponse,
  DEFAULT_ANALYSIS_SETTINGS,
  mergeAnalysisSettings,
  type ProjectSettings,
} from "@seqpulse/types";
import { asc, eq } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type Project, projects } from "../db/schema/index.js";
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
    warmupSeconds: input.warmup_seconds ?? 0,
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
  const { apiKey, apiKeyId, apiKeyHash } = generateApiKey();
  const hmacSecret = generateHmacSecret();
  const [project] = await db
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
      warmupSeconds: input.warmup_seconds ?? 0,
      runningConflict: input.running_conflict ?? "join",
      analysis,
    })
    .returning();
  if (!project) throw new Error("project insert returned no row");
  return { ...toProjectSettings(project), api_key: apiKey, hmac_secret: hmacSecret };
}

export async function listProjects({ db }: { db: Database }): Promise<ProjectSettings[]> {
  const rows = await db.select().from(projects).orderBy(asc(projects.createdAt), asc(projects.id));
  return rows.map(toProjectSettings);
}

/** Finds the project an API key belongs to; undefined for any key that does not match. */
export async function authenticateApiKey({
  db,
  apiKey,
}: {
  db: Database;
  apiKey: string;
}): Promise<Project | undefined> {
  const apiKeyId = parseApiKeyId(apiKey);
  if (!apiKeyId) return undefined;
  const [project] = await db.select().from(projects).where(eq(projects.apiKeyId, apiKeyId));
  if (!project || !secretMatches(apiKey, project.apiKeyHash)) return undefined;
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
    hmac_enabled: project.hmacEnabled,
    running_conflict: project.runningConflict,
    analysis: project.analysis,
    created_at: project.createdAt.toISOString(),
  };
}
