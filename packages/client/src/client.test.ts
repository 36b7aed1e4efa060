import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createSeqPulseClient, type RetryEvent, type SeqPulseClientOptions } from "./client.js";
import { SeqPulseApiError, SeqPulseResponseError, SeqPulseUnavailableError } from "./errors.js";
import {
  DEPLOYMENT_ID,
  deploymentDetail,
  rollbackVerdict,
  triggerResponse,
} from "./test-support/fixtures.js";
import {
  problem,
  type ScriptedServer,
  type ScriptStep,
  startScriptedServer,
} from "./test-support/scripted-server.js";
import type { Transport } from "./transport.js";

const API_KEY = "sp_test_key_0123456789";

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(
  script: ScriptStep[],
  options: Partial<SeqPulseClientOptions> = {},
): Promise<{
  server: ScriptedServer;
  client: ReturnType<typeof createSeqPulseClient>;
  sleeps: number[];
  retries: RetryEvent[];
}> {
  server = await startScriptedServer(script);
  const sleeps: number[] = [];
  const retries: RetryEvent[] = [];
  const client = createSeqPulseClient({
    apiUrl: server.url,
    apiKey: API_KEY,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onRetry: (event) => retries.push(event),
    ...options,
  });
  return { server, client, sleeps, retries };
}

const triggerBody = { env: "production", branch: "main", commit_sha: "abc1234" } as const;

