import { createHash, randomBytes } from "node:crypto";
import {
  CreateDestinationRequest,
  DecisionValue,
  type Delivery,
  MAX_DECISION_NOTE_LENGTH,
  NotificationEvent,
} from "@seqpulse/types";
import { sql } from "drizzle-orm";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { deploymentDecisions } from "../db/schema/index.js";
import { getDeployment } from "../deployments/service.js";
import { AppError } from "../errors.js";
import { clientAddress, countAuthFailure, refuseAddressOverFailureLimit } from "../http/auth.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { takeToken } from "../http/rate-limit.js";
import {
  createDestination,
  deleteDestination,
  findDestination,
  listDeliveries,
  listDestinations,
  rotateDestinationSecret,
  sendTest,
  updateDestination,
} from "../notifications/destinations.js";
import { recordEvent } from "../notifications/outbox.js";
import { secretMatches, sha256Hex } from "../projects/credentials.js";
import { authenticateApiKey } from "../projects/service.js";
import { type Assets, loadAssets } from "./assets.js";
import { type Html, page } from "./layout.js";
import {
  deploymentPage,
  deploymentsPage,
  deploymentVersion,
  errorPage,
  isLive,
  notificationsPage,
  projectsPage,
  signInPage,
} from "./pages.js";
import {
  DeploymentFilters,
  filterChoices,
  listFilteredDeployments,
  projectById,
  projectOfDeployment,
  projectOverview,
} from "./queries.js";
import {
  clearConsoleCookie,
  readCookie,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  SessionKeys,
  setConsoleCookie,
  VISITOR_COOKIE,
  type Viewer,
} from "./session.js";

/** How often a live page asks whether it changed. */
export const LIVE_REFRESH_MS = { deployment: 2000, list: 5000 } as const;
const DELIVERY_LOG_ROWS = 20;
const Uuid = z.uuid();

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "same-origin",
  "Cache-Control": "no-store",
};

/**
 * A path to return to after signing in: only a path on this server (`/…`, not `//host` or
 * `/\host`, which browsers treat as another origin).
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.length > 2000) return "/";
  if ([...value].some((char) => char === "\\" || char.charCodeAt(0) < 0x20)) return "/";
  const base = "http://console.invalid";
  try {
    const url = new URL(value, base);
    return url.origin === base ? `${url.pathname}${url.search}` : "/";
  } catch {
    return "/";
  }
}

/** A browser navigating to a page, rather than an API client with a key. */
function wantsPage(c: Context): boolean {
  return (
    c.req.header("x-api-key") === undefined &&
    c.req.header("authorization") === undefined &&
    (c.req.header("accept") ?? "").includes("text/html")
  );
}

