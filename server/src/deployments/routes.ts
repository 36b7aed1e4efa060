import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import {
  CancelRequest,
  Deployment,
  DeploymentDetail,
  DeploymentList,
  FinishRequest,
  FinishResponse,
  ListDeploymentsQuery,
  TriggerRequest,
  TriggerResponse,
} from "@seqpulse/types";
import { z } from "zod";
import { AppError } from "../errors.js";
import { requireApiKey } from "../http/auth.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { readJsonBody, readOptionalJsonBody } from "../http/json.js";
import { API_KEY_SECURITY, jsonResponse, openapiRoute, problemResponses } from "../http/openapi.js";
import { validationError } from "../http/problem.js";
import { headerValues } from "../http/request.js";
import { systemResolver } from "./endpoint-check.js";
import { resolveIdempotencyKey } from "./idempotency-key.js";
import {
  cancelDeployment,
  finishDeployment,
  getDeployment,
  listDeployments,
  triggerDeployment,
} from "./service.js";

const TriggerHeaders = z.object({
  "idempotency-key": z
    .string()
    .optional()
    .describe("The deploy's idempotency key: plain, or an RFC 8941 quoted string. Sent once."),
  "x-idempotency-key": z.string().optional().describe("The same, under its older name."),
});

const DeploymentIdParams = z.object({ id: z.uuid() });

const jsonBody = <Schema extends z.ZodType>(schema: Schema) => ({
  required: true,
  content: { "application/json": { schema } },
});

const triggerRoute = createRoute({
  method: "post",
  path: "/trigger",
  tags: ["Deployments"],
  operationId: "triggerDeployment",
  summary: "Start a deployment (idempotent)",
  security: API_KEY_SECURITY,
  request: { headers: TriggerHeaders, body: jsonBody(TriggerRequest) },
  responses: {
    201: jsonResponse(TriggerResponse, "A new deployment."),
    200: jsonResponse(
      TriggerResponse,
      "An existing deployment: the key was seen before (`reason: idempotency_key`), or one is running in the environment and the project joins it (`reason: running`).",
      {
        "Idempotent-Replayed": {
          description: "`true` when the key was seen before.",
          schema: { type: "string" },
        },
      },
    ),
    ...problemResponses([
      "validation_error",
      "invalid_json",
      "idempotency_key_invalid",
      "idempotency_key_conflict",
      "env_not_allowed",
      "metrics_endpoint_required",
      "metrics_endpoint_mismatch",
      "metrics_endpoint_private",
      "unauthorized",
      "project_disabled",
      "environment_busy",
      "payload_too_large",
      "unsupported_media_type",
      "idempotency_key_reused",
      "service_unavailable",
    ]),
  },
});

