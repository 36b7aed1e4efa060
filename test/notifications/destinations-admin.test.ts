import type {
  CreateDestinationResponse,
  CreateProjectResponse,
  Delivery,
  Destination,
} from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/src/logger.js";
import { attemptDelivery } from "../../server/src/notifications/deliver.js";
import { DROPPED_DISABLED, findDestination } from "../../server/src/notifications/destinations.js";
import { adminCall, call, expectProblem } from "../api/helpers.js";
import { startTestApi, type TestApi } from "../support/api.js";
import { type Receiver, signatureProblem, startReceiver } from "./receiver.js";

/**
 * PATCH /admin/destinations/:id and POST /admin/destinations/:id/rotate-secret on the real app.
 * SEQPULSE_ALLOW_PRIVATE_ENDPOINTS is off, as in production; receivers are reached as "localhost",
 * a host name the save-time guard lets through (the delivery options below allow it on connect).
 */
describe("changing notification destinations through the admin API", () => {
  let api: TestApi;
  let receiver: Receiver;

  const deliveryDeps = () => ({
    db: api.database.db,
    logger: createLogger("silent"),
    options: {
      publicUrl: undefined,
      allowPrivateEndpoints: true,
      retryBaseMs: 100,
      userAgent: "SeqPulse/test",
    },
  });
  const receiverUrl = (path: string) => receiver.url(path).replace("127.0.0.1", "localhost");

  beforeAll(async () => {
    [api, receiver] = await Promise.all([startTestApi({ allowPrivateEndpoints: false }), startReceiver()]);
  });
  afterAll(async () => {
    await receiver?.close();
    await api?.close();
  });

  /** A destination of its own fresh project (or of `owner`). */
  async function created(
    body: Record<string, unknown> = {},
    owner?: CreateProjectResponse,
  ): Promise<CreateDestinationResponse> {
    const project = owner ?? (await api.createProject());
    const response = await adminCall<CreateDestinationResponse>(
      api,
      "POST",
      `/admin/projects/${project.project_id}/destinations`,
      {
        body: {
          name: "ops",
          kind: "webhook",
          url: "https://hooks.example.test/seqpulse",
          events: ["verdict"],
          ...body,
        },
      },
    );
    expect(response.status, response.text).toBe(201);
    return response.body;
  }
  const patch = (id: string, body: unknown, token?: string | null) =>
    adminCall<Destination>(api, "PATCH", `/admin/destinations/${id}`, {
      body,
      ...(token === undefined ? {} : { token }),
    });

  /** A verdict notification owed to the destination, as recordEvent writes it. */
  async function owedVerdict(destinationId: string, leased = false): Promise<string> {
    const { rows } = await api.database.pool.query<{ id: string }>(
      `insert into notification_deliveries (destination_id, event, event_key, payload, leased_until)
       values ($1, 'verdict', $2, $3, $4) returning id`,
      [
        destinationId,
        `verdict:${crypto.randomUUID()}`,
        JSON.stringify({
          schema_version: 1,
          event: "verdict",
          occurred_at: new Date().toISOString(),
          message: "owed",
          project: { id: crypto.randomUUID(), name: "shop" },
          deployment: null,
          verdict: null,
          decision: null,
        }),
        leased ? new Date(Date.now() + 60_000) : null,
      ],
    );
    return (rows[0] as { id: string }).id;
  }
  const deliveriesOf = async (destinationId: string) =>
    (await adminCall<{ items: Delivery[] }>(api, "GET", `/admin/destinations/${destinationId}/deliveries`))
      .body.items;

  describe("happy paths", () => {
    it("changes name, url, events and minimum verdict; the answer and the listing never hold the secret", async () => {
      const destination = await created();
      const response = await patch(destination.id, {
        name: "  release channel ",
        url: "https://other.example.test/hooks/abc",
        events: ["verdict.decided", "verdict", "verdict.decided"],
        min_verdict: "warning",
      });
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({
        ...destination,
        secret: undefined,
        name: "release channel",
        url_display: "https://other.example.test/…",
        events: ["verdict.decided", "verdict"],
        min_verdict: "warning",
      });
      expect(response.text).not.toContain(destination.secret as string);
      expect(response.body).not.toHaveProperty("secret");
      // What the worker posts to is the new URL; the secret is unchanged.
      const stored = await findDestination(api.database.db, destination.id);
      expect(stored).toMatchObject({
        url: "https://other.example.test/hooks/abc",
        secret: destination.secret,
        kind: "webhook",
      });
      const listed = await adminCall<{ items: Destination[] }>(
        api,
        "GET",
        `/admin/projects/${destination.project_id}/destinations`,
      );
      expect(listed.body.items.find((item) => item.id === destination.id)?.name).toBe("release channel");
      expect(listed.text).not.toContain(destination.secret as string);
    });

    it("disables and enables; a disabled destination's owed deliveries are dropped and logged, tests still go", async () => {
      const path = "/hooks/toggled";
      receiver.setup(path, { steps: [{ status: 200 }] });
      const destination = await created({ url: receiverUrl(path) });
      receiver.setSecret(path, destination.secret as string);
      const owed = await owedVerdict(destination.id);
      const test = await adminCall<{ delivery_id: string }>(
        api,
        "POST",
        `/admin/destinations/${destination.id}/test`,
      );

      const disabled = await patch(destination.id, { enabled: false });
      expect(disabled.status).toBe(200);
      expect(disabled.body.enabled).toBe(false);
      const items = await deliveriesOf(destination.id);
      expect(items.find((item) => item.delivery_id === owed)).toMatchObject({
        state: "failed",
        attempts: 1,
        log: [{ attempt: 1, status_code: null, error: DROPPED_DISABLED }],
      });
      // The worker finds nothing to send for it, and the test message is still sent on request.
      expect(await attemptDelivery(deliveryDeps(), owed)).toBe("not_due");
      expect(await attemptDelivery(deliveryDeps(), test.body.delivery_id)).toBe("delivered");
      const requests = receiver.requestsTo(path);
      expect(requests.map((request) => request.headers["x-seqpulse-event"])).toEqual(["test"]);

      const enabled = await patch(destination.id, { enabled: true });
      expect(enabled.body.enabled).toBe(true);
      // Re-enabling sends what is owed from now on; what was dropped stays dropped.
      const later = await owedVerdict(destination.id);
      expect(await attemptDelivery(deliveryDeps(), later)).toBe("delivered");
      expect((await deliveriesOf(destination.id)).find((item) => item.delivery_id === owed)?.state).toBe(
        "failed",
      );
    });

    it("drops a delivery held by an attempt when it was disabled, at its next attempt, without sending it", async () => {
      const path = "/hooks/held";
      receiver.setup(path, { steps: [{ status: 200 }] });
      const destination = await created({ url: receiverUrl(path) });
      const held = await owedVerdict(destination.id, true);
      await patch(destination.id, { enabled: false });
      // Held by a live attempt: left to finish, so still pending.
      expect((await deliveriesOf(destination.id))[0]?.state).toBe("pending");
      await api.database.pool.query(
        "update notification_deliveries set leased_until = now() - interval '1 second' where id = $1",
        [held],
      );
      expect(await attemptDelivery(deliveryDeps(), held)).toBe("failed");
      expect(receiver.requestsTo(path)).toEqual([]);
      const [logged] = await deliveriesOf(destination.id);
      expect(logged).toMatchObject({ state: "failed", log: [{ error: DROPPED_DISABLED }] });
    });

    it("rotates a webhook's secret: shown once, and the next attempt is signed with it", async () => {
      const path = "/hooks/rotated";
      receiver.setup(path, { steps: [{ status: 200 }] });
      const destination = await created({ url: receiverUrl(path) });
      const rotated = await adminCall<CreateDestinationResponse>(
        api,
        "POST",
        `/admin/destinations/${destination.id}/rotate-secret`,
      );
      expect(rotated.status, rotated.text).toBe(201);
      expect(rotated.body).toMatchObject({ id: destination.id, name: destination.name, kind: "webhook" });
      expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(rotated.body.secret).not.toBe(destination.secret);

      const owed = await owedVerdict(destination.id);
      expect(await attemptDelivery(deliveryDeps(), owed)).toBe("delivered");
      const [request] = receiver.requestsTo(path);
      const body = request?.body ?? "";
      expect(signatureProblem(request?.headers ?? {}, body, rotated.body.secret as string)).toBeNull();
      expect(signatureProblem(request?.headers ?? {}, body, destination.secret as string)).toBe(
        "bad signature",
      );
      const listed = await adminCall(api, "GET", `/admin/projects/${destination.project_id}/destinations`);
      expect(listed.text).not.toContain(rotated.body.secret as string);
    });
  });

  describe("errors", () => {
    it.each([
      [{}, "(root)", "send at least one field to change"],
      [{ kind: "slack" }, "(root)", "kind cannot change"],
      [{ name: "x", secret: "whsec_mine" }, "(root)", 'Unrecognized key: "secret"'],
      [{ name: "" }, "name", ""],
      [{ name: "n".repeat(101) }, "name", ""],
      [{ events: [] }, "events", "subscribe to at least one event"],
      [{ events: ["deployed"] }, "events.0", ""],
      [{ min_verdict: "fatal" }, "min_verdict", ""],
      [{ enabled: "no" }, "enabled", ""],
      [{ url: "ftp://hooks.example.test/x" }, "url", "must be an absolute http"],
      [{ url: null }, "url", ""],
    ])("refuses %j with 400 naming %s", async (body, path, message) => {
      const destination = await created();
      const problem = expectProblem(await patch(destination.id, body), 400, "validation_error");
      expect(problem.errors?.[0]?.path).toBe(path);
      expect(problem.errors?.[0]?.message).toContain(message);
      // Nothing changed.
      const stored = await findDestination(api.database.db, destination.id);
      expect(stored).toMatchObject({ name: "ops", events: ["verdict"], enabled: true, kind: "webhook" });
    });

    it("answers malformed JSON, a non-JSON body and an unknown or malformed id as problems", async () => {
      const destination = await created();
      expectProblem(await patch(destination.id, "{"), 400, "invalid_json");
      expectProblem(
        await adminCall(api, "PATCH", `/admin/destinations/${destination.id}`, {
          body: "enabled=false",
          contentType: "application/x-www-form-urlencoded",
        }),
        415,
        "unsupported_media_type",
      );
      expectProblem(
        await patch("00000000-0000-4000-8000-000000000000", { enabled: false }),
        404,
        "not_found",
      );
      expectProblem(await patch("not-a-uuid", { enabled: false }), 404, "not_found");
      expectProblem(
        await adminCall(
          api,
          "POST",
          "/admin/destinations/00000000-0000-4000-8000-000000000000/rotate-secret",
        ),
        404,
        "not_found",
      );
    });

    it("refuses to rotate a Slack destination's secret: it has none", async () => {
      const slack = await created({ kind: "slack", url: "https://hooks.example.test/services/T/B/x" });
      const problem = expectProblem(
        await adminCall(api, "POST", `/admin/destinations/${slack.id}/rotate-secret`),
        400,
        "validation_error",
      );
      expect(problem.detail).toContain("Slack destination has no signing secret");
      expect((await findDestination(api.database.db, slack.id))?.secret).toBeNull();
    });
  });

  describe("security", () => {
    it("keeps the admin token in front: no token, a wrong one or a project key get 401 and change nothing", async () => {
      const project = await api.createProject();
      const destination = await created({}, project);
      for (const token of [null, "wrong-token-wrong-token"]) {
        expectProblem(await patch(destination.id, { enabled: false }, token), 401, "unauthorized");
        expectProblem(
          await adminCall(api, "POST", `/admin/destinations/${destination.id}/rotate-secret`, { token }),
          401,
          "unauthorized",
        );
      }
      expectProblem(
        await call(api.baseUrl, "PATCH", `/admin/destinations/${destination.id}`, {
          key: project.api_key,
          body: { enabled: false },
        }),
        401,
        "unauthorized",
      );
      expectProblem(
        await call(api.baseUrl, "PATCH", `/admin/destinations/${destination.id}`, {
          key: project.api_key,
          auth: "bearer",
          body: { enabled: false },
        }),
        401,
        "unauthorized",
      );
      const stored = await findDestination(api.database.db, destination.id);
      expect(stored).toMatchObject({ enabled: true, secret: destination.secret });
    });

    it.each([
      "http://127.0.0.1:9/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/hook",
      "http://10.0.0.8/hook",
    ])("refuses to move a destination to the private address %s", async (url) => {
      const destination = await created();
      const problem = expectProblem(await patch(destination.id, { url }), 400, "validation_error");
      expect(problem.detail).toContain("SEQPULSE_ALLOW_PRIVATE_ENDPOINTS");
      expect(problem.errors).toEqual([{ path: "url", message: "is a private or reserved address" }]);
      expect((await findDestination(api.database.db, destination.id))?.url).toBe(
        "https://hooks.example.test/seqpulse",
      );
    });

    it("refuses a URL carrying credentials", async () => {
      const destination = await created();
      const problem = expectProblem(
        await patch(destination.id, { url: "https://user:pw@hooks.example.test/x" }),
        400,
        "validation_error",
      );
      expect(problem.errors).toEqual([{ path: "url", message: "must not carry credentials" }]);
    });
  });
});
