import type { AddressInfo } from "node:net";
import net from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../server/src/app.js";
import { connectDatabase, type DatabaseHandle, type DatabaseTimeouts } from "../../server/src/db/client.js";
import { READINESS_TIMEOUT_MS } from "../../server/src/health/routes.js";
import { JobQueue } from "../../server/src/jobs/queue.js";
import { createLogger } from "../../server/src/logger.js";
import { TEST_ADMIN_TOKEN } from "../support/api.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { call, captureLines, expectProblem, PROJECT_ENDPOINT, sleep } from "./helpers.js";

/**
 * The HTTP layer during database faults: an app whose pool points at a port where nothing
 * listens, at a server that accepts connections and never answers (PostgreSQL under SIGSTOP),
 * or through a proxy to a real database that can be frozen and thawed.
 */

interface FaultyApi {
  baseUrl: string;
  lines: string[];
  database: DatabaseHandle;
  close(): Promise<void>;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function startApi(url: string, timeouts: DatabaseTimeouts): Promise<FaultyApi> {
  const lines: string[] = [];
  const logger = createLogger("debug", {}, captureLines(lines));
  const database = connectDatabase(url, { max: 4, timeouts });
  const app = createApp({
    db: database.db,
    queue: new JobQueue({ executor: database.executor, pool: database.pool, logger }),
    logger,
    adminToken: TEST_ADMIN_TOKEN,
    runningTimeoutSeconds: 3600,
    // The projects' metrics endpoint is on loopback, as in startTestApi.
    allowPrivateEndpoints: true,
  });
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lines,
    database,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
}

/** An app closed after the test. */
async function startTestScopedApi(url: string, timeouts: DatabaseTimeouts): Promise<FaultyApi> {
  const api = await startApi(url, timeouts);
  closers.push(() => api.close());
  return api;
}

async function createProject(baseUrl: string, name: string): Promise<string> {
  const created = await call<{ api_key: string }>(baseUrl, "POST", "/admin/projects", {
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    body: { name, metrics_endpoint: PROJECT_ENDPOINT },
  });
  expect(created.status, created.text).toBe(201);
  return created.body.api_key;
}

/** A port on loopback where nothing listens: connections are refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP proxy to PostgreSQL that can freeze: while frozen it forwards nothing, like a stopped server. */
async function startFreezableProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const pairs: Array<{ client: net.Socket; upstream: net.Socket }> = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on("error", () => {});
    upstream.on("error", () => {});
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.push({ client, upstream });
    if (frozen) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(target);
  url.port = String((server.address() as AddressInfo).port);
  const proxy = {
    url: url.toString(),
    freeze() {
      frozen = true;
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const { client, upstream } of pairs) {
        client.pipe(upstream);
        upstream.pipe(client);
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  closers.push(() => proxy.close());
  return proxy;
}

/** A server that accepts connections and never says a word. */
async function startSilentServer(): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `postgres://seqpulse:secret-password@127.0.0.1:${(server.address() as AddressInfo).port}/seqpulse`;
}

const logged = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

/** The database-outage log line of a request: one warning, without a stack, for each failed request. */
function expectOutageLogged(lines: string[], requestId: string | null): void {
  const entries = logged(lines).filter((entry) => entry.request_id === requestId);
  const outage = entries.filter((entry) => entry.msg === "database unavailable: answered 503");
  expect(outage).toHaveLength(1);
  expect(outage[0]?.level).toBe("warn");
  expect(outage[0]).not.toHaveProperty("stack");
  expect(entries.filter((entry) => entry.level === "error")).toEqual([]);
}

function expectServiceUnavailable(response: Awaited<ReturnType<typeof call>>): void {
  const problem = expectProblem(response, 503, "service_unavailable");
  expect(problem.detail).toContain("cannot reach its database");
  expect(problem.detail).toContain("DATABASE_URL");
  expect(response.headers.get("retry-after")).toBe("5");
  expect(response.text).not.toMatch(/secret-password|ECONNREFUSED|at .*\.js/);
}

/** Shaped like an API key, so that checking it needs the database. */
const WELL_FORMED_KEY = `sp_${"a".repeat(12)}_${"b".repeat(43)}`;

const FAST_TIMEOUTS: DatabaseTimeouts = { connectMs: 300, statementMs: 300, idleInTransactionMs: 5000 };

describe("a database that refuses connections", () => {
  let api: FaultyApi;
  beforeAll(async () => {
    const url = `postgres://seqpulse:secret-password@127.0.0.1:${await closedPort()}/seqpulse`;
    api = await startApi(url, FAST_TIMEOUTS);
  });
  afterAll(async () => api?.close());

  it.each([
    ["POST", "/deployments/trigger", { key: WELL_FORMED_KEY, body: { env: "production" } }],
    ["GET", "/deployments", { key: WELL_FORMED_KEY }],
    ["GET", "/deployments/00000000-0000-4000-8000-000000000000", { key: WELL_FORMED_KEY }],
  ] as const)(
    "%s %s → 503 service_unavailable with Retry-After, logged once as a warning",
    async (method, path, options) => {
      const response = await call(api.baseUrl, method, path, options);
      expectServiceUnavailable(response);
      expectOutageLogged(api.lines, response.headers.get("x-request-id"));
    },
  );

  it("admin routes → 503 too", async () => {
    const response = await call(api.baseUrl, "GET", "/admin/projects", {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expectServiceUnavailable(response);
    expectOutageLogged(api.lines, response.headers.get("x-request-id"));
  });

  it("/readyz → 503 naming the database, /healthz → 200", async () => {
    const ready = await call(api.baseUrl, "GET", "/readyz");
    expect(expectProblem(ready, 503, "service_unavailable").detail).toBe("database unreachable");
    expect(ready.headers.get("retry-after")).toBe("5");
    expect((await call(api.baseUrl, "GET", "/healthz")).status).toBe(200);
    const readiness = logged(api.lines).filter(
      (entry) => entry.request_id === ready.headers.get("x-request-id"),
    );
    expect(readiness.filter((entry) => entry.level === "error")).toEqual([]);
    expect(
      readiness.find((entry) => entry.msg === "readiness check failed: database unavailable"),
    ).toMatchObject({
      level: "warn",
    });
  });
});

describe("a database that accepts connections and never answers", () => {
  it("answers 503 once the connect timeout passes", async () => {
    const api = await startTestScopedApi(await startSilentServer(), FAST_TIMEOUTS);
    const started = performance.now();
    const response = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key: WELL_FORMED_KEY,
      body: { env: "production" },
    });
    expectServiceUnavailable(response);
    expect(performance.now() - started).toBeLessThan(FAST_TIMEOUTS.connectMs + 1_500);
    expectOutageLogged(api.lines, response.headers.get("x-request-id"));
  });

  it("/readyz answers 503 within its time limit even when connecting takes longer", async () => {
    // Connecting gives up only after the readiness limit.
    const api = await startTestScopedApi(await startSilentServer(), {
      connectMs: READINESS_TIMEOUT_MS + 1_000,
      statementMs: 20_000,
      idleInTransactionMs: 20_000,
    });
    const started = performance.now();
    const responses = await Promise.all([1, 2, 3].map(() => call(api.baseUrl, "GET", "/readyz")));
    const elapsed = performance.now() - started;
    for (const response of responses) {
      expect(expectProblem(response, 503, "service_unavailable").detail).toBe(
        "database did not answer within 2 s",
      );
    }
    expect(elapsed).toBeGreaterThanOrEqual(READINESS_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(READINESS_TIMEOUT_MS + 1_000);
    // The three probes shared one attempt: a frozen database does not collect a connection per probe.
    expect(api.database.pool.totalCount).toBe(1);
  });
});

describe("a database that freezes mid-connection, then recovers", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database?.close());

  it("answers 503 while frozen, /readyz within its limit, and serves again once thawed", async () => {
    const proxy = await startFreezableProxy(new URL(database.url));
    const api = await startTestScopedApi(proxy.url, FAST_TIMEOUTS);
    const key = await createProject(api.baseUrl, "freeze");
    expect((await call(api.baseUrl, "GET", "/readyz")).status).toBe(200);

    proxy.freeze();
    const readyStarted = performance.now();
    const ready = await call(api.baseUrl, "GET", "/readyz");
    expect(expectProblem(ready, 503, "service_unavailable").detail).toBe(
      "database did not answer within 2 s",
    );
    expect(performance.now() - readyStarted).toBeLessThan(READINESS_TIMEOUT_MS + 1_000);

    const frozen = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key,
      body: { env: "production" },
    });
    expectServiceUnavailable(frozen);
    expectOutageLogged(api.lines, frozen.headers.get("x-request-id"));

    proxy.thaw();
    let recovered = await call(api.baseUrl, "POST", "/deployments/trigger", {
      key,
      body: { env: "production" },
    });
    for (let attempt = 0; recovered.status === 503 && attempt < 20; attempt++) {
      await sleep(250);
      recovered = await call(api.baseUrl, "POST", "/deployments/trigger", {
        key,
        body: { env: "production" },
      });
    }
    expect(recovered.status).toBe(201);
    expect((await call(api.baseUrl, "GET", "/readyz")).status).toBe(200);
  });
});

