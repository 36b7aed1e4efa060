import http from "node:http";
import type { AddressInfo } from "node:net";
import type { CreateProjectResponse, DeploymentDetail } from "@seqpulse/types";
import express from "express";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
// The sources, as the other tests of the SDK import it: its dist/ is a build output, not committed.
import { seqpulseExpress } from "../../packages/sdk/src/express.js";
import { createSeqPulse, type SeqPulseCollector } from "../../packages/sdk/src/index.js";
import { invariantViolations, waitUntil } from "../worker/helpers.js";
import { type EvidenceWorld, evidenceViolations, startEvidenceWorld } from "./world.js";

/**
 * An Express application instrumented with @seqpulse/sdk, under a steady loopback load, verified by
 * a real SeqPulse server process from trigger to verdict: the SDK's counters become the samples'
 * counts, its closed minutes become the baseline, and with HMAC it checks SeqPulse's signatures.
 */
const MINUTE = 60_000;
const REQUESTS_PER_SECOND = 50;
/** One request in this many is answered 500: an error rate of 0.4 %, under the default 1 % limit. */
const ERROR_EVERY = 250;

interface ExpressApp {
  origin: string;
  collector: SeqPulseCollector;
  /** Requests the app answered (not the scrapes), and how many of them were 500. */
  served: { requests: number; errors: number };
  /** At each scrape: what the app had answered until then. */
  scrapes: { requests: number; errors: number; signed: boolean }[];
  close(): Promise<void>;
}

const running: ExpressApp[] = [];
let world: EvidenceWorld;

beforeAll(async () => {
  world = await startEvidenceWorld();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});
afterAll(async () => {
  await world?.close();
});

/**
 * Listens first (the project needs the URL, the SDK the project's secret), then serves Express:
 * `/work` after a few milliseconds, `/fail` with a 500, and the SDK's `/seqpulse-metrics`.
 */
