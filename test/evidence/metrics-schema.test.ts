import { readFileSync } from "node:fs";
import { MetricsPayload, metricsPayloadJsonSchema } from "@seqpulse/types";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";

/**
 * packages/types/metrics-payload.schema.json is the contract as published for people writing an
 * endpoint in any language; it is generated from the zod schema SeqPulse validates with, and must
 * not drift from it.
 */
const SCHEMA_FILE = new URL("../../packages/types/metrics-payload.schema.json", import.meta.url);
const published = JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as Record<string, unknown>;

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(published);

const bucket = (start: string, end: string, extra: Record<string, unknown> = {}) => ({
  start,
  end,
  requests: 2470,
  errors: 3,
  metrics: { latency_p95: 175, cpu_usage: 0.39 },
  ...extra,
});

/** The example of the README and of issue 8. */
const ISSUE_EXAMPLE = {
  metrics: {
    requests_per_sec: 41.2,
    latency_p95: 182,
    error_rate: 0.004,
    cpu_usage: 0.41,
    memory_usage: 0.63,
    queue_depth: 12,
  },
  counters: { requests_total: 1843221, errors_total: 911 },
  history: [bucket("2026-12-01T11:58:00Z", "2026-12-01T11:59:00Z")],
};

describe("the published JSON Schema of the metrics contract", () => {
  it("is the one generated from the contract", () => {
    expect(
      published,
      "packages/types/metrics-payload.schema.json is out of date: run pnpm exec tsx test/evidence/write-metrics-schema.ts",
    ).toEqual(metricsPayloadJsonSchema());
  });

  it("is a JSON Schema draft 2020-12 with an id and a title", () => {
    expect(published).toMatchObject({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $id: expect.stringMatching(/^https:\/\//),
      title: expect.stringContaining("contract v2"),
    });
  });

  it.each([
    ["the issue's example", ISSUE_EXAMPLE],
    [
      "a v1 payload, with a key the contract does not know",
      {
        metrics: {
          requests_per_sec: 120,
          latency_p95: 50,
          error_rate: 0.001,
          cpu_usage: 0.35,
          memory_usage: 0.5,
        },
        app: "billing",
      },
    ],
    ["counters without any metric", { metrics: {}, counters: { requests_total: 0, errors_total: 0 } }],
    ["one metric only", { metrics: { latency_p95: 12.5 } }],
  ])("accepts %s, as the server does", (_case, payload) => {
    expect(MetricsPayload.safeParse(payload).success).toBe(true);
    expect(validate(payload), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([
    ["a fraction above 1", { metrics: { error_rate: 1.5 } }],
    ["a negative latency", { metrics: { latency_p95: -1 } }],
    ["a number sent as a string", { metrics: { cpu_usage: "0.4" } }],
    ["a custom metric name out of pattern", { metrics: { "queue-depth": 3 } }],
    ["a fractional counter", { metrics: {}, counters: { requests_total: 10.5, errors_total: 0 } }],
    ["a counter missing", { metrics: {}, counters: { requests_total: 10 } }],
    [
      "a negative bucket count",
      {
        metrics: { cpu_usage: 0.1 },
        history: [bucket("2026-12-01T11:58:00Z", "2026-12-01T11:59:00Z", { requests: -1 })],
      },
    ],
    [
      "a bucket time that is not ISO 8601",
      { metrics: { cpu_usage: 0.1 }, history: [bucket("yesterday", "2026-12-01T11:59:00Z")] },
    ],
    [
      "an unknown bucket key",
      {
        metrics: { cpu_usage: 0.1 },
        history: [bucket("2026-12-01T11:58:00Z", "2026-12-01T11:59:00Z", { p99: 3 })],
      },
    ],
    [
      "121 buckets",
      {
        metrics: { cpu_usage: 0.1 },
        history: Array.from({ length: 121 }, (_, minute) =>
          bucket(
            new Date(Date.UTC(2026, 11, 1, 8, minute)).toISOString(),
            new Date(Date.UTC(2026, 11, 1, 8, minute + 1)).toISOString(),
          ),
        ),
      },
    ],
    ["no metrics object", { counters: { requests_total: 1, errors_total: 0 } }],
  ])("refuses %s, as the server does", (_case, payload) => {
    expect(MetricsPayload.safeParse(payload).success).toBe(false);
    expect(validate(payload)).toBe(false);
  });

  // What a JSON Schema cannot say (comparisons between fields); its description names these rules,
  // and the server refuses such a payload with the reason.
  it.each([
    [
      "more errors than requests in the counters",
      { metrics: {}, counters: { requests_total: 1, errors_total: 2 } },
    ],
    [
      "more errors than requests in a bucket",
      {
        metrics: { cpu_usage: 0.1 },
        history: [bucket("2026-12-01T11:58:00Z", "2026-12-01T11:59:00Z", { requests: 2 })],
      },
    ],
    [
      "a bucket that ends when it starts",
      { metrics: { cpu_usage: 0.1 }, history: [bucket("2026-12-01T11:59:00Z", "2026-12-01T11:59:00Z")] },
    ],
    [
      "overlapping buckets",
      {
        metrics: { cpu_usage: 0.1 },
        history: [
          bucket("2026-12-01T11:58:00Z", "2026-12-01T11:59:00Z"),
          bucket("2026-12-01T11:58:30Z", "2026-12-01T12:00:00Z"),
        ],
      },
    ],
    ["an empty metrics object without counters", { metrics: {} }],
  ])("leaves %s to the server", (_case, payload) => {
    expect(validate(payload)).toBe(true);
    expect(MetricsPayload.safeParse(payload).success).toBe(false);
  });
});
