import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  createSeqPulse,
  type SeqPulseCollector,
  canonicalPath as sdkCanonicalPath,
  withSeqPulse,
} from "../../packages/sdk/src/index.js";
import { fetchMetrics } from "../../server/src/sampling/fetch-metrics.js";
import { canonicalPath as serverCanonicalPath, signRequest } from "../../server/src/sampling/hmac.js";

/**
 * The SDK against the code SeqPulse really scrapes and signs with: the server's fetchMetrics and
 * signRequest, over HTTP on 127.0.0.1.
 */
interface App {
  origin: string;
  seqpulse: SeqPulseCollector;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function startApp(hmacSecret: string | string[]): Promise<App> {
  const seqpulse = createSeqPulse({ hmacSecret });
  const server = http.createServer(
    withSeqPulse((_request, response) => response.end("hi"), { collector: seqpulse }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        seqpulse.close();
      }),
  );
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seqpulse };
}

function scrape(url: string, secret: string, now?: () => Date) {
  return fetchMetrics({
    url,
    timeoutMs: 5000,
    maxBodyBytes: 64 * 1024,
    allowPrivate: true,
    userAgent: "SeqPulse/test",
    hmac: { secret, projectId: "proj-1" },
    ...(now ? { now } : {}),
  });
}

async function signedGet(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as { code?: string } };
}

describe("SeqPulse's collector scraping an SDK endpoint", () => {
  it("signs requests the SDK accepts, and reads metrics and counters from the v2 payload", async () => {
    const app = await startApp("sp_hmac_project");
    for (let i = 0; i < 4; i++) await (await fetch(`${app.origin}/work`)).text();
    const outcome = await scrape(`${app.origin}/seqpulse-metrics`, "sp_hmac_project");
    expect(outcome).toMatchObject({ ok: true, httpStatus: 200 });
    if (!outcome.ok) return;
    expect(outcome.reading.metrics.requests_per_sec).toBeGreaterThan(0);
    expect(outcome.reading.metrics.error_rate).toBe(0);
    expect(outcome.reading.counters).toEqual({ requests_total: 4, errors_total: 0 });
    expect(app.seqpulse.snapshot().counters.requests_total).toBe(4);
  });

  it("is accepted whether the endpoint URL has a trailing slash or a query string", async () => {
    const app = await startApp("sp_hmac_project");
    await (await fetch(`${app.origin}/work`)).text();
    for (const path of ["/seqpulse-metrics/", "/seqpulse-metrics?token=abc"]) {
      expect(await scrape(`${app.origin}${path}`, "sp_hmac_project")).toMatchObject({ ok: true });
    }
  });

  it("is refused with a wrong secret: a permanent failure, as SeqPulse records it", async () => {
    const app = await startApp("sp_hmac_project");
    const outcome = await scrape(`${app.origin}/seqpulse-metrics`, "sp_hmac_other");
    expect(outcome).toMatchObject({ ok: false, kind: "permanent", httpStatus: 401 });
  });

  it("is accepted with the old secret or the new one during a rotation", async () => {
    const app = await startApp(["sp_hmac_new", "sp_hmac_old"]);
    await (await fetch(`${app.origin}/work`)).text();
    expect(await scrape(`${app.origin}/seqpulse-metrics`, "sp_hmac_old")).toMatchObject({ ok: true });
    expect(await scrape(`${app.origin}/seqpulse-metrics`, "sp_hmac_new")).toMatchObject({ ok: true });
    expect(await scrape(`${app.origin}/seqpulse-metrics`, "sp_hmac_retired")).toMatchObject({
      httpStatus: 401,
    });
  });

  it("is refused when SeqPulse's clock is skewed beyond the limits", async () => {
    const app = await startApp("sp_hmac_project");
    const skewed = (seconds: number) => () => new Date(Date.now() + seconds * 1000);
    expect(await scrape(`${app.origin}/seqpulse-metrics`, "sp_hmac_project", skewed(-310))).toMatchObject({
      ok: false,
      httpStatus: 401,
    });
    expect(await scrape(`${app.origin}/seqpulse-metrics`, "sp_hmac_project", skewed(40))).toMatchObject({
      ok: false,
      httpStatus: 401,
    });
  });
});

describe("the server's signRequest headers sent as they are", () => {
  it("are refused when replayed, and the reason says so", async () => {
    const app = await startApp("sp_hmac_project");
    const headers = signRequest({
      secret: "sp_hmac_project",
      method: "GET",
      path: "/seqpulse-metrics",
      projectId: "proj-1",
      now: new Date(),
    });
    expect((await signedGet(`${app.origin}/seqpulse-metrics`, headers)).status).toBe(200);
    expect(await signedGet(`${app.origin}/seqpulse-metrics`, headers)).toEqual({
      status: 401,
      body: expect.objectContaining({ code: "nonce_replayed" }),
    });
  });

  it("are refused on another path than the one signed", async () => {
    const app = await startApp("sp_hmac_project");
    const headers = signRequest({
      secret: "sp_hmac_project",
      method: "GET",
      path: "/other-metrics",
      projectId: "proj-1",
      now: new Date(),
    });
    expect(await signedGet(`${app.origin}/seqpulse-metrics`, headers)).toEqual({
      status: 401,
      body: expect.objectContaining({ code: "path_mismatch" }),
    });
  });
});

describe("canonical paths", () => {
  it("are the same in the SDK and the server", () => {
    for (const path of ["/", "", "//", "/a/b/", "a", "/seqpulse-metrics?x=1", "/m#f", "/x//", "/%2F/"]) {
      expect(sdkCanonicalPath(path)).toBe(serverCanonicalPath(path));
    }
  });
});
