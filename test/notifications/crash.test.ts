import { WebhookPayload } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ciClient } from "../console/api.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  serverEnv,
  tail,
  waitForAnalyzed,
  waitForBaselineSettled,
  waitUntil,
} from "../worker/helpers.js";
import { createDestination, PUBLIC_URL } from "./helpers.js";
import { type Receiver, startReceiver } from "./receiver.js";

const DEPLOYMENTS = 3;

/**
 * The worker is killed with SIGKILL while it holds a delivery in flight (the receiver never
 * answers it) and others wait for their retry. A new process finds the outbox, sends what is
 * owed, and every event reaches the receiver exactly once with a successful answer.
 */
describe("notifications across a kill -9 of the server", () => {
  let database: TestDatabase;
  let metrics: MetricsApp;
  let receiver: Receiver;
  const processes: ServerProcess[] = [];

  beforeAll(async () => {
    [database, metrics, receiver] = await Promise.all([createTestDatabase(), startMetricsApp()]).then(
      async ([db, app]) => [db, app, await startReceiver()] as const,
    );
    metrics.script("/healthy", [values()]);
  });
  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await Promise.all([metrics?.close(), receiver?.close()]);
    await database?.close();
  });

  const start = async () => {
    const server = await startServerProcess(
      serverEnv(database.url, { SEQPULSE_PUBLIC_URL: PUBLIC_URL, SEQPULSE_NOTIFY_RETRY_BASE_MS: "500" }),
    );
    processes.push(server);
    return server;
  };

  it("delivers each event exactly once after the restart", { timeout: 120_000 }, async () => {
    const path = "/hooks/crash";
    // The first request hangs (the worker dies holding it), the next two fail, then all succeed.
    receiver.setup(path, { steps: [{ hang: true }, { status: 500 }, { status: 502 }, { status: 200 }] });
    const first = await start();
    const baseUrl = apiUrlOf(first);
    const project = await createProject(baseUrl, { metrics_endpoint: metrics.url("/healthy") });
    const destination = await createDestination(baseUrl, project.project_id, {
      kind: "webhook",
      url: receiver.url(path),
    });
    receiver.setSecret(path, destination.secret as string);

    const ci = ciClient(baseUrl, project.api_key);
    const ids = await Promise.all(
      Array.from({ length: DEPLOYMENTS }, async (_, index) => {
        const { deployment_id: id } = await ci.trigger({ env: `env-${index}` });
        await waitForBaselineSettled(baseUrl, project.api_key, id, first);
        await ci.finish(id);
        await waitForAnalyzed(baseUrl, project.api_key, id, { server: first });
        return id;
      }),
    );
    await receiver.waitFor(path, (seen) => seen.length >= 1);
    await first.kill();
    const answeredBeforeKill = receiver.requestsTo(path).filter((r) => r.answered === 200).length;

    const second = await start();
    const seen = await receiver
      .waitFor(path, (requests) => requests.filter((r) => r.answered === 200).length >= DEPLOYMENTS, 60_000)
      .catch((error) => {
        throw new Error(`${error}\n${tail(second)}`);
      });
    // Nothing more arrives once every delivery succeeded.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const successes = receiver.requestsTo(path).filter((r) => r.answered === 200);
    const deliveredIds = successes.map((r) => r.headers["x-seqpulse-delivery"]);
    expect(successes).toHaveLength(DEPLOYMENTS);
    expect(new Set(deliveredIds).size).toBe(DEPLOYMENTS);
    const bodies = successes.map((r) => WebhookPayload.parse(JSON.parse(r.body)));
    expect(bodies.map((body) => body.deployment?.id).sort()).toEqual([...ids].sort());
    expect(bodies.every((body) => body.event === "verdict")).toBe(true);
    expect(seen.every((r) => r.signatureProblem === null)).toBe(true);
    expect(answeredBeforeKill).toBeLessThan(DEPLOYMENTS);

    // One outbox row per event, each delivered, with the hung attempt counted in its log.
    const { rows } = await database.pool.query<{ deployment_id: string; state: string; attempts: number }>(
      "select deployment_id, state, attempts from notification_deliveries where destination_id = $1",
      [destination.id],
    );
    expect(rows).toHaveLength(DEPLOYMENTS);
    expect(rows.every((row) => row.state === "delivered")).toBe(true);
    const requestsPerDelivery = new Map<string, number>();
    for (const request of receiver.requestsTo(path)) {
      const id = String(request.headers["x-seqpulse-delivery"]);
      requestsPerDelivery.set(id, (requestsPerDelivery.get(id) ?? 0) + 1);
    }
    const attempts = await waitUntil("attempt counts", async () => {
      const { rows: counted } = await database.pool.query<{ id: string; attempts: number }>(
        "select id, attempts from notification_deliveries where destination_id = $1",
        [destination.id],
      );
      return counted;
    });
    // Each request the receiver saw is an attempt in the log; the kill may also land between a
    // delivery's claim (its attempt counted) and its request, so one attempt more, never two.
    for (const { id, attempts: count } of attempts) {
      const received = requestsPerDelivery.get(id) ?? 0;
      expect(count).toBeGreaterThanOrEqual(received);
      expect(count).toBeLessThanOrEqual(received + 1);
    }
  });
});
