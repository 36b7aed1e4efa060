import type { CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/src/logger.js";
import { attemptDelivery } from "../../server/src/notifications/deliver.js";
import { findDestination } from "../../server/src/notifications/destinations.js";
import { recordTestDelivery } from "../../server/src/notifications/outbox.js";
import { adminCall, expectProblem } from "../api/helpers.js";
import { startTestApi, type TestApi } from "../support/api.js";
import { type Receiver, startReceiver } from "./receiver.js";

/** SEQPULSE_ALLOW_PRIVATE_ENDPOINTS is off here, as in production: private receivers are refused. */
describe("destination URLs pass the SSRF guard metrics endpoints pass", () => {
  let api: TestApi;
  let receiver: Receiver;
  let project: CreateProjectResponse;

  beforeAll(async () => {
    [api, receiver] = await Promise.all([startTestApi({ allowPrivateEndpoints: false }), startReceiver()]);
    project = await api.createProject();
  });
  afterAll(async () => {
    await receiver?.close();
    await api?.close();
  });

  const create = (url: string) =>
    adminCall(api, "POST", `/admin/projects/${project.project_id}/destinations`, {
      body: { name: "private", kind: "webhook", url, events: ["verdict"] },
    });

  it.each([
    "http://127.0.0.1:9/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.8/hook",
    "http://[::ffff:192.168.1.1]/hook",
  ])("refuses %s when it is saved", async (url) => {
    const problem = expectProblem(await create(url), 400, "validation_error");
    expect(problem.detail).toContain("SEQPULSE_ALLOW_PRIVATE_ENDPOINTS");
    expect(problem.errors).toEqual([{ path: "url", message: "is a private or reserved address" }]);
  });

  it("refuses a host name that resolves to a private address when it posts, without sending a byte", async () => {
    receiver.setup("/hook", { steps: [{ status: 200 }] });
    const url = receiver.url("/hook").replace("127.0.0.1", "localhost");
    const created = await create(url);
    expect(created.status).toBe(201);
    const destination = await findDestination(api.database.db, (created.body as { id: string }).id);
    if (!destination) throw new Error("destination not stored");
    const deliveryId = await recordTestDelivery(api.database.db, destination, {
      id: project.project_id,
      name: project.name,
    });
    const result = await attemptDelivery(
      {
        db: api.database.db,
        logger: createLogger("silent"),
        options: {
          publicUrl: undefined,
          allowPrivateEndpoints: false,
          retryBaseMs: 100,
          userAgent: "SeqPulse/test",
        },
      },
      deliveryId,
    );
    expect(result).toBe("failed");
    expect(receiver.requestsTo("/hook")).toEqual([]);
    const { rows } = await api.database.pool.query<{ error: string; status_code: number | null }>(
      "select error, status_code from notification_attempts where delivery_id = $1",
      [deliveryId],
    );
    expect(rows).toEqual([
      {
        error: expect.stringContaining(
          "refused to connect: localhost resolves to private or reserved address",
        ),
        status_code: null,
      },
    ]);
    // A delivery that failed for good is not attempted again.
    expect(
      await attemptDelivery(
        {
          db: api.database.db,
          logger: createLogger("silent"),
          options: {
            publicUrl: undefined,
            allowPrivateEndpoints: true,
            retryBaseMs: 100,
            userAgent: "SeqPulse/test",
          },
        },
        deliveryId,
      ),
    ).toBe("not_due");
  });
});
