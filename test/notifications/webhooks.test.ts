import { type CreateProjectResponse, WebhookPayload } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ciClient, consoleSession } from "../console/api.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { apiUrlOf, createProject, runDeployment, serverEnv, waitUntil } from "../worker/helpers.js";
import {
  createDestination,
  deliveries,
  PUBLIC_URL,
  sendTest,
  updateDestination,
  waitForSettledDeliveries,
} from "./helpers.js";
import { BlockKitMessage, type Receiver, startReceiver } from "./receiver.js";

describe("notifications delivered by a real server to real local receivers", () => {
  let database: TestDatabase;
  let metrics: MetricsApp;
  let receiver: Receiver;
  let server: ServerProcess;
  let baseUrl: string;

  beforeAll(async () => {
    [database, metrics, receiver] = await Promise.all([
      createTestDatabase(),
      startMetricsApp(),
      startReceiver(),
    ]);
    metrics.script("/healthy", [values()]);
    server = await startServerProcess(
      serverEnv(database.url, {
        SEQPULSE_PUBLIC_URL: PUBLIC_URL,
        SEQPULSE_NOTIFY_RETRY_BASE_MS: "200",
        SEQPULSE_SWEEP_INTERVAL_SECONDS: "1",
      }),
    );
    baseUrl = apiUrlOf(server);
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await Promise.all([metrics?.close(), receiver?.close()]);
    await database?.close();
  });

  const newProject = (): Promise<CreateProjectResponse> =>
    createProject(baseUrl, { metrics_endpoint: metrics.url("/healthy") });

  it("signs each verdict webhook so that the receiver can verify it, and logs the delivery", async () => {
    const path = "/hooks/signed";
    receiver.setup(path, { steps: [{ status: 200 }] });
    const project = await newProject();
    const destination = await createDestination(baseUrl, project.project_id, {
      kind: "webhook",
      url: receiver.url(path),
    });
    expect(destination.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(destination.url_display).toBe(`${new URL(receiver.url(path)).origin}/…`);
    receiver.setSecret(path, destination.secret as string);

    const { detail } = await runDeployment(baseUrl, project, { server });
    const [request] = await receiver.waitFor(path, (seen) => seen.some((r) => r.answered === 200));
    expect(request?.signatureProblem).toBeNull();
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["user-agent"]).toMatch(/^SeqPulse\//);
    const body = WebhookPayload.parse(JSON.parse(request?.body ?? ""));
    expect(body).toMatchObject({
      schema_version: 1,
      event: "verdict",
      project: { id: project.project_id, name: project.name },
      deployment: {
        id: detail.id,
        number: detail.deployment_number,
        env: "production",
        url: `${PUBLIC_URL}/deployments/${detail.id}`,
      },
      verdict: {
        verdict: detail.verdict?.verdict,
        confidence: detail.verdict?.confidence,
        summary: detail.verdict?.summary,
      },
      decision: null,
    });
    expect(request?.headers["x-seqpulse-delivery"]).toBe(body.delivery_id);
    expect(request?.headers["x-seqpulse-event"]).toBe("verdict");

    const [logged] = await waitForSettledDeliveries(baseUrl, destination.id, 1);
    expect(logged).toMatchObject({
      delivery_id: body.delivery_id,
      event: "verdict",
      state: "delivered",
      attempts: 1,
      deployment_id: detail.id,
    });
    expect(logged?.log).toEqual([expect.objectContaining({ attempt: 1, status_code: 200, error: null })]);
    // The listing never shows the secret again.
    const listing = await fetch(`${baseUrl}/admin/projects/${project.project_id}/destinations`, {
      headers: { authorization: `Bearer ${"worker-e2e-admin-token-0123456789"}` },
    });
    expect(await listing.text()).not.toContain(destination.secret as string);
    // A tampered body does not verify with the same headers.
    const { signatureProblem } = await import("./receiver.js");
    expect(signatureProblem(request?.headers ?? {}, `${request?.body} `, destination.secret as string)).toBe(
      "bad signature",
    );
  });

  it("retries after 500s with the same delivery id, and logs every attempt", async () => {
    const path = "/hooks/flaky";
    receiver.setup(path, { steps: [{ status: 500 }, { status: 503 }, { status: 200 }] });
    const project = await newProject();
    const destination = await createDestination(baseUrl, project.project_id, {
      kind: "webhook",
      url: receiver.url(path),
    });
    receiver.setSecret(path, destination.secret as string);
    await runDeployment(baseUrl, project, { server });

    const seen = await receiver.waitFor(path, (requests) => requests.some((r) => r.answered === 200));
    expect(seen.map((r) => r.answered)).toEqual([500, 503, 200]);
    expect(new Set(seen.map((r) => r.headers["x-seqpulse-delivery"])).size).toBe(1);
    expect(seen.every((r) => r.signatureProblem === null)).toBe(true);
    // Backoff: the second retry waits longer than the first.
    const [first, second, third] = seen.map((r) => r.time) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(200);
    expect(third - second).toBeGreaterThanOrEqual(400);
    const [logged] = await waitForSettledDeliveries(baseUrl, destination.id, 1);
    expect(logged?.state).toBe("delivered");
    expect(logged?.log.map((attempt) => [attempt.attempt, attempt.status_code])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);
    expect(logged?.log[0]?.error).toBe("HTTP 500: error");
    // The process counts its attempts by outcome in /metrics.
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    const counted = (outcome: string) =>
      Number(
        metrics.match(
          new RegExp(`seqpulse_notification_deliveries_total\\{outcome="${outcome}"\\} (\\d+)`),
        )?.[1],
      );
    expect(counted("retrying")).toBeGreaterThanOrEqual(2);
    expect(counted("delivered")).toBeGreaterThanOrEqual(1);
  });

  it("waits as long as a 429's Retry-After asks", async () => {
    const path = "/hooks/rate-limited";
    receiver.setup(path, {
      steps: [{ status: 429, body: "rate_limited", retryAfter: "2" }, { status: 200 }],
    });
    const project = await newProject();
    const destination = await createDestination(baseUrl, project.project_id, {
      kind: "slack",
      url: receiver.url(path),
    });
    await sendTest(baseUrl, destination.id);
    const [limited, accepted] = await receiver.waitFor(path, (requests) =>
      requests.some((r) => r.answered === 200),
    );
    expect((accepted?.time ?? 0) - (limited?.time ?? 0)).toBeGreaterThanOrEqual(1900);
    const [logged] = await waitForSettledDeliveries(baseUrl, destination.id, 1);
    expect(logged?.log.map((attempt) => [attempt.status_code, attempt.error])).toEqual([
      [429, "HTTP 429: rate_limited"],
      [200, null],
    ]);
  });

  it("gives up at once on a 4xx that a retry cannot fix", async () => {
    const path = "/hooks/gone";
    receiver.setup(path, { steps: [{ status: 410, body: "no_service" }] });
    const project = await newProject();
    const destination = await createDestination(baseUrl, project.project_id, {
      kind: "webhook",
      url: receiver.url(path),
    });
    receiver.setSecret(path, destination.secret as string);
    const { delivery_id } = await sendTest(baseUrl, destination.id);
    const [logged] = await waitForSettledDeliveries(baseUrl, destination.id, 1);
    expect(logged).toMatchObject({ delivery_id, event: "test", state: "failed", attempts: 1 });
    expect(logged?.log[0]?.error).toBe("HTTP 410: no_service; not retried: the receiver refused it");
    expect(receiver.requestsTo(path)).toHaveLength(1);
  });

  it("sends a Slack-shaped receiver valid Block Kit: verdict, env, commit, summary, reasons, and a button", async () => {
    const path = "/services/T000/B000/slack";
    receiver.setup(path, { steps: [{ status: 200 }], slack: true });
    const project = await newProject();
    const destination = await createDestination(baseUrl, project.project_id, {
      kind: "slack",
      url: receiver.url(path),
    });
    expect(destination.secret).toBeNull();
    expect(destination.url_display).not.toContain("/services/");

    const ci = ciClient(baseUrl, project.api_key);
    const { deployment_id: id } = await ci.trigger({
      env: "production",
      commit_sha: "3f2a9c1d77",
      branch: "main",
    });
    await waitUntil("baseline", async () => (await ci.get(id)).samples.length > 0);
    await ci.finish(id);
    const [request] = await receiver.waitFor(path, (seen) => seen.length > 0);
    expect(request?.blockKitProblem).toBeNull();
    expect(request?.answered).toBe(200);
    const message = BlockKitMessage.parse(JSON.parse(request?.body ?? ""));
    const detail = await ci.get(id);
    const text = JSON.stringify(message.blocks);
    expect(message.text).toContain(`${project.name} production #${detail.deployment_number}`);
    expect(text).toContain("3f2a9c1d77");
    expect(text).toContain("*Environment*\\nproduction");
    expect(text).toContain(detail.verdict?.summary.slice(0, 40));
    const button = message.blocks.find((block) => block.type === "actions");
    expect(button).toMatchObject({
      elements: [
        { type: "button", text: { text: "Open deployment" }, url: `${PUBLIC_URL}/deployments/${id}` },
      ],
    });
  });

  it("sends only verdicts at or above the destination's minimum, and every deployment.abandoned", async () => {
    const path = "/hooks/serious-only";
    receiver.setup(path, { steps: [{ status: 200 }] });
    const project = await newProject();
    const destination = await createDestination(baseUrl, project.project_id, {
      kind: "webhook",
      url: receiver.url(path),
      min_verdict: "rollback_recommended",
    });
    receiver.setSecret(path, destination.secret as string);
    const { detail } = await runDeployment(baseUrl, project, { server });
    expect(detail.verdict?.verdict).toBe("ok");

    // Abandon a deployment by making it look hours old; the 1 s sweep moves it.
    const ci = ciClient(baseUrl, project.api_key);
    const { deployment_id: stale } = await ci.trigger({ env: "staging" });
    await database.pool.query(
      "update deployments set started_at = now() - interval '2 hours' where id = $1",
      [stale],
    );
    const [request] = await receiver.waitFor(path, (seen) => seen.some((r) => r.answered === 200));
    const body = WebhookPayload.parse(JSON.parse(request?.body ?? ""));
    expect(body).toMatchObject({
      event: "deployment.abandoned",
      deployment: { id: stale, state: "abandoned", state_reason: "running_timeout" },
      verdict: null,
    });
    const items = await deliveries(baseUrl, destination.id);
    expect(items.map((item) => item.event)).toEqual(["deployment.abandoned"]);
  });

  it("sends nothing to a disabled destination when a new verdict comes, and again once it is enabled", async () => {
    const [mutedPath, livePath] = ["/hooks/muted", "/hooks/live"];
    receiver.setup(mutedPath, { steps: [{ status: 200 }] });
    receiver.setup(livePath, { steps: [{ status: 200 }] });
    const project = await newProject();
    const muted = await createDestination(baseUrl, project.project_id, {
      kind: "webhook",
      url: receiver.url(mutedPath),
    });
    const live = await createDestination(baseUrl, project.project_id, {
      kind: "slack",
      url: receiver.url(livePath),
    });
    expect((await updateDestination(baseUrl, muted.id, { enabled: false })).enabled).toBe(false);

    const first = await runDeployment(baseUrl, project, { server });
    // The verdict was notified: the enabled destination got it, the disabled one nothing.
    await receiver.waitFor(livePath, (seen) => seen.some((r) => r.answered === 200));
    expect((await deliveries(baseUrl, live.id)).map((item) => item.deployment_id)).toEqual([first.detail.id]);
    expect(receiver.requestsTo(mutedPath)).toEqual([]);
    expect(await deliveries(baseUrl, muted.id)).toEqual([]);

    await updateDestination(baseUrl, muted.id, { enabled: true });
    receiver.setSecret(mutedPath, muted.secret as string);
    const second = await runDeployment(baseUrl, project, { server });
    const [request] = await receiver.waitFor(mutedPath, (seen) => seen.some((r) => r.answered === 200));
    expect(request?.signatureProblem).toBeNull();
    expect(WebhookPayload.parse(JSON.parse(request?.body ?? "")).deployment?.id).toBe(second.detail.id);
    // Only the later verdict: the one that came while it was disabled is not sent afterwards.
    const items = await waitForSettledDeliveries(baseUrl, muted.id, 1);
    expect(items.map((item) => item.deployment_id)).toEqual([second.detail.id]);
    expect(items.map((item) => item.deployment_id)).not.toContain(first.detail.id);
  });

  it("notifies verdict.decided when someone decides in the console, with the decision and its note", async () => {
    const path = "/hooks/decided";
    receiver.setup(path, { steps: [{ status: 200 }] });
    const project = await newProject();
    const { detail } = await runDeployment(baseUrl, project, { server });
    const destination = await createDestination(baseUrl, project.project_id, {
      kind: "webhook",
      url: receiver.url(path),
      events: ["verdict.decided"],
    });
    receiver.setSecret(path, destination.secret as string);

    const session = await consoleSession(baseUrl, project.api_key);
    const decided = await session.submit(`/deployments/${detail.id}`, `/deployments/${detail.id}/decision`, {
      decision: "rollback_done",
      note: "Rolled back by hand <b>now</b>",
    });
    expect(decided.status).toBe(303);
    const [request] = await receiver.waitFor(path, (seen) => seen.some((r) => r.answered === 200));
    const body = WebhookPayload.parse(JSON.parse(request?.body ?? ""));
    expect(body).toMatchObject({
      event: "verdict.decided",
      deployment: { id: detail.id },
      verdict: { verdict: detail.verdict?.verdict },
      decision: {
        decision: "rollback_done",
        note: "Rolled back by hand <b>now</b>",
        decided_by: `project key ${project.api_key.split("_")[1]}`,
      },
    });
    expect(body.message).toContain("Rollback done");
    // Only the subscribed event: the verdict itself was not sent to this destination.
    expect((await deliveries(baseUrl, destination.id)).map((item) => item.event)).toEqual([
      "verdict.decided",
    ]);
    // The page shows the note as text, not as markup.
    const html = await (await session.page(`/deployments/${detail.id}`)).text();
    expect(html).toContain("Rolled back by hand &lt;b&gt;now&lt;/b&gt;");
  });

  it("refuses destinations it must not post to, and keeps the admin token in front", async () => {
    const project = await newProject();
    const post = (body: unknown, token = "worker-e2e-admin-token-0123456789") =>
      fetch(`${baseUrl}/admin/projects/${project.project_id}/destinations`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const bad = await post({
      name: "x",
      kind: "webhook",
      url: "ftp://example.test/hook",
      events: ["verdict"],
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "validation_error", errors: [{ path: "url" }] });
    const noEvents = await post({ name: "x", kind: "webhook", url: receiver.url("/x"), events: [] });
    expect((await noEvents.json()) as object).toMatchObject({
      code: "validation_error",
      errors: [{ path: "events", message: "subscribe to at least one event" }],
    });
    const withCredentials = await post({
      name: "x",
      kind: "slack",
      url: "https://user:pw@hooks.example.test/x",
      events: ["verdict"],
    });
    expect(withCredentials.status).toBe(400);
    const unauthorized = await post(
      { name: "x", kind: "webhook", url: receiver.url("/x"), events: ["verdict"] },
      "wrong-token-wrong-token",
    );
    expect(unauthorized.status).toBe(401);
    const unknown = await fetch(
      `${baseUrl}/admin/projects/00000000-0000-4000-8000-000000000000/destinations`,
      {
        headers: { authorization: "Bearer worker-e2e-admin-token-0123456789" },
      },
    );
    expect(unknown.status).toBe(404);
  });
});
