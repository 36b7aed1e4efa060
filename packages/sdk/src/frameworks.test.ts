import http from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import type { SeqPulseMiddlewareOptions } from "./adapter.js";
import { seqpulseExpress } from "./express.js";
import { seqpulseFastify } from "./fastify.js";
import { seqpulseHono } from "./hono.js";
import { withSeqPulse } from "./node.js";
import type { MetricsPayload } from "./payload.js";
import { signedHeaders } from "./test-support/support.js";

/** A running app with GET /hello (200), GET /boom (handler throws: 500), anything else 404. */
interface RunningApp {
  origin: string;
  close(): Promise<void>;
}

type AppFactory = (options: SeqPulseMiddlewareOptions) => Promise<RunningApp>;

async function listen(server: http.Server): Promise<RunningApp> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const frameworks: Record<string, AppFactory> = {
  "node:http": async (options) => {
    const listener = withSeqPulse((request, response) => {
      const path = request.url?.split("?")[0];
      if (path === "/hello") return void response.end("hi");
      if (path === "/boom") return void response.writeHead(500).end("boom");
      response.writeHead(404).end();
    }, options);
    const app = await listen(http.createServer(listener));
    return { ...app, close: () => app.close().finally(() => listener.collector.close()) };
  },
  express: async (options) => {
    const app = express();
    app.set("env", "test");
    const middleware = seqpulseExpress(options);
    app.use(middleware);
    app.get("/hello", (_request, response) => void response.send("hi"));
    app.get("/boom", () => {
      throw new Error("boom");
    });
    const running = await listen(http.createServer(app));
    return { ...running, close: () => running.close().finally(() => middleware.collector.close()) };
  },
  fastify: async (options) => {
    const app = Fastify();
    await app.register(seqpulseFastify, options);
    app.get("/hello", async () => "hi");
    app.get("/boom", async () => {
      throw new Error("boom");
    });
    const origin = await app.listen({ host: "127.0.0.1", port: 0 });
    return { origin, close: () => app.close() };
  },
  hono: async (options) => {
    const app = new Hono();
    const middleware = seqpulseHono(options);
    app.use(middleware);
    app.get("/hello", (c) => c.text("hi"));
    app.get("/boom", () => {
      throw new Error("boom");
    });
    app.onError((_error, c) => c.text("failed", 500));
    const server = await new Promise<http.Server>((resolve) => {
      const started = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () =>
        resolve(started as http.Server),
      );
    });
    const { port } = server.address() as AddressInfo;
    return {
      origin: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
          middleware.collector.close();
        }),
    };
  },
};

const running: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

async function start(factory: AppFactory, options: SeqPulseMiddlewareOptions = {}): Promise<RunningApp> {
  const app = await factory(options);
  running.push(app);
  return app;
}

async function scrape(origin: string, path = "/seqpulse-metrics"): Promise<MetricsPayload> {
  const response = await fetch(`${origin}${path}`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return (await response.json()) as MetricsPayload;
}

async function get(origin: string, path: string): Promise<number> {
  const response = await fetch(`${origin}${path}`);
  await response.arrayBuffer();
  return response.status;
}

describe.each(Object.entries(frameworks))("%s", (_name, factory) => {
  it("records each request and serves the payload, without counting the metrics requests", async () => {
    const app = await start(factory);
    expect(await get(app.origin, "/hello")).toBe(200);
    expect(await get(app.origin, "/hello")).toBe(200);
    expect(await get(app.origin, "/hello?x=1")).toBe(200);
    expect(await get(app.origin, "/boom")).toBe(500);
    expect(await get(app.origin, "/nowhere")).toBe(404);

    // The last response's bookkeeping may run just after the client has read it.
    await expect
      .poll(async () => (await scrape(app.origin)).counters)
      .toEqual({ requests_total: 5, errors_total: 1 });
    const payload = await scrape(app.origin);
    expect(payload.counters).toEqual({ requests_total: 5, errors_total: 1 });
    expect(payload.metrics.requests_per_sec).toBeGreaterThan(0);
    expect(payload.metrics.error_rate).toBeCloseTo(0.2, 10);
    expect(payload.metrics.latency_p95).toBeGreaterThan(0);
    expect(payload.metrics.latency_p95).toBeLessThan(5000);
    expect(payload.metrics.cpu_usage).toBeGreaterThanOrEqual(0);
    expect(payload.metrics.memory_usage).toBeGreaterThan(0);
    expect(payload.history).toEqual([]);
  });

  it("fills one history bucket per minute of the injected clock", async () => {
    let now = Date.parse("2026-12-01T11:58:00Z");
    const app = await start(factory, { clock: () => now });
    for (const path of ["/hello", "/hello", "/hello", "/boom"]) await get(app.origin, path);
    await expect.poll(async () => (await scrape(app.origin)).counters.requests_total).toBe(4);
    now += 60_000;
    const { history } = await scrape(app.origin);
    expect(history).toEqual([
      {
        start: "2026-12-01T11:58:00Z",
        end: "2026-12-01T11:59:00Z",
        requests: 4,
        errors: 1,
        metrics: expect.objectContaining({ requests_per_sec: 4 / 60, error_rate: 0.25 }),
      },
    ]);
  });

  it("serves a configured path, and leaves the default one to the application", async () => {
    const app = await start(factory, { path: "/internal/metrics" });
    expect(await get(app.origin, "/seqpulse-metrics")).toBe(404);
    const payload = await scrape(app.origin, "/internal/metrics");
    await expect
      .poll(async () => (await scrape(app.origin, "/internal/metrics")).counters.requests_total)
      .toBe(1);
    expect(payload.counters.errors_total).toBe(0);
  });

  it("answers 401 with a JSON reason until the request is signed with the project's secret", async () => {
    const app = await start(factory, { hmacSecret: ["sp_hmac_new", "sp_hmac_old"] });
    const unsigned = await fetch(`${app.origin}/seqpulse-metrics`);
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await unsigned.json()).toMatchObject({ status: 401, code: "signature_missing" });

    const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const headers = signedHeaders({
      secret: "sp_hmac_old",
      path: "/seqpulse-metrics",
      timestamp,
      nonce: "n-1",
    });
    const accepted = await fetch(`${app.origin}/seqpulse-metrics`, { headers });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ counters: { requests_total: 0, errors_total: 0 } });

    const replayed = await fetch(`${app.origin}/seqpulse-metrics`, { headers });
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ code: "nonce_replayed" });
  });
});

describe("express under a mount path", () => {
  it("verifies the signature against the full path SeqPulse requested", async () => {
    const app = express();
    const middleware = seqpulseExpress({ hmacSecret: "sp_hmac_test" });
    app.use("/internal", middleware);
    const server = await listen(http.createServer(app));
    running.push({ ...server, close: () => server.close().finally(() => middleware.collector.close()) });
    const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const headers = signedHeaders({
      secret: "sp_hmac_test",
      path: "/internal/seqpulse-metrics",
      timestamp,
      nonce: "n-1",
    });
    const response = await fetch(`${server.origin}/internal/seqpulse-metrics`, { headers });
    expect(response.status).toBe(200);
  });
});