describe("trigger", () => {
  it("sends the key, the idempotency key and the JSON body, and returns the validated answer", async () => {
    const { server, client } = await setup([{ status: 201, json: triggerResponse() }]);
    const result = await client.trigger(triggerBody, { idempotencyKey: "123-1" });

    expect(result).toMatchObject({ status: 201, attempts: 1, replayed: false });
    expect(result.data.deployment_number).toBe(12);
    const [request] = server.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/deployments/trigger");
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers["idempotency-key"]).toBe("123-1");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["user-agent"]).toMatch(/^seqpulse-client\//);
    expect(JSON.parse(request?.body ?? "")).toEqual(triggerBody);
  });

  it("retries a 503 and sends the same idempotency key on every attempt", async () => {
    const { server, client, sleeps, retries } = await setup([
      problem(503, "service_unavailable", "database restarting"),
      { status: 502, text: "<html><body>Bad gateway</body></html>" },
      { status: 201, json: triggerResponse() },
    ]);
    const result = await client.trigger(triggerBody, { idempotencyKey: "run-42-1" });

    expect(result.attempts).toBe(3);
    expect(server.requests.map((request) => request.headers["idempotency-key"])).toEqual([
      "run-42-1",
      "run-42-1",
      "run-42-1",
    ]);
    // Full jitter with random() = 0.5: half of 500 ms, then half of 1000 ms.
    expect(sleeps).toEqual([250, 500]);
    expect(retries.map((event) => [event.attempt, event.status])).toEqual([
      [1, 503],
      [2, 502],
    ]);
    expect(retries[0]?.reason).toContain("database restarting");
    expect(retries[1]?.reason).toContain("Bad gateway");
  });

  it("makes one key per call when none is given, and keeps it across retries", async () => {
    const { server, client } = await setup([
      { destroy: true },
      { status: 201, json: triggerResponse({ idempotency_key: null }) },
    ]);
    await client.trigger({ env: "production" });
    const keys = server.requests.map((request) => request.headers["idempotency-key"]);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it("uses the body's idempotency_key as the header when no option is given", async () => {
    const { server, client } = await setup([{ status: 200, json: triggerResponse({ status: "existing" }) }]);
    await client.trigger({ env: "production", idempotency_key: "from-body" });
    expect(server.requests[0]?.headers["idempotency-key"]).toBe("from-body");
  });

  it("honours Retry-After in seconds on 429", async () => {
    const { client, sleeps } = await setup([
      { ...problem(429, "rate_limited", "slow down"), headers: { "retry-after": "3" } },
      { status: 201, json: triggerResponse() },
    ]);
    await client.trigger(triggerBody, { idempotencyKey: "k" });
    expect(sleeps).toEqual([3000]);
  });

  it("honours Retry-After as an HTTP date, and caps long waits", async () => {
    const now = Date.parse("2026-01-05T10:00:00Z");
    const { client, sleeps } = await setup(
      [
        { status: 429, headers: { "retry-after": "Mon, 05 Jan 2026 10:00:07 GMT" } },
        { status: 503, headers: { "retry-after": "86400" } },
        { status: 201, json: triggerResponse() },
      ],
      { now: () => now, retry: { maxRetryAfterMs: 20_000 } },
    );
    await client.trigger(triggerBody, { idempotencyKey: "k" });
    expect(sleeps).toEqual([7000, 20_000]);
  });

  it("waits the backoff when Retry-After says 0", async () => {
    const { client, sleeps } = await setup([
      { ...problem(429, "rate_limited", "slow down"), headers: { "retry-after": "0" } },
      { status: 201, json: triggerResponse() },
    ]);
    await client.trigger(triggerBody, { idempotencyKey: "k" });
    // Half of the 500 ms ceiling with random() = 0.5, not an immediate retry.
    expect(sleeps).toEqual([250]);
  });

  it("does not retry a 5xx that retrying will not change", async () => {
    const { server, client } = await setup([problem(501, "not_implemented", "no such feature")]);
    const error = await client.trigger(triggerBody).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SeqPulseApiError);
    expect(error).toMatchObject({ status: 501, code: "not_implemented" });
    expect(server.requests).toHaveLength(1);
  });

  it("retries 408 Request Timeout", async () => {
    const { client, sleeps } = await setup([{ status: 408 }, { status: 201, json: triggerResponse() }]);
    expect((await client.trigger(triggerBody)).attempts).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it("times out a request that gets no answer and retries it", async () => {
    const { server, client, retries } = await setup(
      [{ hang: true }, { status: 201, json: triggerResponse() }],
      { timeoutMs: 150 },
    );
    const result = await client.trigger(triggerBody, { idempotencyKey: "k" });
    expect(result.attempts).toBe(2);
    expect(retries[0]).toMatchObject({ status: undefined, reason: "no answer within 150 ms" });
    expect(server.requests.map((request) => request.headers["idempotency-key"])).toEqual(["k", "k"]);
  });

  it("gives up with SeqPulseUnavailableError when every attempt times out", async () => {
    const { server, client } = await setup([{ hang: true }], { timeoutMs: 50, retry: { attempts: 3 } });
    const error = await client.trigger(triggerBody).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SeqPulseUnavailableError);
    expect(error).toMatchObject({ attempts: 3, status: undefined });
    expect((error as Error).message).toContain("no answer within 50 ms (3 attempts)");
    expect(server.requests).toHaveLength(3);
  });

  it("does not retry a 400 and throws a typed error with the problem's code and detail", async () => {
    const { server, client, sleeps } = await setup([
      problem(
        400,
        "validation_error",
        "invalid request body: commit_sha: must be a hexadecimal commit hash",
        {
          errors: [{ path: "commit_sha", message: "must be a hexadecimal commit hash" }],
        },
      ),
    ]);
    const error = await client
      .trigger({ env: "production", commit_sha: "nope" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SeqPulseApiError);
    const apiError = error as SeqPulseApiError;
    expect(apiError).toMatchObject({ status: 400, code: "validation_error", method: "POST" });
    expect(apiError.detail).toContain("commit_sha");
    expect(apiError.problem?.errors).toEqual([
      { path: "commit_sha", message: "must be a hexadecimal commit hash" },
    ]);
    expect(apiError.message).toBe(
      "SeqPulse refused to trigger the deployment (400 validation_error): invalid request body: commit_sha: must be a hexadecimal commit hash",
    );
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("says clearly that the API key was rejected on 401", async () => {
    const { client } = await setup([problem(401, "unauthorized", "the API key is not valid")]);
    const error = (await client.trigger(triggerBody).catch((caught: unknown) => caught)) as SeqPulseApiError;
    expect(error.status).toBe(401);
    expect(error.message).toContain("the API key was rejected (the API key is not valid)");
    expect(error.message).not.toContain(API_KEY);
  });

  it("lists the allowed environments on env_not_allowed", async () => {
    const { client } = await setup([
      problem(
        400,
        "env_not_allowed",
        'env "prod" is not allowed for this project; allowed: production, staging',
        {
          allowed_envs: ["production", "staging"],
        },
      ),
    ]);
    const error = (await client
      .trigger({ env: "prod" })
      .catch((caught: unknown) => caught)) as SeqPulseApiError;
    expect(error.code).toBe("env_not_allowed");
    expect(error.message).toContain("Use one of: production, staging");
  });

  it("explains a 404 that is not a SeqPulse problem as a wrong api URL", async () => {
    const { client } = await setup([{ status: 404, text: "<h1>Not Found</h1>" }]);
    const error = (await client.trigger(triggerBody).catch((caught: unknown) => caught)) as SeqPulseApiError;
    expect(error).toMatchObject({ status: 404, code: "http_404", detail: "Not Found" });
    expect(error.message).toContain("check that the api URL is the SeqPulse API's base URL");
  });

  it("does not follow redirects, and says where the server points", async () => {
    const { server, client } = await setup([
      { status: 301, headers: { location: "https://api.example.com/" } },
    ]);
    const error = (await client.trigger(triggerBody).catch((caught: unknown) => caught)) as SeqPulseApiError;
    expect(error.status).toBe(301);
    expect(error.message).toContain("redirects to https://api.example.com/");
    expect(server.requests).toHaveLength(1);
  });

  it("throws SeqPulseUnavailableError with the last status once 5xx answers use up the attempts", async () => {
    const { server, client, sleeps } = await setup([
      problem(503, "service_unavailable", "down for maintenance"),
    ]);
    const error = (await client
      .trigger(triggerBody)
      .catch((caught: unknown) => caught)) as SeqPulseUnavailableError;
    expect(error).toBeInstanceOf(SeqPulseUnavailableError);
    expect(error).toMatchObject({ attempts: 5, status: 503 });
    expect(error.problem?.code).toBe("service_unavailable");
    expect(error.message).toContain("503 service_unavailable: down for maintenance after 5 attempts");
    expect(server.requests).toHaveLength(5);
    // Backoff ceilings 500, 1000, 2000, 4000 ms, halved by random() = 0.5.
    expect(sleeps).toEqual([250, 500, 1000, 2000]);
  });

  it("throws SeqPulseUnavailableError when nothing listens", async () => {
    const port = await closedPort();
    const sleeps: number[] = [];
    const client = createSeqPulseClient({
      apiUrl: `http://127.0.0.1:${port}`,
      apiKey: API_KEY,
      retry: { attempts: 2 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const error = (await client.getDeployment(DEPLOYMENT_ID).catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(SeqPulseUnavailableError);
    expect(error.message).toContain(`SeqPulse at http://127.0.0.1:${port} could not be reached`);
    expect(error.message).toContain("ECONNREFUSED");
    expect(sleeps).toHaveLength(1);
  });

  it("rejects a 2xx answer that is not a SeqPulse response, without retrying", async () => {
    const { server, client } = await setup([{ status: 200, text: "<html>welcome</html>" }]);
    const error = (await client.trigger(triggerBody).catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(SeqPulseResponseError);
    expect(error.message).toContain("not JSON");
    expect(server.requests).toHaveLength(1);

    await server.close();
    const second = await setup([{ status: 200, json: { hello: "world" } }]);
    const invalid = await second.client.trigger(triggerBody).catch((caught: unknown) => caught);
    expect(invalid).toBeInstanceOf(SeqPulseResponseError);
    expect((invalid as Error).message).toContain("not a SeqPulse response");
  });

  it("marks replayed answers", async () => {
    const { client } = await setup([
      {
        status: 200,
        json: triggerResponse({ status: "existing" }),
        headers: { "idempotent-replayed": "true" },
      },
    ]);
    expect(await client.trigger(triggerBody, { idempotencyKey: "k" })).toMatchObject({
      status: 200,
      replayed: true,
      data: { status: "existing" },
    });
  });
});

describe("finish and getDeployment", () => {
  it("finishes and retries a dropped connection", async () => {
    const { server, client } = await setup([
      { destroy: true },
      { status: 202, json: { status: "accepted", deployment_id: DEPLOYMENT_ID, state: "finished" } },
    ]);
    const result = await client.finish({ deployment_id: DEPLOYMENT_ID, result: "failed" });
    expect(result).toMatchObject({ status: 202, attempts: 2, data: { status: "accepted" } });
    expect(server.requests.map((request) => JSON.parse(request.body))).toEqual([
      { deployment_id: DEPLOYMENT_ID, result: "failed" },
      { deployment_id: DEPLOYMENT_ID, result: "failed" },
    ]);
  });

  it("lists deployments with the filters in the query string, retrying like every call", async () => {
    const { server, client } = await setup([
      problem(503, "service_unavailable", "restarting"),
      { status: 200, json: { items: [deploymentDetail({ idempotency_key: "run 7/1" })], next_cursor: null } },
    ]);
    const { data, attempts } = await client.listDeployments({
      env: "production",
      idempotency_key: "run 7/1",
      limit: 1,
      branch: undefined,
    });
    expect(attempts).toBe(2);
    expect(data.items.map((item) => item.idempotency_key)).toEqual(["run 7/1"]);
    expect(server.requests.map((request) => request.url)).toEqual([
      "/deployments?env=production&idempotency_key=run+7%2F1&limit=1",
      "/deployments?env=production&idempotency_key=run+7%2F1&limit=1",
    ]);

    await server.close();
    const all = await setup([{ status: 200, json: { items: [], next_cursor: "41" } }]);
    expect((await all.client.listDeployments()).data.next_cursor).toBe("41");
    expect(all.server.requests[0]?.url).toBe("/deployments");
  });

  it("reads a deployment under an api URL with a base path", async () => {
    server = await startScriptedServer([{ status: 200, json: deploymentDetail() }]);
    const client = createSeqPulseClient({ apiUrl: `${server.url}/seqpulse/`, apiKey: API_KEY });
    const { data } = await client.getDeployment(DEPLOYMENT_ID);
    expect(data.deployment_number).toBe(12);
    expect(server.requests[0]?.url).toBe(`/seqpulse/deployments/${DEPLOYMENT_ID}`);
  });

  it("refuses bad options up front", () => {
    expect(() => createSeqPulseClient({ apiUrl: "api.seqpulse.dev", apiKey: "k" })).toThrow(/not a URL/);
    expect(() => createSeqPulseClient({ apiUrl: "ftp://x", apiKey: "k" })).toThrow(/http/);
    expect(() => createSeqPulseClient({ apiUrl: "https://x", apiKey: " " })).toThrow(/apiKey is empty/);
    expect(() => createSeqPulseClient({ apiUrl: "https://x", apiKey: "k", retry: { attempts: 0 } })).toThrow(
      /attempts/,
    );
  });

  it("refuses an api URL with credentials, and never echoes them", () => {
    expect(() => createSeqPulseClient({ apiUrl: "https://ci:hunter2@x.example.com", apiKey: "k" })).toThrow(
      "SeqPulse client: apiUrl must not contain a user name or password; the API key is the credential",
    );
    const error = catchSync(() =>
      createSeqPulseClient({ apiUrl: "https://ci:hunter2@x example.com/?token=SECRET", apiKey: "k" }),
    );
    expect(error.message).toContain("is not a URL");
    expect(error.message).not.toMatch(/hunter2|SECRET/);
  });
});

describe("the API key", () => {
  it("refuses a key with a line break, a space or another unprintable character, without echoing it", () => {
    for (const key of [
      "sp_SECRET\r\nX-Injected: yes",
      "sp_SECRET\nrest",
      "sp_SECRET key",
      "sp_SECRET\u00a0key",
      "sp_SECRET\u0000",
      "sp_SECRETé",
    ]) {
      const error = catchSync(() => createSeqPulseClient({ apiUrl: "https://x.example.com", apiKey: key }));
      expect(error, JSON.stringify(key)).toBeInstanceOf(TypeError);
      expect(error.message).toContain("apiKey contains characters an API key cannot have");
      expect(error.message).not.toContain("SECRET");
    }
    // Surrounding whitespace (a trailing newline from a file) is trimmed, not refused.
    expect(() =>
      createSeqPulseClient({ apiUrl: "https://x.example.com", apiKey: ` ${API_KEY}\n` }),
    ).not.toThrow();
  });

  it("keeps the key out of every message and retry event, even when a runtime error quotes it", async () => {
    // A runtime error that quotes a header, as undici's do: the value, key included.
    const leakyTransport: Transport = async (request) => {
      throw new TypeError(`Headers.append: "${request.headers.authorization}" is an invalid header value.`);
    };
    const retries: RetryEvent[] = [];
    const client = createSeqPulseClient({
      apiUrl: "https://seqpulse.example.com",
      apiKey: API_KEY,
      transport: leakyTransport,
      retry: { attempts: 3 },
      sleep: async () => {},
      onRetry: (event) => retries.push(event),
    });
    const error = (await client.trigger(triggerBody).catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(SeqPulseUnavailableError);
    expect(error.message).toContain('Headers.append: "Bearer [redacted]" is an invalid header value.');
    expect(retries).toHaveLength(2);
    const cause = error.cause as Error;
    for (const text of [
      error.message,
      error.stack,
      cause.message,
      cause.stack,
      ...retries.map((r) => r.reason),
    ]) {
      expect(text).not.toContain(API_KEY);
    }
  });

  it("keeps the key out of an error built from the server's answer", async () => {
    const { client } = await setup([
      problem(400, "validation_error", `header Authorization: Bearer ${API_KEY} is malformed`),
    ]);
    const error = (await client.trigger(triggerBody).catch((caught: unknown) => caught)) as SeqPulseApiError;
    expect(error.message).not.toContain(API_KEY);
    expect(error.detail).toBe("header Authorization: Bearer [redacted] is malformed");
  });

  it("fails at once, naming the header but not its value, when a header cannot be sent", async () => {
    const { server, client, retries } = await setup([{ status: 201, json: triggerResponse() }]);
    const error = (await client
      .trigger(triggerBody, { idempotencyKey: "run-1\r\nX-Injected: SECRET" })
      .catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(
      "SeqPulse client: the idempotency-key header cannot be sent: its value has a line break or another character not allowed in HTTP headers",
    );
    expect(server.requests).toHaveLength(0);
    expect(retries).toEqual([]);
  });
});

describe("waitForVerdict", () => {
  function fakeClock() {
    let time = 0;
    return {
      now: () => time,
      sleep: async (ms: number) => {
        time += ms;
      },
    };
  }

  it("polls until the verdict arrives", async () => {
    const clock = fakeClock();
    const { server, client } = await setup(
      [
        { status: 200, json: deploymentDetail({ state: "running" }) },
        { status: 200, json: deploymentDetail({ state: "finished" }) },
        { status: 200, json: deploymentDetail({ state: "analyzed", verdict: rollbackVerdict() }) },
      ],
      clock,
    );
    const seen: string[] = [];
    const result = await client.waitForVerdict(DEPLOYMENT_ID, {
      timeoutMs: 60_000,
      pollIntervalMs: 2_000,
      onPoll: (deployment) => seen.push(deployment.state),
    });
    expect(result.outcome).toBe("verdict");
    expect(result.outcome === "verdict" && result.verdict.verdict).toBe("rollback_recommended");
    expect(result.polls).toBe(3);
    expect(seen).toEqual(["running", "finished", "analyzed"]);
    expect(clock.now()).toBe(4_000);
    expect(server.requests).toHaveLength(3);
  });

  it("stops on an abandoned deployment", async () => {
    const { client } = await setup(
      [{ status: 200, json: deploymentDetail({ state: "abandoned", state_reason: "running_timeout" }) }],
      fakeClock(),
    );
    const result = await client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 10_000 });
    expect(result).toMatchObject({ outcome: "abandoned", deployment: { state_reason: "running_timeout" } });
  });

  it("stops on a cancelled deployment, which gets no verdict", async () => {
    const { server, client } = await setup(
      [{ status: 200, json: deploymentDetail({ state: "cancelled", cancel_reason: "stray" }) }],
      fakeClock(),
    );
    const result = await client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 10_000 });
    expect(result).toMatchObject({ outcome: "cancelled", deployment: { cancel_reason: "stray" }, polls: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it("times out with the last deployment read", async () => {
    const clock = fakeClock();
    const { server, client } = await setup([{ status: 200, json: deploymentDetail() }], clock);
    const result = await client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 10_000, pollIntervalMs: 3_000 });
    // Polls at 0, 3, 6 and 9 s; at 10 s no time is left for another.
    expect(result).toMatchObject({ outcome: "timeout", deployment: { state: "finished" }, polls: 4 });
    expect(clock.now()).toBe(10_000);
    expect(server.requests).toHaveLength(4);
  });

  it("keeps each poll within the time left, so a hanging server cannot push it past its deadline", async () => {
    // Sleeps pass at once; requests take real time.
    const start = Date.now();
    let slept = 0;
    const { server, client, retries } = await setup(
      [{ status: 200, json: deploymentDetail() }, { hang: true }],
      {
        now: () => Date.now() - start + slept,
        sleep: async (ms) => {
          slept += ms;
        },
        timeoutMs: 60_000,
      },
    );
    // 2 s left for the second poll, enough for the first one's real request even on a busy machine.
    const result = await client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 32_000, pollIntervalMs: 30_000 });
    // The second poll had the last ~2 s, not 5 attempts of 60 s: the deployment read first is kept.
    expect(result).toMatchObject({ outcome: "timeout", deployment: { state: "finished" }, polls: 2 });
    expect(Date.now() - start).toBeLessThan(5_000);
    expect(server.requests).toHaveLength(2);
    expect(retries).toEqual([]);
  });

  it("makes one request per poll: the poll loop is the retry", async () => {
    const clock = fakeClock();
    const { server, client, retries } = await setup(
      [problem(503, "service_unavailable", "restarting")],
      clock,
    );
    await expect(
      client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 5_000, pollIntervalMs: 1_000 }),
    ).rejects.toBeInstanceOf(SeqPulseUnavailableError);
    // Polls at 0, 1, 2, 3 and 4 s, one request each, no retries within a poll.
    expect(server.requests).toHaveLength(5);
    expect(retries).toEqual([]);
    expect(clock.now()).toBe(5_000);
  });

  it("returns the latest deployment at the deadline when SeqPulse went away after earlier polls", async () => {
    const { client } = await setup(
      [{ status: 200, json: deploymentDetail() }, problem(503, "service_unavailable", "restarting")],
      fakeClock(),
    );
    const result = await client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 5_000, pollIntervalMs: 1_000 });
    expect(result).toMatchObject({ outcome: "timeout", deployment: { state: "finished" }, polls: 5 });
  });

  it("keeps polling through an outage, and throws a non-retryable error at once", async () => {
    const clock = fakeClock();
    const { client } = await setup(
      [
        problem(503, "service_unavailable", "restarting"),
        problem(503, "service_unavailable", "restarting"),
        { status: 200, json: deploymentDetail({ state: "analyzed", verdict: rollbackVerdict() }) },
      ],
      { ...clock, retry: { attempts: 1 } },
    );
    const result = await client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 60_000, pollIntervalMs: 1_000 });
    expect(result.outcome).toBe("verdict");

    await server?.close();
    const second = await setup([problem(401, "unauthorized", "the API key is not valid")], fakeClock());
    await expect(second.client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 60_000 })).rejects.toBeInstanceOf(
      SeqPulseApiError,
    );
    expect(second.server.requests).toHaveLength(1);
  });

  it("throws the outage error when no poll succeeded before the deadline", async () => {
    const { client } = await setup([problem(503, "service_unavailable", "restarting")], {
      ...fakeClock(),
      retry: { attempts: 1 },
    });
    await expect(
      client.waitForVerdict(DEPLOYMENT_ID, { timeoutMs: 5_000, pollIntervalMs: 1_000 }),
    ).rejects.toBeInstanceOf(SeqPulseUnavailableError);
  });
});

function catchSync(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
