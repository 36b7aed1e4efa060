import { createServer, type Server, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { type StandalonePostgres, startStandalonePostgres } from "../support/standalone-postgres.js";
import {
  apiUrlOf,
  createProject,
  finish,
  invariantViolations,
  serverEnv,
  sleep,
  tail,
  trigger,
  waitForAnalyzed,
  waitForBaselineSettled,
} from "../worker/helpers.js";

/** Short database timeouts, so that a frozen PostgreSQL is noticed within a test's patience. */
const OUTAGE_ENV = {
  SEQPULSE_DB_CONNECT_TIMEOUT_MS: "1000",
  SEQPULSE_DB_STATEMENT_TIMEOUT_MS: "2000",
  SEQPULSE_SWEEP_INTERVAL_SECONDS: "2",
};

interface Answer {
  status: number;
  retryAfter: string | null;
  code: string | undefined;
  ms: number;
}

async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  const body = (await response.json().catch(() => ({}))) as { code?: string };
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    code: body.code,
    ms: Date.now() - started,
  };
}

describe.each(["stopped", "frozen"] as const)(
  "PostgreSQL %s while deployments are in their windows",
  (fault) => {
    let postgres: StandalonePostgres;
    let app: MetricsApp;
    let server: ServerProcess;

    beforeAll(async () => {
      [postgres, app] = await Promise.all([startStandalonePostgres(), startMetricsApp()]);
      server = await startServerProcess(serverEnv(postgres.url, OUTAGE_ENV));
    });
    afterAll(async () => {
      postgres?.thaw();
      await server?.stop();
      await app?.close();
      await postgres?.close();
    });

    it("keeps the process up, answers 503 with Retry-After, and recovers: every finished deployment gets its verdict", async () => {
      const apiUrl = apiUrlOf(server);
      const path = `/healthy-${fault}`;
      app.script(path, [values()]);
      const project = await createProject(apiUrl, {
        metrics_endpoint: app.url(path),
        observation_window_seconds: 4,
        sample_interval_seconds: 1,
      });
      const deployments = [];
      for (const env of ["production", "staging", "qa"]) {
        const triggered = await trigger(apiUrl, project.api_key, env);
        await waitForBaselineSettled(apiUrl, project.api_key, triggered.deployment_id, server);
        deployments.push(triggered.deployment_id);
      }
      // Two windows run into the outage; the third deploy finishes only once the database is back.
      for (const id of deployments.slice(0, 2)) await finish(apiUrl, project.api_key, id);

      if (fault === "stopped") await postgres.stop();
      else postgres.freeze();
      try {
        const read = await request(`${apiUrl}/deployments/${deployments[0]}`, {
          headers: { "x-api-key": project.api_key },
        });
        expect(read).toMatchObject({ status: 503, code: "service_unavailable" });
        expect(Number(read.retryAfter)).toBeGreaterThan(0);

        const triggerDuringOutage = await request(`${apiUrl}/deployments/trigger`, {
          method: "POST",
          headers: { "x-api-key": project.api_key, "content-type": "application/json" },
          body: JSON.stringify({ env: "canary" }),
        });
        expect(triggerDuringOutage).toMatchObject({ status: 503, code: "service_unavailable" });

        const ready = await request(`${apiUrl}/readyz`);
        expect(ready.status).toBe(503);
        expect(ready.ms).toBeLessThan(2_500);

        // The windows' slots come and go while the database is away.
        await sleep(5_000);
        expect(server.child.exitCode, tail(server)).toBeNull();
      } finally {
        if (fault === "stopped") await postgres.start();
        else postgres.thaw();
      }

      const finishedAfter = deployments[2] as string;
      await finish(apiUrl, project.api_key, finishedAfter);
      // Within seconds of recovery. Well under a job's expiry plus pg-boss's maintenance interval
      // (150 s): what a fetch lost to the freeze used to cost, its jobs left active with nobody
      // running them, before fetches ran in their own transaction.
      for (const id of deployments) {
        const detail = await waitForAnalyzed(apiUrl, project.api_key, id, { server, timeoutMs: 90_000 });
        expect(detail.verdict).not.toBeNull();
      }
      expect(server.child.exitCode).toBeNull();
      expect(server.output()).not.toMatch(/unhandled|uncaught/i);
      expect(server.output()).not.toContain('"status":500');

      const pool = new pg.Pool({ connectionString: postgres.url, max: 1 });
      try {
        expect(await invariantViolations(pool)).toEqual([]);
      } finally {
        await pool.end();
      }
    }, 400_000);
  },
);

describe("a database that never answers at start", () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let port = 0;

  beforeAll(async () => {
    // Accepts connections and never says a word, like a firewall that drops the handshake's answer.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
    const address = silent.address();
    port = typeof address === "object" && address ? address.port : 0;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((done) => silent.close(() => done()));
  });

  it("exits non-zero after the bounded wait, naming DATABASE_URL without its password", async () => {
    const started = Date.now();
    const failure = await startServerProcess({
      DATABASE_URL: `postgres://seqpulse:hunter2-secret@127.0.0.1:${port}/seqpulse`,
      SEQPULSE_DB_STARTUP_TIMEOUT_SECONDS: "2",
      SEQPULSE_DB_CONNECT_TIMEOUT_MS: "500",
    }).then(
      async (server) => {
        await server.stop();
        throw new Error("the server started on a database that never answers");
      },
      (error: Error) => error.message,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(failure).toMatch(/exited with 1 before starting/);
    expect(failure).toContain("DATABASE_URL=postgres://seqpulse:***@127.0.0.1");
    expect(failure).toContain("did not answer within 2 s");
    expect(failure).not.toContain("hunter2-secret");
  });
});
