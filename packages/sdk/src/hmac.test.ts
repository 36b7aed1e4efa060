import { describe, expect, it } from "vitest";
import { SeqPulseCollector } from "./collector.js";
import { canonicalPath, SignatureVerifier } from "./hmac.js";
import { fakeClock, headerReader, signedHeaders } from "./test-support/support.js";

const SECRET = "sp_hmac_test_secret";
const SIGNED_AT = "2026-02-10T12:00:00Z";
const PATH = "/seqpulse-metrics";

function verifier(clock = fakeClock(SIGNED_AT), secrets: string[] = [SECRET], maxNonces?: number) {
  return { clock, verifier: new SignatureVerifier({ secrets, clock: clock.now, maxNonces }) };
}

function request(headers: Record<string, string>, url = PATH, method = "GET") {
  return { method, url, header: headerReader(headers) };
}

function signed(overrides: Partial<Parameters<typeof signedHeaders>[0]> = {}) {
  return signedHeaders({
    secret: SECRET,
    path: PATH,
    timestamp: SIGNED_AT,
    nonce: "n0nce-123",
    ...overrides,
  });
}

describe("the contract's test vector", () => {
  it("is accepted: secret sp_hmac_test_secret, GET /seqpulse-metrics/, nonce n0nce-123", () => {
    const headers = {
      "x-seqpulse-timestamp": "2026-02-10T12:00:00Z",
      "x-seqpulse-nonce": "n0nce-123",
      "x-seqpulse-signature": "sha256=d00baa9b6f9a65653e57c334e66684569a38d90f3f722a729f4ac014d2e2c494",
      "x-seqpulse-signature-version": "v2",
      "x-seqpulse-canonical-path": "/seqpulse-metrics",
      "x-seqpulse-method": "GET",
      "x-seqpulse-nonce-ttl": "330",
      "x-seqpulse-project-id": "proj-1",
    };
    expect(verifier().verifier.verify(request(headers, "/seqpulse-metrics/"))).toEqual({ ok: true });
    expect(signed()["x-seqpulse-signature"]).toBe(headers["x-seqpulse-signature"]);
  });
});

describe("canonicalPath", () => {
  it.each([
    ["/", "/"],
    ["", "/"],
    ["//", "/"],
    ["/seqpulse-metrics/", "/seqpulse-metrics"],
    ["seqpulse-metrics", "/seqpulse-metrics"],
    ["/a/b/", "/a/b"],
    ["/metrics?token=x", "/metrics"],
    ["/metrics#top", "/metrics"],
  ])("%j -> %j", (input, expected) => {
    expect(canonicalPath(input)).toBe(expected);
  });
});

describe("timestamp skew", () => {
  it("accepts up to 300 s in the past and refuses beyond", () => {
    const clock = fakeClock("2026-02-10T12:05:00Z");
    expect(verifier(clock).verifier.verify(request(signed()))).toEqual({ ok: true });
    clock.advance(1000);
    expect(verifier(clock).verifier.verify(request(signed()))).toMatchObject({
      ok: false,
      code: "timestamp_too_old",
      detail: expect.stringContaining("301 s in the past"),
    });
  });

  it("accepts up to 30 s in the future and refuses beyond", () => {
    const clock = fakeClock("2026-02-10T11:59:30Z");
    expect(verifier(clock).verifier.verify(request(signed()))).toEqual({ ok: true });
    clock.advance(-1000);
    expect(verifier(clock).verifier.verify(request(signed()))).toMatchObject({
      ok: false,
      code: "timestamp_in_future",
    });
  });

  it("refuses a timestamp that is not UTC seconds", () => {
    for (const timestamp of [
      "2026-02-10T12:00:00.000Z",
      "2026-02-10T13:00:00+01:00",
      "1770724800",
      "2026-02-30T25:00:00Z",
    ]) {
      expect(verifier().verifier.verify(request(signed({ timestamp })))).toMatchObject({
        ok: false,
        code: "timestamp_invalid",
      });
    }
  });
});

describe("replays", () => {
  it("refuses a nonce seen within its 330 s TTL, and forgets it after", () => {
    const { clock, verifier: check } = verifier();
    expect(check.verify(request(signed()))).toEqual({ ok: true });
    expect(check.verify(request(signed()))).toMatchObject({ ok: false, code: "nonce_replayed" });
    clock.advance(329_000);
    const resigned = signed({ timestamp: "2026-02-10T12:05:29Z" });
    expect(check.verify(request(resigned))).toMatchObject({ ok: false, code: "nonce_replayed" });
    clock.advance(2000);
    expect(check.verify(request(signed({ timestamp: "2026-02-10T12:05:31Z" })))).toEqual({ ok: true });
  });

  it("does not remember nonces of requests that failed verification", () => {
    const { verifier: check } = verifier();
    expect(check.verify(request(signed({ secret: "wrong" })))).toMatchObject({ code: "signature_invalid" });
    expect(check.verify(request(signed()))).toEqual({ ok: true });
  });

  it("refuses rather than forgets when the nonce cache is full", () => {
    const { clock, verifier: check } = verifier(undefined, [SECRET], 2);
    expect(check.verify(request(signed({ nonce: "a" })))).toEqual({ ok: true });
    expect(check.verify(request(signed({ nonce: "b" })))).toEqual({ ok: true });
    expect(check.verify(request(signed({ nonce: "c" })))).toMatchObject({ code: "nonce_cache_full" });
    clock.advance(331_000);
    expect(check.verify(request(signed({ nonce: "c", timestamp: "2026-02-10T12:05:31Z" })))).toEqual({
      ok: true,
    });
  });
});

