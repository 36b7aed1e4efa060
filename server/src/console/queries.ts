import { DeploymentState, EnvName, VerdictValue } from "@seqpulse/types";
import { and, asc, count, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client.js";
import { deploymentDecisions, deployments, projects, verdicts } from "../db/schema/index.js";

export const PAGE_SIZE = 25;

/** The list's filters, from the query string; an empty field means "any". */
export const DeploymentFilters = z.object({
  env: z.preprocess(emptyToUndefined, EnvName.optional()),
  state: z.preprocess(emptyToUndefined, DeploymentState.optional()),
  verdict: z.preprocess(emptyToUndefined, VerdictValue.optional()),
  branch: z.preprocess(emptyToUndefined, z.string().trim().max(255).optional()),
  before: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(2_147_483_647).optional()),
});
export type DeploymentFilters = z.infer<typeof DeploymentFilters>;

function emptyToUndefined(value: unknown): unknown {
  return value === "" ? undefined : value;
}

export async function listFilteredDeployments(db: Database, projectId: string, filters: DeploymentFilters) {
  const rows = await db
    .select({
      deployment: deployments,
      verdict: verdicts.verdict,
      confidence: verdicts.confidence,
      decision: deploymentDecisions.decision,
    })
    .from(deployments)
    .leftJoin(verdicts, eq(verdicts.deploymentId, deployments.id))
    .leftJoin(deploymentDecisions, eq(deploymentDecisions.deploymentId, deployments.id))
    .where(
      and(
        eq(deployments.projectId, projectId),
        filters.env === undefined ? undefined : eq(deployments.env, filters.env),
        filters.state === undefined ? undefined : eq(deployments.state, filters.state),
        filters.verdict === undefined ? undefined : eq(verdicts.verdict, filters.verdict),
        filters.branch === undefined ? undefined : eq(deployments.branch, filters.branch),
        filters.before === undefined ? undefined : lt(deployments.deploymentNumber, filters.before),
      ),
    )
    .orderBy(desc(deployments.deploymentNumber))
    .limit(PAGE_SIZE + 1);
  const page = rows.slice(0, PAGE_SIZE);
  return {
    rows: page,
    nextBefore: rows.length > PAGE_SIZE ? (page.at(-1)?.deployment.deploymentNumber ?? null) : null,
  };
}

/** Environments and branches seen in the project, for the filter form's choices. */
export async function filterChoices(db: Database, projectId: string) {
  const [envs, branches] = await Promise.all([
    db
      .selectDistinct({ env: deployments.env })
      .from(deployments)
      .where(eq(deployments.projectId, projectId))
      .orderBy(asc(deployments.env)),
    db
      .select({ branch: deployments.branch, latest: sql<number>`max(${deployments.deploymentNumber})` })
      .from(deployments)
      .where(and(eq(deployments.projectId, projectId), sql`${deployments.branch} is not null`))
      .groupBy(deployments.branch)
      .orderBy(desc(sql`max(${deployments.deploymentNumber})`))
      .limit(50),
  ]);
  return {
    envs: envs.map((row) => row.env),
    branches: branches.flatMap((row) => (row.branch ? [row.branch] : [])),
  };
}

/** Every project with its deployment count and latest deployment, for the admin's overview. */
export async function projectOverview(db: Database) {
  const latest = db
    .selectDistinctOn([deployments.projectId], {
      projectId: deployments.projectId,
      id: deployments.id,
      number: deployments.deploymentNumber,
      env: deployments.env,
      state: deployments.state,
      startedAt: deployments.startedAt,
      verdict: verdicts.verdict,
    })
    .from(deployments)
    .leftJoin(verdicts, eq(verdicts.deploymentId, deployments.id))
    .orderBy(deployments.projectId, desc(deployments.deploymentNumber))
    .as("latest");
  const counts = db
    .select({
      projectId: deployments.projectId,
      total: count().as("total"),
      running: sql<number>`count(*) filter (where ${deployments.state} = 'running')`.as("running"),
    })
    .from(deployments)
    .groupBy(deployments.projectId)
    .as("counts");
  return db
    .select({
      id: projects.id,
      name: projects.name,
      envs: projects.envs,
      total: counts.total,
      running: counts.running,
      latestId: latest.id,
      latestNumber: latest.number,
      latestEnv: latest.env,
      latestState: latest.state,
      latestStartedAt: latest.startedAt,
      latestVerdict: latest.verdict,
    })
    .from(projects)
    .leftJoin(counts, eq(counts.projectId, projects.id))
    .leftJoin(latest, eq(latest.projectId, projects.id))
    .orderBy(asc(projects.name), asc(projects.id));
}

export async function projectById(db: Database, projectId: string) {
  const [project] = await db.select().from(projects).where(eq(projects.id, projectId));
  return project;
}

/** The project a deployment belongs to, for an admin opening any deployment. */
export async function projectOfDeployment(db: Database, deploymentId: string) {
  const [row] = await db
    .select({ project: projects })
    .from(deployments)
    .innerJoin(projects, eq(projects.id, deployments.projectId))
    .where(eq(deployments.id, deploymentId));
  return row?.project;
}