export function consoleRoutes(deps: AppDeps) {
  const { db } = deps;
  const keys = new SessionKeys(deps.sessionSecret ?? randomBytes(32).toString("base64url"));
  const assets: Assets = loadAssets();
  const adminHash = deps.adminToken ? sha256Hex(deps.adminToken) : undefined;
  const app = new Hono<AppEnv>();

  async function viewerOf(c: Context): Promise<{ viewer: Viewer; nonce: string } | undefined> {
    const claims = keys.read(readCookie(c, SESSION_COOKIE));
    if (!claims) return undefined;
    if (claims.sub === "admin") {
      return adminHash && claims.cred === keys.credentialTag(adminHash)
        ? { viewer: { kind: "admin" }, nonce: claims.nonce }
        : undefined;
    }
    if (!Uuid.safeParse(claims.sub).success) return undefined;
    const project = await projectById(db, claims.sub);
    // A disabled project's sessions end with it, as its keys are refused.
    return project && !project.disabledAt && claims.cred === keys.credentialTag(project.apiKeyHash)
      ? { viewer: { kind: "project", project }, nonce: claims.nonce }
      : undefined;
  }

  async function render(
    c: Context,
    status: number,
    shell: {
      title: string;
      body: Html;
      session?: { viewer: Viewer; nonce: string };
      charts?: boolean;
      live?: { refreshMs: number; version: string };
    },
  ): Promise<Response> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
    if (c.req.query("fragment") === "1") {
      c.header("X-SeqPulse-Live", shell.live ? "true" : "false");
      if (shell.live) c.header("X-SeqPulse-Version", shell.live.version);
      return c.html(await shell.body, status as 200);
    }
    return c.html(
      await page({
        title: shell.title,
        body: shell.body,
        assets: assets.shell,
        charts: shell.charts,
        live: shell.live,
        viewer: shell.session?.viewer,
        csrf: shell.session ? keys.csrfToken(shell.session.nonce) : undefined,
      }),
      status as 200,
    );
  }

  const notFound = (c: Context, session: { viewer: Viewer; nonce: string }, what: string) =>
    render(c, 404, { title: "Not found", session, body: errorPage("Not found", what) });

  function toSignIn(c: Context): Response {
    const url = new URL(c.req.url);
    return c.redirect(`/sign-in?return_to=${encodeURIComponent(`${url.pathname}${url.search}`)}`, 303);
  }

  const csrfRefused = (c: Context, session?: { viewer: Viewer; nonce: string }) =>
    render(c, 403, {
      title: "Form refused",
      session,
      body: errorPage(
        "Form refused",
        "The form could not be verified: its security token is missing or out of date. Reload the page and submit it again.",
      ),
    });

  /** The signed-in viewer of a form post whose CSRF token matches; otherwise the response to send. */
  async function formSession(
    c: Context,
  ): Promise<
    { session: { viewer: Viewer; nonce: string }; form: Record<string, string | string[]> } | Response
  > {
    const session = await viewerOf(c);
    if (!session) return toSignIn(c);
    const form = await formBody(c);
    if (!keys.csrfMatches(session.nonce, form._csrf)) return csrfRefused(c, session);
    return { session, form };
  }

  function canSee(viewer: Viewer, projectId: string): boolean {
    return viewer.kind === "admin" || viewer.project.id === projectId;
  }

  /**
   * Every console page, form and live poll spends a token from the API's PostgreSQL token buckets
   * (shared by every API process): one bucket per signed-in session, whatever address it comes
   * from, so people behind one proxy do not share; one per client address before signing in.
   * Assets are exempt: they are served from memory and cached for good by the browser, so a
   * database write for each would cost more than the asset.
   */
  const consoleLimit = deps.rateLimits?.console;
  const throttle: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (!consoleLimit) return next();
    const claims = keys.read(readCookie(c, SESSION_COOKIE));
    const bucket = claims
      ? `console-session:${claims.nonce}`
      : `console-address:${clientAddress(c, deps.trustedProxies)}`;
    const decision = await takeToken(db, bucket, consoleLimit);
    if (decision.allowed) return next();
    c.header("Retry-After", String(decision.retryAfterSeconds));
    return render(c, 429, {
      title: "Too many requests",
      body: errorPage(
        "Too many requests",
        `This ${claims ? "session" : "address"} sent more than ${consoleLimit.burst} requests at once or ${consoleLimit.perSecond} a second. Wait ${decision.retryAfterSeconds} s, then reload the page.`,
      ),
    });
  };
  for (const path of [
    "/sign-in",
    "/sign-out",
    "/projects/*",
    "/notifications/*",
    "/deployments/:id/decision",
  ])
    app.use(path, throttle);
  // These paths also answer API clients, which the API's own limits cover.
  for (const path of ["/", "/deployments/:id"])
    app.use(path, (c, next) => (wantsPage(c) ? throttle(c, next) : next()));

  app.get("/assets/:name", (c) => {
    const asset = assets.byName.get(c.req.param("name"));
    if (!asset) return c.text("not found", 404);
    c.header("Content-Type", asset.contentType);
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("X-Content-Type-Options", "nosniff");
    return c.body(new Uint8Array(asset.body));
  });

  app.get("/sign-in", async (c) => {
    const session = await viewerOf(c);
    const returnTo = safeReturnTo(c.req.query("return_to"));
    if (session) return c.redirect(returnTo, 303);
    let nonce = keys.visitorNonce(readCookie(c, VISITOR_COOKIE));
    if (!nonce) {
      const visitor = keys.newVisitor();
      setConsoleCookie(c, VISITOR_COOKIE, visitor, 3600);
      nonce = keys.visitorNonce(visitor) as string;
    }
    return render(c, 200, { title: "Sign in", body: signInPage({ csrf: keys.csrfToken(nonce), returnTo }) });
  });

  app.post("/sign-in", async (c) => {
    const form = await formBody(c);
    const returnTo = safeReturnTo(form.return_to);
    const nonce = keys.visitorNonce(readCookie(c, VISITOR_COOKIE));
    if (!nonce || !keys.csrfMatches(nonce, form._csrf)) return csrfRefused(c);
    const refused = (status: number, error: string) =>
      render(c, status, {
        title: "Sign in",
        body: signInPage({ csrf: keys.csrfToken(nonce), returnTo, error }),
      });
    const credential = typeof form.credential === "string" ? form.credential.trim() : "";
    let subject: { sub: string; hash: string } | undefined;
    try {
      // The API's limit on failed authentications per address applies here too.
      await refuseAddressOverFailureLimit(c, deps);
      if (adminHash && credential !== "" && secretMatches(credential, adminHash)) {
        subject = { sub: "admin", hash: adminHash };
      } else if (credential !== "") {
        const project = await authenticateApiKey({ db, apiKey: credential });
        if (project) subject = { sub: project.id, hash: project.apiKeyHash };
      }
    } catch (error) {
      if (error instanceof AppError && (error.code === "project_disabled" || error.code === "rate_limited")) {
        return refused(error.status, `${error.detail.charAt(0).toUpperCase()}${error.detail.slice(1)}.`);
      }
      throw error;
    }
    if (!subject) {
      await countAuthFailure(c, deps);
      c.get("logger").warn("console sign-in refused");
      return refused(401, "That is not a valid project API key or admin token.");
    }
    setConsoleCookie(c, SESSION_COOKIE, keys.issue(subject.sub, subject.hash), SESSION_TTL_SECONDS);
    clearConsoleCookie(c, VISITOR_COOKIE);
    c.get("logger").info("console sign-in", {
      as: subject.sub === "admin" ? "admin" : "project",
      project_id: subject.sub === "admin" ? undefined : subject.sub,
    });
    return c.redirect(returnTo, 303);
  });

  app.post("/sign-out", async (c) => {
    const posted = await formSession(c);
    if (posted instanceof Response) return posted;
    clearConsoleCookie(c, SESSION_COOKIE);
    return c.redirect("/sign-in", 303);
  });

  app.get("/", async (c, next) => {
    if (!wantsPage(c)) return next();
    const session = await viewerOf(c);
    if (!session) return toSignIn(c);
    if (session.viewer.kind === "project") return c.redirect(`/projects/${session.viewer.project.id}`, 303);
    const overview = await projectOverview(db);
    return render(c, 200, {
      title: "Projects",
      session,
      body: projectsPage(overview),
      live: { refreshMs: LIVE_REFRESH_MS.list, version: versionOf(overview) },
    });
  });

  app.get("/projects/:projectId", async (c) => {
    const session = await viewerOf(c);
    if (!session) return toSignIn(c);
    const projectId = c.req.param("projectId");
    const project =
      Uuid.safeParse(projectId).success && canSee(session.viewer, projectId)
        ? await projectById(db, projectId)
        : undefined;
    if (!project) return notFound(c, session, "There is no such project, or this session cannot see it.");
    const parsed = DeploymentFilters.safeParse(c.req.query());
    if (!parsed.success) {
      return render(c, 400, {
        title: "Invalid filter",
        session,
        body: errorPage(
          "Invalid filter",
          parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "),
        ),
      });
    }
    const [choices, list] = await Promise.all([
      filterChoices(db, project.id),
      listFilteredDeployments(db, project.id, parsed.data),
    ]);
    return render(c, 200, {
      title: `${project.name}: deployments`,
      session,
      body: deploymentsPage({ project, viewer: session.viewer, filters: parsed.data, choices, list }),
      live: { refreshMs: LIVE_REFRESH_MS.list, version: versionOf(list.rows) },
    });
  });

  app.get("/deployments/:id", async (c, next) => {
    if (!wantsPage(c)) return next();
    const session = await viewerOf(c);
    if (!session) return toSignIn(c);
    const id = c.req.param("id");
    const project = Uuid.safeParse(id).success
      ? session.viewer.kind === "admin"
        ? await projectOfDeployment(db, id)
        : session.viewer.project
      : undefined;
    const detail = project
      ? await getDeployment({ db, project, deploymentId: id }).catch(notFoundAsUndefined)
      : undefined;
    if (!project || !detail)
      return notFound(c, session, "There is no such deployment, or this session cannot see it.");
    return render(c, 200, {
      title: `${project.name} ${detail.env} #${detail.deployment_number}`,
      session,
      charts: true,
      body: deploymentPage({ detail, project, viewer: session.viewer, csrf: keys.csrfToken(session.nonce) }),
      live: isLive(detail.state)
        ? { refreshMs: LIVE_REFRESH_MS.deployment, version: deploymentVersion(detail) }
        : undefined,
    });
  });

  app.post("/deployments/:id/decision", async (c) => {
    const posted = await formSession(c);
    if (posted instanceof Response) return posted;
    const { session, form } = posted;
    const id = c.req.param("id");
    const project = Uuid.safeParse(id).success
      ? session.viewer.kind === "admin"
        ? await projectOfDeployment(db, id)
        : session.viewer.project
      : undefined;
    const detail = project
      ? await getDeployment({ db, project, deploymentId: id }).catch(notFoundAsUndefined)
      : undefined;
    if (!project || !detail)
      return notFound(c, session, "There is no such deployment, or this session cannot see it.");
    const decision = DecisionValue.safeParse(form.decision);
    const note = typeof form.note === "string" ? form.note.trim() : "";
    if (!detail.verdict || !decision.success || note.length > MAX_DECISION_NOTE_LENGTH) {
      const why = !detail.verdict
        ? "This deployment has no verdict yet; decide once it is analyzed."
        : !decision.success
          ? "Choose “Verdict accepted” or “Rollback done”."
          : `The note is longer than ${MAX_DECISION_NOTE_LENGTH} characters.`;
      return render(c, 400, {
        title: "Decision not saved",
        session,
        body: errorPage("Decision not saved", why),
      });
    }
    const decidedBy =
      session.viewer.kind === "admin" ? "admin" : `project key ${session.viewer.project.apiKeyId}`;
    await db.transaction(async (tx) => {
      const values = {
        deploymentId: id,
        decision: decision.data,
        note: note || null,
        decidedBy,
        decidedAt: sql`now()`,
      };
      await tx
        .insert(deploymentDecisions)
        .values(values)
        .onConflictDoUpdate({ target: deploymentDecisions.deploymentId, set: values });
      await recordEvent(tx, { event: "verdict.decided", deploymentId: id });
    });
    c.get("logger").info("verdict decided", { deployment_id: id, decision: decision.data });
    return c.redirect(`/deployments/${id}#decision`, 303);
  });

  async function notificationsView(
    c: Context,
    session: { viewer: Viewer; nonce: string },
    projectId: string,
    extra: {
      status?: number;
      created?: { name: string; secret: string | null };
      rotated?: { name: string; secret: string };
      error?: string;
    } = {},
  ): Promise<Response> {
    const project =
      Uuid.safeParse(projectId).success && canSee(session.viewer, projectId)
        ? await projectById(db, projectId)
        : undefined;
    if (!project) return notFound(c, session, "There is no such project, or this session cannot see it.");
    const destinations = await listDestinations({ db, projectId: project.id });
    const deliveries = new Map<string, Delivery[]>();
    await Promise.all(
      destinations.map(async (destination) =>
        deliveries.set(
          destination.id,
          await listDeliveries({ db, destinationId: destination.id, limit: DELIVERY_LOG_ROWS }),
        ),
      ),
    );
    return render(c, extra.status ?? 200, {
      title: `${project.name}: notifications`,
      session,
      body: notificationsPage({
        project,
        viewer: session.viewer,
        csrf: keys.csrfToken(session.nonce),
        destinations,
        deliveries,
        created: extra.created,
        rotated: extra.rotated,
        error: extra.error,
      }),
    });
  }

  app.get("/projects/:projectId/notifications", async (c) => {
    const session = await viewerOf(c);
    if (!session) return toSignIn(c);
    return notificationsView(c, session, c.req.param("projectId"));
  });

  app.post("/projects/:projectId/notifications", async (c) => {
    const posted = await formSession(c);
    if (posted instanceof Response) return posted;
    const { session, form } = posted;
    const projectId = c.req.param("projectId");
    if (session.viewer.kind !== "admin")
      return notificationsView(c, session, projectId, {
        status: 403,
        error: "Only the admin token can add destinations.",
      });
    const events = [form.events ?? []].flat().filter((event) => NotificationEvent.safeParse(event).success);
    const input = CreateDestinationRequest.safeParse({
      name: form.name,
      kind: form.kind,
      url: form.url,
      events,
      min_verdict: form.min_verdict,
    });
    if (!input.success) {
      const error = input.error.issues
        .map((issue) => `${issue.path.join(".") || "form"}: ${issue.message}`)
        .join("; ");
      return notificationsView(c, session, projectId, { status: 400, error });
    }
    try {
      const created = await createDestination({
        db,
        projectId,
        input: input.data,
        allowPrivateEndpoints: deps.allowPrivateEndpoints === true,
      });
      return notificationsView(c, session, projectId, {
        status: 201,
        created: { name: created.name, secret: created.secret },
      });
    } catch (error) {
      if (error instanceof AppError && error.code !== "not_found")
        return notificationsView(c, session, projectId, { status: 400, error: error.detail });
      throw error;
    }
  });

  for (const action of ["test", "delete", "enable", "disable", "rotate-secret"] as const) {
    app.post(`/notifications/:destinationId/${action}`, async (c) => {
      const posted = await formSession(c);
      if (posted instanceof Response) return posted;
      const { session } = posted;
      const destinationId = c.req.param("destinationId");
      const destination = Uuid.safeParse(destinationId).success
        ? await findDestination(db, destinationId)
        : undefined;
      if (!destination || !canSee(session.viewer, destination.projectId))
        return notFound(c, session, "There is no such destination.");
      if (session.viewer.kind !== "admin")
        return notificationsView(c, session, destination.projectId, {
          status: 403,
          error: "Only the admin token can change destinations.",
        });
      if (action === "rotate-secret") {
        if (destination.kind !== "webhook")
          return notificationsView(c, session, destination.projectId, {
            status: 400,
            error: "A Slack destination has no signing secret: its URL is the credential.",
          });
        // Shown on this page, once: a redirect would lose it.
        const rotated = await rotateDestinationSecret({ db, destinationId });
        c.get("logger").info("notification destination secret rotated", { destination_id: destinationId });
        return notificationsView(c, session, destination.projectId, {
          rotated: { name: rotated.name, secret: rotated.secret },
        });
      }
      if (action === "test") await sendTest({ db, destinationId });
      else if (action === "delete") await deleteDestination({ db, destinationId });
      else {
        await updateDestination({
          db,
          destinationId,
          input: { enabled: action === "enable" },
          allowPrivateEndpoints: deps.allowPrivateEndpoints === true,
        });
        c.get("logger").info(`notification destination ${action}d`, { destination_id: destinationId });
      }
      return c.redirect(`/projects/${destination.projectId}/notifications`, 303);
    });
  }

  return app;
}

/** A digest of what a list shows, so a live list is redrawn only when something in it changed. */
function versionOf(rows: unknown): string {
  return createHash("sha256").update(JSON.stringify(rows)).digest("base64url").slice(0, 16);
}

function notFoundAsUndefined(error: unknown): undefined {
  if (error instanceof AppError && error.code === "not_found") return undefined;
  throw error;
}

/** A urlencoded or multipart form; repeated fields become arrays. Anything else reads as empty. */
async function formBody(c: Context): Promise<Record<string, string | string[]>> {
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded") && !type.startsWith("multipart/form-data"))
    return {};
  const body = await c.req.parseBody({ all: true });
  const form: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(body)) {
    const values = [value].flat().filter((item): item is string => typeof item === "string");
    form[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return form;
}
