import type { CreateDestinationResponse, CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findDestination } from "../../server/src/notifications/destinations.js";
import { adminCall } from "../api/helpers.js";
import { startTestApi, TEST_ADMIN_TOKEN, type TestApi } from "../support/api.js";
import { consoleSession } from "./api.js";

/** The notifications page's enable/disable and rotate-secret forms, posted over real HTTP as a browser would. */
describe("console: enabling, disabling and rotating a destination's secret", () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.close());

  async function destinationOf(
    project: CreateProjectResponse,
    kind: "webhook" | "slack" = "webhook",
  ): Promise<CreateDestinationResponse> {
    const response = await adminCall<CreateDestinationResponse>(
      api,
      "POST",
      `/admin/projects/${project.project_id}/destinations`,
      {
        body: {
          name: `${kind} hook`,
          kind,
          url: "https://hooks.example.test/services/x",
          events: ["verdict"],
        },
      },
    );
    expect(response.status, response.text).toBe(201);
    return response.body;
  }
  /** The session cookie of an admin sign-in, for posts that carry no CSRF token. */
  async function adminCookie(): Promise<string> {
    const signInPage = await fetch(`${api.baseUrl}/sign-in`, { headers: { accept: "text/html" } });
    const visitor = signInPage.headers.getSetCookie().map((cookie) => cookie.split(";")[0]);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await signInPage.text())?.[1] ?? "";
    const signedIn = await fetch(`${api.baseUrl}/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: visitor.join("; "), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ credential: TEST_ADMIN_TOKEN, _csrf: csrf, return_to: "/" }),
    });
    expect(signedIn.status).toBe(303);
    const session = signedIn.headers
      .getSetCookie()
      .map((cookie) => cookie.split(";")[0] as string)
      .find((cookie) => cookie.startsWith("seqpulse_session=") && !cookie.endsWith("="));
    if (!session) throw new Error("no session cookie");
    return session;
  }
  const pageOf = (project: CreateProjectResponse) => `/projects/${project.project_id}/notifications`;

  it("disables and enables a destination with the admin token; the page offers the other button", async () => {
    const project = await api.createProject();
    const destination = await destinationOf(project);
    const admin = await consoleSession(api.baseUrl, TEST_ADMIN_TOKEN);
    const before = await (await admin.page(pageOf(project))).text();
    expect(before).toContain(`action="/notifications/${destination.id}/disable"`);
    expect(before).not.toContain(`action="/notifications/${destination.id}/enable"`);

    const disabled = await admin.submit(pageOf(project), `/notifications/${destination.id}/disable`, {});
    expect(disabled.status).toBe(303);
    expect(disabled.headers.get("location")).toBe(pageOf(project));
    expect((await findDestination(api.database.db, destination.id))?.enabled).toBe(false);
    const after = await (await admin.page(pageOf(project))).text();
    expect(after).toContain(`action="/notifications/${destination.id}/enable"`);
    expect(after).toMatch(/<dt>Enabled<\/dt><dd>no<\/dd>/);

    const enabled = await admin.submit(pageOf(project), `/notifications/${destination.id}/enable`, {});
    expect(enabled.status).toBe(303);
    expect((await findDestination(api.database.db, destination.id))?.enabled).toBe(true);
  });

  it("rotates a webhook's secret and shows the new one once; a Slack destination offers no rotation", async () => {
    const project = await api.createProject();
    const webhook = await destinationOf(project);
    const slack = await destinationOf(project, "slack");
    const admin = await consoleSession(api.baseUrl, TEST_ADMIN_TOKEN);
    const listing = await (await admin.page(pageOf(project))).text();
    expect(listing).toContain(`action="/notifications/${webhook.id}/rotate-secret"`);
    expect(listing).not.toContain(`action="/notifications/${slack.id}/rotate-secret"`);

    const rotated = await admin.submit(pageOf(project), `/notifications/${webhook.id}/rotate-secret`, {});
    expect(rotated.status).toBe(200);
    const shown = /<code id="new-secret">([^<]+)<\/code>/.exec(await rotated.text())?.[1];
    const stored = await findDestination(api.database.db, webhook.id);
    expect(shown).toBe(stored?.secret);
    expect(shown).not.toBe(webhook.secret);
    // Shown only then: the page reloaded does not hold it.
    expect(await (await admin.page(pageOf(project))).text()).not.toContain(shown);

    const refused = await admin.submit(pageOf(project), `/notifications/${slack.id}/rotate-secret`, {});
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("A Slack destination has no signing secret");
  });

  it("refuses a form without its CSRF token, and a project session, changing nothing", async () => {
    const project = await api.createProject();
    const destination = await destinationOf(project);
    // A cross-site form: the browser sends the session cookie, but the page's token is unknown.
    const cookie = await adminCookie();
    const withoutToken: Array<Record<string, string>> = [{}, { _csrf: "forged" }];
    for (const fields of withoutToken) {
      for (const action of ["disable", "enable", "rotate-secret"]) {
        const forged = await fetch(`${api.baseUrl}/notifications/${destination.id}/${action}`, {
          method: "POST",
          redirect: "manual",
          headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(fields),
        });
        expect(forged.status).toBe(403);
        expect(await forged.text()).toContain("Form refused");
      }
    }

    const viewer = await consoleSession(api.baseUrl, project.api_key);
    const page = await (await viewer.page(pageOf(project))).text();
    expect(page).not.toContain(`/notifications/${destination.id}/disable`);
    for (const action of ["disable", "rotate-secret"]) {
      const refused = await viewer.submit(pageOf(project), `/notifications/${destination.id}/${action}`, {});
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain("Only the admin token can change destinations.");
    }
    // Another project's session does not even see it.
    const other = await api.createProject();
    const stranger = await consoleSession(api.baseUrl, other.api_key);
    const hidden = await stranger.submit(pageOf(other), `/notifications/${destination.id}/disable`, {});
    expect(hidden.status).toBe(404);
    expect(await findDestination(api.database.db, destination.id)).toMatchObject({
      enabled: true,
      secret: destination.secret,
    });
  });
});
