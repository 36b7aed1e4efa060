import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { apiUrlOf, createProject, serverEnv, sleep } from "../worker/helpers.js";

/** Two API processes on one database: the buckets live in PostgreSQL, so the limits hold across both. */
describe("rate limits shared by two API processes", () => {
  let database: TestDatabase;
  let servers: ServerProcess[];
  let urls: string[];

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = serverEnv(database.url, {
      SEQPULSE_ROLE: "api",
      SEQPULSE_RATE_LIMIT_PER_SECOND: "2",
      SEQPULSE_RATE_LIMIT_BURST: "5",
      SEQPULSE_AUTH_FAILURES_PER_MINUTE: "3",
      // The tests speak for several clients through X-Forwarded-For, as a proxy would.
      SEQPULSE_TRUSTED_PROXIES: "1",
    });
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    urls = servers.map(apiUrlOf);
  });
  afterAll(async () => {
    await Promise.all((servers ?? []).map((server) => server.stop()));
    await database?.close();
  });

  const list = (url: string, key: string, client = "203.0.113.10") =>
    fetch(`${url}/deployments`, { headers: { "x-api-key": key, "x-forwarded-for": client } });

  it("a key's burst is spent across both processes, then 429 problem+json with Retry-After, then allowed again", async () => {
    const project = await createProject(urls[0] as string, {
      metrics_endpoint: "http://127.0.0.1:9/metrics",
    });
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let index = 0; index < 10; index++) {
      const response = await list(urls[index % 2] as string, project.api_key);
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else await response.text();
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(4);
    expect(limited?.headers.get("content-type")).toContain("application/problem+json");
    const retryAfter = Number(limited?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(await limited?.json()).toMatchObject({ status: 429, code: "rate_limited" });

    await sleep(retryAfter * 1000 + 100);
    expect((await list(urls[1] as string, project.api_key)).status).toBe(200);
  });

  it("wrong keys from one address: 401 up to the limit, then 429 for every key from that address only", async () => {
    const project = await createProject(urls[0] as string, {
      metrics_endpoint: "http://127.0.0.1:9/metrics",
    });
    const attacker = "198.51.100.7";
    const wrong = `${project.api_key.slice(0, -4)}XXXX`;
    for (let index = 0; index < 3; index++) {
      expect((await list(urls[index % 2] as string, wrong, attacker)).status).toBe(401);
    }
    const blocked = await list(urls[1] as string, wrong, attacker);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Even the right key is refused from that address, so guessing learns nothing.
    expect((await list(urls[0] as string, project.api_key, attacker)).status).toBe(429);
    expect((await list(urls[0] as string, project.api_key, "192.0.2.44")).status).toBe(200);
  });
});

describe("default limits leave well-behaved CI traffic alone", () => {
  let database: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess(serverEnv(database.url, { SEQPULSE_ROLE: "api" }));
  });
  afterAll(async () => {
    await server?.stop();
    await database?.close();
  });

  it("a pipeline's trigger, finish and a minute of verdict polling at 1/s (compressed) never meets a 429", async () => {
    const url = apiUrlOf(server);
    const project = await createProject(url, { metrics_endpoint: "http://127.0.0.1:9/metrics" });
    const headers = { "x-api-key": project.api_key, "content-type": "application/json" };
    const triggered = await fetch(`${url}/deployments/trigger`, {
      method: "POST",
      headers,
      body: JSON.stringify({ env: "production" }),
    });
    expect(triggered.status).toBe(201);
    const { deployment_id: id } = (await triggered.json()) as { deployment_id: string };
    const statuses = new Set<number>([triggered.status]);
    const finish = await fetch(`${url}/deployments/finish`, {
      method: "POST",
      headers,
      body: JSON.stringify({ deployment_id: id, result: "success" }),
    });
    statuses.add(finish.status);
    // Sixty polls ten times faster than a CI's wait loop: still under the 20/s, burst 100 default.
    for (let index = 0; index < 60; index++) {
      const response = await fetch(`${url}/deployments/${id}`, { headers });
      statuses.add(response.status);
      await response.text();
      await sleep(100);
    }
    expect([...statuses].sort()).toEqual([200, 201, 202]);
  });
});
