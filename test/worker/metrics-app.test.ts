import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fault,
  HEALTHY,
  MAX_BODY_BYTES,
  METADATA_URL,
  type MetricsApp,
  startMetricsApp,
  status,
  values,
} from "../support/metrics-app.js";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET with node:http: never follows redirects; rejects on timeout. */
function get(url: string, headers: Record<string, string> = {}, timeoutMs = 2000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    request.setTimeout(timeoutMs, () => {
      request.destroy();
      reject(new Error("timeout"));
    });
    request.on("error", reject);
  });
}

function signed(
  secret: string,
  path: string,
  nonce = randomBytes(16).toString("hex"),
): Record<string, string> {
  const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const signature = createHmac("sha256", secret).update(`${timestamp}|GET|${path}|${nonce}`).digest("hex");
  return {
    "X-SeqPulse-Timestamp": timestamp,
    "X-SeqPulse-Nonce": nonce,
    "X-SeqPulse-Signature": `sha256=${signature}`,
    "X-SeqPulse-Signature-Version": "v2",
  };
}

describe("scripted metrics app (test support)", () => {
  let app: MetricsApp;
  beforeAll(async () => {
    app = await startMetricsApp();
  });
  afterAll(async () => app?.close());

  it("plays a path's steps in order, repeats the last one and records every request", async () => {
    app.script("/seq", [status(500), values({ latency_p95: 70 }), values({ latency_p95: 90 })]);
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await get(app.url("/seq?x=1"), { "User-Agent": "probe" }));
    expect(replies.map((r) => r.status)).toEqual([500, 200, 200, 200]);
    expect(replies.slice(1).map((r) => JSON.parse(r.body).metrics.latency_p95)).toEqual([70, 90, 90]);
    const recorded = app.requestsTo("/seq");
    expect(recorded.map((r) => [r.step, r.answer, r.url])).toEqual([
      [0, "status_500", "/seq?x=1"],
      [1, "values", "/seq?x=1"],
      [2, "values", "/seq?x=1"],
      [2, "values", "/seq?x=1"],
    ]);
    expect(recorded[0]?.headers["user-agent"]).toBe("probe");
    expect((await get(app.url("/unscripted"))).status).toBe(404);
  });

  it("serves each fault", async () => {
    app.script("/timeout", [fault("timeout")]);
    await expect(get(app.url("/timeout"), {}, 300)).rejects.toThrow("timeout");

    app.script("/invalid", [fault("invalid_json")]);
    app.script("/nan", [fault("nan")]);
    for (const path of ["/invalid", "/nan"]) {
      const reply = await get(app.url(path));
      expect(reply.status).toBe(200);
      expect(() => JSON.parse(reply.body)).toThrow();
    }
    expect((await get(app.url("/nan"))).body).toContain(":NaN,");

    app.script("/range", [fault("out_of_range")]);
    expect(JSON.parse((await get(app.url("/range"))).body).metrics).toEqual({ ...HEALTHY, error_rate: 1.5 });

    app.script("/big", [fault("oversized")]);
    const big = await get(app.url("/big"));
    expect(big.headers["content-length"]).toBeUndefined();
    expect(Buffer.byteLength(big.body)).toBeGreaterThan(MAX_BODY_BYTES);
    expect(JSON.parse(big.body).metrics).toEqual(HEALTHY);

    app.script("/redirect", [fault("redirect")]);
    const redirect = await get(app.url("/redirect"));
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe(METADATA_URL);
  });

  it("verifies HMAC v2 signatures and refuses bad signatures and reused nonces", async () => {
    const secret = "app-secret-0123456789abcdef";
    app.script("/signed/metrics", [values()], { hmacSecret: secret });
    // Canonical path: a trailing slash and the query string are not signed.
    const headers = signed(secret, "/signed/metrics");
    expect((await get(app.url("/signed/metrics/?a=b"), headers)).status).toBe(200);
    expect((await get(app.url("/signed/metrics"), headers)).status).toBe(401);
    expect((await get(app.url("/signed/metrics"), signed("wrong-secret", "/signed/metrics"))).status).toBe(
      401,
    );
    expect((await get(app.url("/signed/metrics"))).status).toBe(401);
    expect(app.requestsTo("/signed/metrics").map((r) => r.hmacProblem ?? r.answer)).toEqual([
      "values",
      "reused nonce",
      "bad signature",
      "signature version is not v2",
    ]);
  });
});