const finishRoute = createRoute({
  method: "post",
  path: "/finish",
  tags: ["Deployments"],
  operationId: "finishDeployment",
  summary: "Report the pipeline's result; starts the observation window",
  description:
    "Names the deployment by `deployment_id`, or by `env` and `idempotency_key`: the key it was triggered with, or the key of a trigger that joined it.",
  security: API_KEY_SECURITY,
  request: { body: jsonBody(FinishRequest) },
  responses: {
    202: jsonResponse(FinishResponse, "The deployment was running: it is finished now (`status: accepted`)."),
    200: jsonResponse(
      FinishResponse,
      "The deployment was not running (`status: ignored`); nothing changed, so retries are safe.",
    ),
    ...problemResponses([
      "validation_error",
      "invalid_json",
      "unauthorized",
      "project_disabled",
      "not_found",
      "payload_too_large",
      "unsupported_media_type",
      "service_unavailable",
    ]),
  },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/{id}/cancel",
  tags: ["Deployments"],
  operationId: "cancelDeployment",
  summary: "Discard a deployment before its analysis (idempotent)",
  description:
    "A running or finished deployment that has not been analyzed moves to `cancelled`: it is not observed and gets no verdict, and a running one frees its environment. The body is optional; `by` and `reason` are kept on the record.",
  security: API_KEY_SECURITY,
  request: {
    params: DeploymentIdParams,
    body: { required: false, content: { "application/json": { schema: CancelRequest } } },
  },
  responses: {
    200: jsonResponse(Deployment, "The cancelled deployment (also when it was cancelled before)."),
    ...problemResponses([
      "validation_error",
      "invalid_json",
      "unauthorized",
      "project_disabled",
      "not_found",
      "deployment_not_cancellable",
      "payload_too_large",
      "unsupported_media_type",
      "service_unavailable",
    ]),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Deployments"],
  operationId: "listDeployments",
  summary: "The project's deployments, newest first, with their verdicts",
  security: API_KEY_SECURITY,
  request: { query: ListDeploymentsQuery },
  responses: {
    200: jsonResponse(DeploymentList, "One page; `next_cursor` is null on the last."),
    ...problemResponses(["validation_error", "unauthorized", "project_disabled", "service_unavailable"]),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["Deployments"],
  operationId: "getDeployment",
  summary: "One deployment with its samples, collection failures and verdict",
  security: API_KEY_SECURITY,
  request: { params: DeploymentIdParams },
  responses: {
    200: jsonResponse(DeploymentDetail, "The deployment."),
    ...problemResponses(["unauthorized", "project_disabled", "not_found", "service_unavailable"]),
  },
});

function deploymentIdParam(id: string | undefined): string {
  if (!id || !DeploymentIdParams.shape.id.safeParse(id).success) {
    throw new AppError(
      "not_found",
      `no deployment ${JSON.stringify(id ?? "")} in this project (ids are UUIDs)`,
    );
  }
  return id;
}

export function deploymentRoutes(deps: AppDeps) {
  const { db, queue, runningTimeoutSeconds } = deps;
  const endpointPolicy = {
    allowPrivate: deps.allowPrivateEndpoints === true,
    resolveHost: deps.resolveHost ?? systemResolver,
  };
  const app = new OpenAPIHono<AppEnv>();
  app.use(requireApiKey(deps));

  openapiRoute(app, triggerRoute, async (c) => {
    const body = await readJsonBody(c, TriggerRequest);
    const idempotencyKey = resolveIdempotencyKey({
      idempotencyKeyHeaders: headerValues(c, "idempotency-key"),
      xIdempotencyKeyHeaders: headerValues(c, "x-idempotency-key"),
      body: body.idempotency_key,
    });
    const outcome = await triggerDeployment({
      db,
      queue,
      project: c.get("project"),
      runningTimeoutSeconds,
      endpointPolicy,
      input: {
        env: body.env,
        branch: body.branch,
        commitSha: body.commit_sha,
        metricsEndpoint: body.metrics_endpoint,
        idempotencyKey,
        ci: body.ci,
      },
    }).catch((error: unknown) => {
      if (error instanceof AppError && error.code === "environment_busy")
        deps.metrics?.triggers.inc({ outcome: "rejected" });
      throw error;
    });
    deps.metrics?.triggers.inc({
      outcome: outcome.created ? "created" : outcome.replayed ? "replayed" : "joined",
    });
    if (outcome.created) {
      c.get("logger").info("deployment created", {
        deployment_id: outcome.created.id,
        deployment_number: outcome.created.deploymentNumber,
        env: outcome.created.env,
      });
      return c.json(outcome.response, 201);
    }
    if (outcome.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(outcome.response, 200);
  });

  openapiRoute(app, finishRoute, async (c) => {
    const body = await readJsonBody(c, FinishRequest);
    const { response, finished } = await finishDeployment({
      db,
      queue,
      project: c.get("project"),
      target:
        body.deployment_id !== undefined
          ? { deploymentId: body.deployment_id }
          : { env: body.env ?? "", idempotencyKey: body.idempotency_key ?? "" },
      result: body.result,
      runningTimeoutSeconds,
    });
    if (finished) {
      c.get("logger").info("deployment finished", {
        deployment_id: finished.id,
        result: finished.pipelineResult,
      });
      return c.json(response, 202);
    }
    return c.json(response, 200);
  });

  openapiRoute(app, listRoute, async (c) => {
    const parsed = ListDeploymentsQuery.safeParse(c.req.query());
    if (!parsed.success) throw validationError(parsed.error, "query");
    return c.json(await listDeployments({ db, project: c.get("project"), query: parsed.data }), 200);
  });

  openapiRoute(app, getRoute, async (c) => {
    const id = deploymentIdParam(c.req.param("id"));
    return c.json(await getDeployment({ db, project: c.get("project"), deploymentId: id }), 200);
  });

  openapiRoute(app, cancelRoute, async (c) => {
    const id = deploymentIdParam(c.req.param("id"));
    const body = await readOptionalJsonBody(c, CancelRequest);
    const { deployment, cancelled } = await cancelDeployment({
      db,
      project: c.get("project"),
      deploymentId: id,
      reason: body.reason,
      by: body.by,
    });
    if (cancelled) {
      c.get("logger").info("deployment cancelled", {
        deployment_id: deployment.id,
        by: deployment.cancelled_by,
      });
    }
    return c.json(deployment, 200);
  });

  return app;
}
