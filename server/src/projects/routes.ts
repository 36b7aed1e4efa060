import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { CreateProjectRequest, CreateProjectResponse, ProjectList } from "@seqpulse/types";
import { requireAdminToken } from "../http/auth.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { readJsonBody } from "../http/json.js";
import { ADMIN_SECURITY, jsonResponse, openapiRoute, problemResponses } from "../http/openapi.js";
import { createProject, listProjects } from "./service.js";

const createProjectRoute = createRoute({
  method: "post",
  path: "/projects",
  tags: ["Admin"],
  operationId: "createProject",
  summary: "Create a project; answers its API key and HMAC secret once",
  security: ADMIN_SECURITY,
  request: { body: { required: true, content: { "application/json": { schema: CreateProjectRequest } } } },
  responses: {
    201: jsonResponse(
      CreateProjectResponse,
      "The project, with its API key and HMAC secret (shown only now).",
    ),
    ...problemResponses([
      "validation_error",
      "invalid_json",
      "unauthorized",
      "not_found",
      "payload_too_large",
      "unsupported_media_type",
      "service_unavailable",
    ]),
  },
});

const listProjectsRoute = createRoute({
  method: "get",
  path: "/projects",
  tags: ["Admin"],
  operationId: "listProjects",
  summary: "Every project's settings (never its keys)",
  security: ADMIN_SECURITY,
  responses: {
    200: jsonResponse(ProjectList, "The projects."),
    ...problemResponses(["unauthorized", "not_found", "service_unavailable"]),
  },
});

/** 404 `not_found` on these routes means the admin API is off (SEQPULSE_ADMIN_TOKEN unset). */
export function projectAdminRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  app.use(requireAdminToken(deps.adminToken));

  openapiRoute(app, createProjectRoute, async (c) => {
    const input = await readJsonBody(c, CreateProjectRequest);
    const project = await createProject({ db: deps.db, input });
    c.get("logger").info("project created", { project_id: project.project_id });
    return c.json(project, 201);
  });

  openapiRoute(app, listProjectsRoute, async (c) =>
    c.json({ items: await listProjects({ db: deps.db }) }, 200),
  );

  return app;
}