describe("what was signed", () => {
  it("refuses a signature made for another path", () => {
    const forOther = signed({ path: "/other" });
    expect(verifier().verifier.verify(request(forOther))).toMatchObject({ code: "path_mismatch" });
    const { "x-seqpulse-canonical-path": _, ...withoutPathHeader } = forOther;
    expect(verifier().verifier.verify(request(withoutPathHeader))).toMatchObject({
      code: "signature_invalid",
    });
  });

  it("refuses a signature made for another method", () => {
    expect(verifier().verifier.verify(request(signed(), PATH, "POST"))).toMatchObject({
      code: "method_mismatch",
    });
    const { "x-seqpulse-method": _, ...withoutMethodHeader } = signed();
    expect(verifier().verifier.verify(request(withoutMethodHeader, PATH, "POST"))).toMatchObject({
      code: "signature_invalid",
    });
  });

  it("refuses a wrong secret, a tampered nonce and a malformed signature", () => {
    expect(verifier().verifier.verify(request(signed({ secret: "other" })))).toMatchObject({
      code: "signature_invalid",
    });
    const tampered = { ...signed(), "x-seqpulse-nonce": "n0nce-124" };
    expect(verifier().verifier.verify(request(tampered))).toMatchObject({ code: "signature_invalid" });
    for (const signature of [
      "sha256=zz",
      "d00baa9b6f9a65653e57c334e66684569a38d90f3f722a729f4ac014d2e2c494",
      "",
    ]) {
      expect(
        verifier().verifier.verify(request({ ...signed(), "x-seqpulse-signature": signature })),
      ).toMatchObject({
        code: "signature_invalid",
      });
    }
  });

  it("accepts an upper-case hex digest", () => {
    const headers = signed();
    headers["x-seqpulse-signature"] = `sha256=${headers["x-seqpulse-signature"]?.slice(7).toUpperCase()}`;
    expect(verifier().verifier.verify(request(headers))).toEqual({ ok: true });
  });

  it("refuses another signature version", () => {
    const headers = { ...signed(), "x-seqpulse-signature-version": "v1" };
    expect(verifier().verifier.verify(request(headers))).toMatchObject({
      code: "signature_version_unsupported",
    });
  });
});

describe("missing headers", () => {
  it.each(["x-seqpulse-timestamp", "x-seqpulse-nonce", "x-seqpulse-signature"])(
    "refuses without %s",
    (name) => {
      const headers: Record<string, string> = signed();
      delete headers[name];
      expect(verifier().verifier.verify(request(headers))).toMatchObject({
        ok: false,
        code: "signature_missing",
        detail: expect.stringMatching(new RegExp(name.slice(2), "i")),
      });
    },
  );

  it("refuses an empty or oversized nonce", () => {
    for (const nonce of ["", "n".repeat(257)]) {
      expect(verifier().verifier.verify(request(signed({ nonce })))).toMatchObject({ code: "nonce_invalid" });
    }
  });
});

describe("secret rotation", () => {
  it("accepts either secret during the grace period, and no other", () => {
    const secrets = ["sp_hmac_new", "sp_hmac_old"];
    const { verifier: check } = verifier(undefined, secrets);
    expect(check.verify(request(signed({ secret: "sp_hmac_new", nonce: "1" })))).toEqual({ ok: true });
    expect(check.verify(request(signed({ secret: "sp_hmac_old", nonce: "2" })))).toEqual({ ok: true });
    expect(check.verify(request(signed({ secret: "sp_hmac_older", nonce: "3" })))).toMatchObject({
      code: "signature_invalid",
    });
  });

  it("refuses an empty secret list or an empty secret without echoing the secrets", () => {
    expect(() => new SignatureVerifier({ secrets: [], clock: Date.now })).toThrow(/non-empty/);
    try {
      new SignatureVerifier({ secrets: ["sp_hmac_kept_private", ""], clock: Date.now });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain("sp_hmac_kept_private");
    }
  });
});

describe("the metrics endpoint with a secret", () => {
  it("answers 401 problem JSON with the reason, and the payload once signed", () => {
    const clock = fakeClock(SIGNED_AT);
    const seqpulse = new SeqPulseCollector({ hmacSecret: SECRET, clock: clock.now });
    try {
      const refused = seqpulse.handle(request({}));
      expect(refused.status).toBe(401);
      expect(refused.headers["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(refused.body)).toEqual({
        title: "Unauthorized",
        status: 401,
        code: "signature_missing",
        detail: "missing header X-SeqPulse-Timestamp, X-SeqPulse-Nonce, X-SeqPulse-Signature",
      });
      const served = seqpulse.handle(request(signed()));
      expect(served.status).toBe(200);
      expect(JSON.parse(served.body)).toHaveProperty("counters");
      expect(served.body).not.toContain(SECRET);
    } finally {
      seqpulse.close();
    }
  });
});
