import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import PgBoss from "pg-boss";
import { QUEUE_DEFAULTS, QUEUE_SCHEMA, QUEUES } from "../jobs/queue.js";

export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), "../../../drizzle");

// Any constant works; it only has to be the same for every SeqPulse process sharing the database.
const MIGRATION_LOCK_ID = 727_274_001;

/**
 * Applies the committed migrations and installs the job queue's schema and queues; concurrent
 * starts wait for each other on an advisory lock.
 */
export async function runMigrations(url: string): Promise<{ applied: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_ID]);
    const db = drizzle(client);
    const before = await appliedMigrationCount(db);
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    const after = await appliedMigrationCount(db);
    await installQueues(client);
    return { applied: after - before };
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_ID]).catch(() => {});
    await client.end();
  }
}

export function committedMigrationCount(): number {
  const journal = join(MIGRATIONS_FOLDER, "meta/_journal.json");
  if (!existsSync(journal)) return 0;
  return (JSON.parse(readFileSync(journal, "utf8")) as { entries: unknown[] }).entries.length;
}

export async function appliedMigrationCount(db: NodePgDatabase<Record<string, unknown>>): Promise<number> {
  const { rows } = await db.execute<{ present: boolean }>(
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`,
  );
  if (!rows[0]?.present) return 0;
  const applied = await db.execute<{ count: number }>(
    sql`select count(*)::int as count from drizzle.__drizzle_migrations`,
  );
  return Number(applied.rows[0]?.count ?? 0);
}

async function installQueues(client: pg.Client): Promise<void> {
  const boss = new PgBoss({
    db: { executeSql: (text, values) => client.query(text, values) },
    schema: QUEUE_SCHEMA,
    migrate: true,
    supervise: false,
    schedule: false,
  });
  await boss.start();
  const existing = new Set((await boss.getQueues()).map((queue) => queue.name));
  for (const name of QUEUES)
    if (!existing.has(name)) await boss.createQueue(name, { name, ...QUEUE_DEFAULTS });
  await boss.stop({ graceful: false, wait: true });
}
