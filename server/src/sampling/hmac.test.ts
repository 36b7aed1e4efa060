import { describe, expect, it } from "vitest";
import { canonicalPath, formatTimestamp, signRequest } from "./hmac.js";

describe("canonicalPath", () => {
  it.each([
    ["/", "/"],
    ["", "/"],
    ["//", "/"],
    ["/seqpulse-metrics/", "/seqpulse-metrics"],
    ["/seqpulse-metrics", "/seqpulse-metrics"],
    ["seqpulse-metrics", "/seqpulse-metrics"],
    ["/a/b/", "/a/b"],
    ["/metrics?token=x", "/metrics"],
  ])("%j -> %j", (input, expected) => {
    expect(canonicalPath(input)).toBe(expected);
  });
});

describe("formatTimestamp", () => {
  it("drops milliseconds and uses UTC", () => {
    expect(formatTimestamp(new Date("2026-02-10T13:00:00.987+01:00"))).toBe("2026-02-10T12:00:00Z");
  });
});

describe("signRequest", () => {
  const input = {
    secret: "sp_hmac_test_secret",
    method: "get",
    path: "/seqpulse-metrics/",
    projectId: "proj-1",
    now: new Date("2026-02-10T12:00:00Z"),
    nonce: "n0nce-123",
  };

  it("matches the v2 test vector", () => {
    expect(signRequest(input)).toEqual({
      "X-SeqPulse-Timestamp": "2026-02-10T12:00:00Z",
      "X-SeqPulse-Nonce": "n0nce-123",
      "X-SeqPulse-Signature": "sha256=d00baa9b6f9a65653e57c334e66684569a38d90f3f722a729f4ac014d2e2c494",
      "X-SeqPulse-Signature-Version": "v2",
      "X-SeqPulse-Canonical-Path": "/seqpulse-metrics",
      "X-SeqPulse-Method": "GET",
      "X-SeqPulse-Nonce-TTL": "330",
      "X-SeqPulse-Project-Id": "proj-1",
    });
  });

  it("draws a fresh 16-byte hex nonce when none is given", () => {
    const { nonce: _, ...rest } = input;
    const first = signRequest(rest)["X-SeqPulse-Nonce"];
    const second = signRequest(rest)["X-SeqPulse-Nonce"];
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(second).toMatch(/^[0-9a-f]{32}$/);
    expect(first).not.toBe(second);
  });

  it("never puts the secret in a header", () => {
    expect(JSON.stringify(signRequest(input))).not.toContain(input.secret);
  });
});
