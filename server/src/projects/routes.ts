import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import {
  CreateProjectRequest,
  CreateProjectResponse,
  DeleteProjectQuery,
  DeleteProjectResponse,
  ProjectList,
  ProjectSettings,
  RotateApiKeyResponse,
  RotateCredentialRequest,
  RotateHmacSecretResponse,
  UpdateProjectRequest,
} from "@seqpulse/types";
import { z } from "zod";
import { AppError } from "../errors.js";
import { requireAdminToken } from "../http/auth.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { readJsonBody, readOptionalJsonBody } from "../http/json.js";
import { ADMIN_SECURITY, jsonResponse, openapiRoute, problemResponses } from "../http/openapi.js";
import { validationError } from "../http/problem.js";
import {
  createProject,
  deleteProject,
  listProjects,
  rotateApiKey,
  rotateHmacSecret,
  setProjectDisabled,
  updateProject,
} from "./service.js";

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
      "project_name_taken",
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

const ProjectIdParams = z.object({ id: z.uuid() });

const jsonBody = <Schema extends z.ZodType>(schema: Schema, required = true) => ({
  required,
  content: { "application/json": { schema } },
});

const updateProjectRoute = createRoute({
  method: "patch",
  path: "/projects/{id}",
  tags: ["Admin"],
  operationId: "updateProject",
  summary: "Change a project's settings",
  description:
    "Every field of the creation request may be sent; absent fields stay as they are, and the result is validated as at creation. `metrics_endpoint: null` removes the endpoint; `dry_run` is `analysis.dry_run`. Timing changes are refused (409 `project_busy`) while a deployment is in its observation window.",
  security: ADMIN_SECURITY,
  request: { params: ProjectIdParams, body: jsonBody(UpdateProjectRequest) },
  responses: {
    200: jsonResponse(ProjectSettings, "The project as it is now."),
    ...problemResponses([
      "validation_error",
      "invalid_json",
      "unauthorized",
      "not_found",
      "project_name_taken",
      "project_busy",
      "payload_too_large",
      "unsupported_media_type",
      "service_unavailable",
    ]),
  },
});

const rotationErrors = problemResponses([
  "validation_error",
  "invalid_json",
  "unauthorized",
  "not_found",
  "payload_too_large",
  "unsupported_media_type",
  "service_unavailable",
]);

const rotateApiKeyRoute = createRoute({
  method: "post",
  path: "/projects/{id}/api-keys",
  tags: ["Admin"],
  operationId: "rotateProjectApiKey",
  summary: "Issue a new API key; the old one works for the grace period, then is refused",
  security: ADMIN_SECURITY,
  request: { params: ProjectIdParams, body: jsonBody(RotateCredentialRequest, false) },
  responses: {
    201: jsonResponse(RotateApiKeyResponse, "The new key, shown only now."),
    ...rotationErrors,
  },
});

const rotateHmacSecretRoute = createRoute({
  method: "post",
  path: "/projects/{id}/hmac-secret",
  tags: ["Admin"],
  operationId: "rotateProjectHmacSecret",
  summary: "Issue a new HMAC secret; SeqPulse signs with it at once",
  description:
    "Endpoints may accept the old secret as well until `previous_hmac_expires_at` (the SDK takes a list of secrets), so they can be redeployed with the new one meanwhile.",
  security: ADMIN_SECURITY,
  request: { params: ProjectIdParams, body: jsonBody(RotateCredentialRequest, false) },
  responses: {
    201: jsonResponse(RotateHmacSecretResponse, "The new secret, shown only now."),
    ...rotationErrors,
  },
});

const stateRoute = (action: "disable" | "enable") =>
  createRoute({
    method: "post",
    path: `/projects/{id}/${action}`,
    tags: ["Admin"],
    operationId: `${action}Project`,
    summary:
      action === "disable"
        ? "Disable a project: its API keys are refused with 403 project_disabled; its data stays"
        : "Enable a disabled project again",
    security: ADMIN_SECURITY,
    request: { params: ProjectIdParams },
    responses: {
      200: jsonResponse(ProjectSettings, "The project as it is now."),
      ...problemResponses(["unauthorized", "not_found", "service_unavailable"]),
    },
  });

