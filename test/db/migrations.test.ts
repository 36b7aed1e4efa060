import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { committedMigrationCount } from "../../server/src/db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

const run = promisify(execFile);
const REPO_ROOT = resolve(import.meta.dirname, "../..");

describe("committed migrations", () => {
  it("match the Drizzle schema (drizzle-kit finds nothing to generate)", async () => {
    const workDir = await mkdtemp(join(tmpdir(), "seqpulse-drift-"));
    try {
      await cp(join(REPO_ROOT, "drizzle"), join(workDir, "drizzle"), { recursive: true });
      const configPath = join(workDir, "drizzle.config.ts");
      // drizzle-kit resolves both paths against its working directory.
      await writeFile(
        configPath,
        `export default ${JSON.stringify({
          dialect: "postgresql",
          schema: relative(workDir, join(REPO_ROOT, "server/src/db/schema/index.ts")),
          out: "./drizzle",
        })};\n`,
      );
      const before = await readdir(join(workDir, "drizzle"));
      const { stdout } = await run(
        join(REPO_ROOT, "node_modules/.bin/drizzle-kit"),
        ["generate", "--config", configPath],
        {
          cwd: workDir,
        },
      );
      expect(stdout).toContain("No schema changes");
      expect(await readdir(join(workDir, "drizzle"))).toEqual(before);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });

  describe("applied to a database", () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(async () => database?.close());

    it("records every committed migration", async () => {
      const { rows } = await database.pool.query(
        "select count(*)::int as applied from drizzle.__drizzle_migrations",
      );
      expect(rows[0].applied).toBe(committedMigrationCount());
      expect(committedMigrationCount()).toBeGreaterThan(0);
    });

    it("creates the unique indexes that carry the invariants, with their predicates", async () => {
      const { rows } = await database.pool.query<{ indexname: string; indexdef: string }>(
        "select indexname, indexdef from pg_indexes where schemaname = 'public' and indexname like 'uq_%'",
      );
      const definitions = Object.fromEntries(rows.map((row) => [row.indexname, row.indexdef]));
      expect(definitions.uq_running_deployment).toMatch(
        /UNIQUE INDEX uq_running_deployment ON public\.deployments USING btree \(project_id, env\) WHERE \(state = 'running'::text\)/,
      );
      expect(definitions.uq_deployments_idempotency_key).toMatch(
        /UNIQUE INDEX uq_deployments_idempotency_key ON public\.deployments USING btree \(project_id, env, idempotency_key\) WHERE \(idempotency_key IS NOT NULL\)/,
      );
      expect(definitions.uq_metric_sample).toMatch(
        /UNIQUE INDEX uq_metric_sample ON public\.metric_samples USING btree \(deployment_id, phase, collected_at\)$/,
      );
      expect(definitions.uq_deployment_number).toMatch(/\(project_id, deployment_number\)$/);
    });
  });
});