async function startExpressApp(
  setup: (origin: string) => Promise<{ hmacSecret?: string; clock: () => number }>,
): Promise<ExpressApp> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { hmacSecret, clock } = await setup(origin);
  const collector = createSeqPulse({ clock, ...(hmacSecret ? { hmacSecret } : {}) });
  const served = { requests: 0, errors: 0 };
  const scrapes: ExpressApp["scrapes"] = [];

  const app = express();
  app.use((request, response, next) => {
    if (request.path === collector.path) {
      // The SDK answers in this same tick, so its counters cannot move in between.
      scrapes.push({ ...served, signed: request.get("x-seqpulse-signature") !== undefined });
    } else {
      response.on("finish", () => {
        served.requests++;
        if (response.statusCode >= 500) served.errors++;
      });
    }
    next();
  });
  app.use(seqpulseExpress({ collector }));
  app.get("/work", (_request, response) => {
    setTimeout(() => response.send("done"), 2 + Math.random() * 8);
  });
  app.get("/fail", (_request, response) => {
    response.status(500).send("failed");
  });
  server.on("request", app);

  // The load: open loop and drift-free, every 10 ms it sends whatever is due since it started, so a
  // busy machine delays requests but does not drop the rate (a drop would be a real traffic drop).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const loadStart = Date.now();
  let sent = 0;
  const load = setInterval(() => {
    const due = Math.floor(((Date.now() - loadStart) * REQUESTS_PER_SECOND) / 1000);
    for (; sent < due; sent++) {
      const path = (sent + 1) % ERROR_EVERY === 0 ? "/fail" : "/work";
      http.get(`${origin}${path}`, { agent }, (response) => response.resume()).on("error", () => {});
    }
  }, 10);

  return {
    origin,
    collector,
    served,
    scrapes,
    async close() {
      clearInterval(load);
      agent.destroy();
      collector.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A clock `offsetMs` ahead of this one (behind when negative), as on another machine. */
const skewedClock = (offsetMs: number) => () => Date.now() + offsetMs;

/** How far ahead (at least `minMs`) an app clock must be to pass a minute boundary `inMs` from now. */
function aheadToMinuteBoundary(inMs: number, minMs: number): number {
  return minMs + ((MINUTE - ((Date.now() + inMs + minMs) % MINUTE)) % MINUTE);
}

/** How far behind (under a minute) an app clock must be to pass a minute boundary `inMs` from now. */
function behindToMinuteBoundary(inMs: number): number {
  return (Date.now() + inMs) % MINUTE;
}

/** Waits until the SDK has closed a minute, so that its payload carries a history bucket. */
function closedMinute(app: ExpressApp) {
  return waitUntil("a closed minute in the SDK's history", async () => app.collector.snapshot().history[0], {
    timeoutMs: 10_000,
  });
}

/** Checks the post samples' counts against what the app answered between its scrapes. */
function expectCountsFromCounters(detail: DeploymentDetail, app: ExpressApp) {
  const post = detail.samples.filter((sample) => sample.phase === "post");
  expect(post.map((sample) => sample.sequence)).toEqual([1, 2, 3]);
  // One scrape per slot: the trigger's, then one per post sample, none retried.
  expect(app.scrapes).toHaveLength(4);
  post.forEach((sample, index) => {
    const before = app.scrapes[index];
    const after = app.scrapes[index + 1];
    expect(sample.requests).toBe((after?.requests ?? 0) - (before?.requests ?? 0));
    expect(sample.errors).toBe((after?.errors ?? 0) - (before?.errors ?? 0));
    expect(sample.period_start).toBe(
      index === 0 ? detail.samples[0]?.collected_at : post[index - 1]?.collected_at,
    );
    expect(sample.metrics.requests_per_sec).toBeGreaterThan(0);
    expect(sample.metrics.latency_p95).toBeGreaterThan(1);
    expect(sample.metrics.latency_p95).toBeLessThan(300);
    expect(sample.metrics.cpu_usage).toBeGreaterThanOrEqual(0);
    expect(sample.metrics.cpu_usage).toBeLessThanOrEqual(1);
    expect(sample.metrics.memory_usage).toBeGreaterThan(0);
    expect(sample.metrics.memory_usage).toBeLessThanOrEqual(1);
  });
  // A second of traffic or more per sample at 50 a second, even on a loaded machine.
  for (const sample of post) expect(sample.requests).toBeGreaterThan(10);
}

describe("an Express app with @seqpulse/sdk, from trigger to verdict", () => {
  it("gives counts from its counters and its closed minutes as the baseline: ok", async () => {
    let project: CreateProjectResponse | undefined;
    // The app's clock is behind SeqPulse's, on a minute boundary 2 s from now: the minute the app
    // closes then ended before the trigger, and is a baseline observation.
    const app = await startExpressApp(async (origin) => {
      project = await world.project({ metrics_endpoint: `${origin}/seqpulse-metrics` });
      return { clock: skewedClock(-behindToMinuteBoundary(2000)) };
    });
    running.push(app);
    if (!project) throw new Error("no project");
    const closed = await closedMinute(app);

    const detail = await world.deploy(project);
    expect(detail.verdict?.verdict, JSON.stringify(detail.verdict?.reasons)).toBe("ok");
    expect(detail.collection_failures).toEqual([]);
    expectCountsFromCounters(detail, app);

    const history = detail.baseline_observations.filter((one) => one.source === "history");
    expect(history).toEqual([
      {
        source: "history",
        start: new Date(closed.start).toISOString(),
        end: new Date(closed.end).toISOString(),
        requests: closed.requests,
        errors: closed.errors,
        // The metrics of the minute as the app reported them; those it could not measure are null.
        metrics: {
          latency_p95: null,
          error_rate: null,
          cpu_usage: null,
          memory_usage: null,
          ...closed.metrics,
        },
      },
    ]);
    expect(closed.requests).toBeGreaterThan(0);
    expect(detail.baseline_observations.filter((one) => one.source === "sample")).toHaveLength(1);
  });

  describe("with HMAC", () => {
    it("answers SeqPulse's signed requests only, while its clock is ahead and its minute still in the future", async () => {
      let project: CreateProjectResponse | undefined;
      // Ahead by 10 to 70 s: SeqPulse's timestamps look old to the SDK but within its 300 s, and the
      // minute the app closes ends after the trigger by SeqPulse's clock, so it is not baseline.
      const app = await startExpressApp(async (origin) => {
        project = await world.project({ metrics_endpoint: `${origin}/seqpulse-metrics`, hmac_enabled: true });
        return { hmacSecret: project.hmac_secret, clock: skewedClock(aheadToMinuteBoundary(2000, 10_000)) };
      });
      running.push(app);
      if (!project) throw new Error("no project");
      const unsigned = await fetch(`${app.origin}/seqpulse-metrics`);
      expect(unsigned.status).toBe(401);
      expect(await unsigned.json()).toMatchObject({ status: 401, code: expect.any(String) });
      app.scrapes.length = 0;
      await closedMinute(app);

      const detail = await world.deploy(project);
      expect(detail.verdict?.verdict, JSON.stringify(detail.verdict?.reasons)).toBe("ok");
      expect(detail.collection_failures).toEqual([]);
      expect(app.scrapes.every((scrape) => scrape.signed)).toBe(true);
      expectCountsFromCounters(detail, app);
      expect(detail.baseline_observations.map((one) => one.source)).toEqual(["sample"]);
    });

    it("refuses a project signing with another secret: a permanent failure naming the signature", async () => {
      let project: CreateProjectResponse | undefined;
      let other: CreateProjectResponse | undefined;
      const app = await startExpressApp(async (origin) => {
        const input = { metrics_endpoint: `${origin}/seqpulse-metrics`, hmac_enabled: true };
        [project, other] = await Promise.all([world.project(input), world.project(input)]);
        return { hmacSecret: project.hmac_secret, clock: Date.now };
      });
      running.push(app);
      if (!other) throw new Error("no project");
      const detail = await world.deploy(other);
      expect(detail.samples).toEqual([]);
      expect(detail.collection_failures).toHaveLength(4);
      for (const failure of detail.collection_failures) {
        expect(failure).toMatchObject({
          kind: "permanent",
          http_status: 401,
          reason: "Endpoint answered HTTP 401: HMAC signature rejected.",
        });
      }
      expect(app.scrapes).toHaveLength(4);
      expect(detail.verdict?.verdict).not.toBe("ok");
    });
  });

  it("leaves the stored evidence consistent", async () => {
    expect(await invariantViolations(world.database.pool)).toEqual([]);
    expect(await evidenceViolations(world.database)).toEqual([]);
  });
});