const deleteProjectRoute = createRoute({
  method: "delete",
  path: "/projects/{id}",
  tags: ["Admin"],
  operationId: "deleteProject",
  summary: "Delete a project and all its data",
  description:
    "Removes the project with its deployments, samples, failures, verdicts and notification destinations. Refused (409 `project_busy`) while a deployment is running unless `force=true`.",
  security: ADMIN_SECURITY,
  request: { params: ProjectIdParams, query: DeleteProjectQuery },
  responses: {
    200: jsonResponse(DeleteProjectResponse, "What was deleted."),
    ...problemResponses([
      "validation_error",
      "unauthorized",
      "not_found",
      "project_busy",
      "service_unavailable",
    ]),
  },
});

function projectIdParam(id: string | undefined): string {
  if (!id || !ProjectIdParams.shape.id.safeParse(id).success) {
    throw new AppError("not_found", `no project ${JSON.stringify(id ?? "")} (project ids are UUIDs)`);
  }
  return id;
}

/** 404 `not_found` on these routes means the admin API is off (SEQPULSE_ADMIN_TOKEN unset). */
export function projectAdminRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  app.use(requireAdminToken(deps));

  openapiRoute(app, createProjectRoute, async (c) => {
    const input = await readJsonBody(c, CreateProjectRequest);
    const project = await createProject({ db: deps.db, input });
    c.get("logger").info("project created", { project_id: project.project_id });
    return c.json(project, 201);
  });

  openapiRoute(app, listProjectsRoute, async (c) =>
    c.json({ items: await listProjects({ db: deps.db }) }, 200),
  );

  openapiRoute(app, updateProjectRoute, async (c) => {
    const projectId = projectIdParam(c.req.param("id"));
    const input = await readJsonBody(c, UpdateProjectRequest);
    const project = await updateProject({ db: deps.db, projectId, input });
    c.get("logger").info("project updated", { project_id: projectId, fields: Object.keys(input) });
    return c.json(project, 200);
  });

  openapiRoute(app, rotateApiKeyRoute, async (c) => {
    const projectId = projectIdParam(c.req.param("id"));
    const { grace_seconds } = await readOptionalJsonBody(c, RotateCredentialRequest);
    const rotated = await rotateApiKey({ db: deps.db, projectId, graceSeconds: grace_seconds });
    c.get("logger").info("project API key rotated", { project_id: projectId, grace_seconds });
    return c.json(rotated, 201);
  });

  openapiRoute(app, rotateHmacSecretRoute, async (c) => {
    const projectId = projectIdParam(c.req.param("id"));
    const { grace_seconds } = await readOptionalJsonBody(c, RotateCredentialRequest);
    const rotated = await rotateHmacSecret({ db: deps.db, projectId, graceSeconds: grace_seconds });
    c.get("logger").info("project HMAC secret rotated", { project_id: projectId, grace_seconds });
    return c.json(rotated, 201);
  });

  for (const action of ["disable", "enable"] as const) {
    openapiRoute(app, stateRoute(action), async (c) => {
      const projectId = projectIdParam(c.req.param("id"));
      const project = await setProjectDisabled({ db: deps.db, projectId, disabled: action === "disable" });
      c.get("logger").info(`project ${action}d`, { project_id: projectId });
      return c.json(project, 200);
    });
  }

  openapiRoute(app, deleteProjectRoute, async (c) => {
    const projectId = projectIdParam(c.req.param("id"));
    const query = DeleteProjectQuery.safeParse(c.req.query());
    if (!query.success) throw validationError(query.error, "query");
    const deleted = await deleteProject({ db: deps.db, projectId, force: query.data.force === "true" });
    c.get("logger").info("project deleted", {
      project_id: projectId,
      deployments: deleted.deleted_deployments,
    });
    return c.json(deleted, 200);
  });

  return app;
}