describe("a client that aborts its request mid-body", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database?.close());

  /** Sends the headers and part of the body that Content-Length announces, then hangs up. */
  async function abortMidBody(baseUrl: string, path: string, headers: Record<string, string>): Promise<void> {
    const { hostname, port } = new URL(baseUrl);
    const socket = net.connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const head = Object.entries({ ...headers, "content-type": "application/json", "content-length": "1000" })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.write(`POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\n${head}\r\n{"env": "produ`);
    await sleep(100);
    socket.destroy();
  }

  async function waitForLine(lines: string[], message: string): Promise<Record<string, unknown>> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const entry = logged(lines).find((line) => line.msg === message);
      if (entry) return entry;
      await sleep(50);
    }
    throw new Error(`no log line "${message}" in:\n${lines.join("")}`);
  }

  it.each([
    ["POST /deployments/trigger", "/deployments/trigger", "x-api-key"],
    ["POST /admin/projects", "/admin/projects", "authorization"],
  ])("%s is logged at info as aborted, never as a server error", async (_label, path, header) => {
    const api = await startTestScopedApi(database.url, FAST_TIMEOUTS);
    const key = await createProject(api.baseUrl, `abort-${path}`);
    const credential = header === "x-api-key" ? key : `Bearer ${TEST_ADMIN_TOKEN}`;
    api.lines.length = 0;

    await abortMidBody(api.baseUrl, path, { [header]: credential });
    const aborted = await waitForLine(api.lines, "request aborted by the client before its body arrived");
    expect(aborted.level).toBe("info");
    expect(aborted).not.toHaveProperty("stack");
    const request = await waitForLine(api.lines, "request");
    expect(request).toMatchObject({ level: "info", status: 499, path });
    const entries = logged(api.lines);
    expect(entries.filter((entry) => entry.level === "error" || entry.level === "warn")).toEqual([]);
    expect(entries.filter((entry) => "stack" in entry)).toEqual([]);

    // The server is unharmed.
    expect((await call(api.baseUrl, "GET", "/healthz")).status).toBe(200);
  });
});
