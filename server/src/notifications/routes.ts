import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import {
  CreateDestinationRequest,
  CreateDestinationResponse,
  DeliveryList,
  Destination,
  DestinationList,
  RotateDestinationSecretResponse,
  TestDeliveryResponse,
  UpdateDestinationRequest,
} from "@seqpulse/types";
import { z } from "zod";
import { AppError } from "../errors.js";
import { requireAdminToken } from "../http/auth.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { readJsonBody } from "../http/json.js";
import { ADMIN_SECURITY, jsonResponse, openapiRoute, problemResponses } from "../http/openapi.js";
import { validationError } from "../http/problem.js";
import {
  createDestination,
  deleteDestination,
  listDeliveries,
  listDestinations,
  rotateDestinationSecret,
  sendTest,
  updateDestination,
} from "./destinations.js";

const ProjectParams = z.object({ projectId: z.uuid() });
const DestinationParams = z.object({ destinationId: z.uuid() });
const DeletedDestination = z.object({ id: z.uuid(), deleted: z.literal(true) });
const DeliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

const createDestinationRoute = createRoute({
  method: "post",
  path: "/projects/{projectId}/destinations",
  tags: ["Admin"],
  operationId: "createNotificationDestination",
  summary: "Add a Slack or generic webhook destination; a webhook's signing secret is answered once",
  security: ADMIN_SECURITY,
  request: {
    params: ProjectParams,
    body: { required: true, content: { "application/json": { schema: CreateDestinationRequest } } },
  },
  responses: {
    201: jsonResponse(
      CreateDestinationResponse,
      "The destination, with its signing secret (webhooks; shown only now).",
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

const listDestinationsRoute = createRoute({
  method: "get",
  path: "/projects/{projectId}/destinations",
  tags: ["Admin"],
  operationId: "listNotificationDestinations",
  summary: "The project's notification destinations (never their secrets)",
  security: ADMIN_SECURITY,
  request: { params: ProjectParams },
  responses: {
    200: jsonResponse(DestinationList, "The destinations."),
    ...problemResponses(["unauthorized", "not_found", "service_unavailable"]),
  },
});

const updateDestinationRoute = createRoute({
  method: "patch",
  path: "/destinations/{destinationId}",
  tags: ["Admin"],
  operationId: "updateNotificationDestination",
  summary: "Change a destination: name, url, events, min_verdict, enabled",
  description:
    "Absent fields stay as they are; sent ones are validated as at creation (a new `url` passes the same private-address guard). `kind` cannot change. `enabled: false` stops new deliveries and drops those still owed (marked `failed`, logged as not sent); test messages are still sent on request. A new `url` applies to every attempt from now on, retries included. The answer never holds the secret.",
  security: ADMIN_SECURITY,
  request: {
    params: DestinationParams,
    body: { required: true, content: { "application/json": { schema: UpdateDestinationRequest } } },
  },
  responses: {
    200: jsonResponse(Destination, "The destination as it is now."),
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

const rotateSecretRoute = createRoute({
  method: "post",
  path: "/destinations/{destinationId}/rotate-secret",
  tags: ["Admin"],
  operationId: "rotateNotificationDestinationSecret",
  summary: "A new signing secret for a generic webhook, answered once",
  description:
    "Every attempt from now on is signed with the new secret, retries of earlier events included; the old one signs nothing more, so update the receiver right away. A Slack destination has no secret (400 `validation_error`): change its `url` instead.",
  security: ADMIN_SECURITY,
  request: { params: DestinationParams },
  responses: {
    201: jsonResponse(
      RotateDestinationSecretResponse,
      "The destination with its new secret, shown only now.",
    ),
    ...problemResponses(["validation_error", "unauthorized", "not_found", "service_unavailable"]),
  },
});

const deleteDestinationRoute = createRoute({
  method: "delete",
  path: "/destinations/{destinationId}",
  tags: ["Admin"],
  operationId: "deleteNotificationDestination",
  summary: "Remove a destination and its delivery log",
  security: ADMIN_SECURITY,
  request: { params: DestinationParams },
  responses: {
    200: jsonResponse(DeletedDestination, "Removed, with its delivery log."),
    ...problemResponses(["unauthorized", "not_found", "service_unavailable"]),
  },
});

const testDestinationRoute = createRoute({
  method: "post",
  path: "/destinations/{destinationId}/test",
  tags: ["Admin"],
  operationId: "testNotificationDestination",
  summary: "Send a test message; it is delivered (and retried) like any notification",
  security: ADMIN_SECURITY,
  request: { params: DestinationParams },
  responses: {
    202: jsonResponse(TestDeliveryResponse, "The test delivery is queued; follow it in the delivery log."),
    ...problemResponses(["unauthorized", "not_found", "service_unavailable"]),
  },
});

const deliveriesRoute = createRoute({
  method: "get",
  path: "/destinations/{destinationId}/deliveries",
  tags: ["Admin"],
  operationId: "listNotificationDeliveries",
  summary: "The destination's delivery log, newest first, with every attempt",
  security: ADMIN_SECURITY,
  request: { params: DestinationParams, query: DeliveriesQuery },
  responses: {
    200: jsonResponse(DeliveryList, "The deliveries."),
    ...problemResponses(["validation_error", "unauthorized", "not_found", "service_unavailable"]),
  },
});

function param(value: string | undefined, schema: z.ZodType, what: string): string {
  if (!schema.safeParse(value).success) {
    throw new AppError("not_found", `no ${what} ${JSON.stringify(value ?? "")} (ids are UUIDs)`);
  }
  return value as string;
}

/** Notification destinations per project, behind the admin token like the project routes. */
export function notificationAdminRoutes(deps: AppDeps) {
  const { db } = deps;
  const app = new OpenAPIHono<AppEnv>();
  app.use("/projects/:projectId/destinations", requireAdminToken(deps));
  app.use("/destinations/*", requireAdminToken(deps));

  openapiRoute(app, createDestinationRoute, async (c) => {
    const projectId = param(c.req.param("projectId"), ProjectParams.shape.projectId, "project");
    const input = await readJsonBody(c, CreateDestinationRequest);
    const destination = await createDestination({
      db,
      projectId,
      input,
      allowPrivateEndpoints: deps.allowPrivateEndpoints === true,
    });
    c.get("logger").info("notification destination created", {
      destination_id: destination.id,
      project_id: projectId,
      kind: destination.kind,
    });
    return c.json(destination, 201);
  });

  openapiRoute(app, listDestinationsRoute, async (c) => {
    const projectId = param(c.req.param("projectId"), ProjectParams.shape.projectId, "project");
    return c.json({ items: await listDestinations({ db, projectId }) }, 200);
  });

  openapiRoute(app, updateDestinationRoute, async (c) => {
    const destinationId = param(
      c.req.param("destinationId"),
      DestinationParams.shape.destinationId,
      "destination",
    );
    const input = await readJsonBody(c, UpdateDestinationRequest);
    const destination = await updateDestination({
      db,
      destinationId,
      input,
      allowPrivateEndpoints: deps.allowPrivateEndpoints === true,
    });
    c.get("logger").info("notification destination updated", {
      destination_id: destinationId,
      project_id: destination.project_id,
      fields: Object.keys(input),
    });
    return c.json(destination, 200);
  });

  openapiRoute(app, rotateSecretRoute, async (c) => {
    const destinationId = param(
      c.req.param("destinationId"),
      DestinationParams.shape.destinationId,
      "destination",
    );
    const rotated = await rotateDestinationSecret({ db, destinationId });
    c.get("logger").info("notification destination secret rotated", {
      destination_id: destinationId,
      project_id: rotated.project_id,
    });
    return c.json(rotated, 201);
  });

  openapiRoute(app, deleteDestinationRoute, async (c) => {
    const destinationId = param(
      c.req.param("destinationId"),
      DestinationParams.shape.destinationId,
      "destination",
    );
    await deleteDestination({ db, destinationId });
    return c.json({ id: destinationId, deleted: true as const }, 200);
  });

  openapiRoute(app, testDestinationRoute, async (c) => {
    const destinationId = param(
      c.req.param("destinationId"),
      DestinationParams.shape.destinationId,
      "destination",
    );
    return c.json(await sendTest({ db, destinationId }), 202);
  });

  openapiRoute(app, deliveriesRoute, async (c) => {
    const destinationId = param(
      c.req.param("destinationId"),
      DestinationParams.shape.destinationId,
      "destination",
    );
    const query = DeliveriesQuery.safeParse(c.req.query());
    if (!query.success) throw validationError(query.error, "query");
    return c.json({ items: await listDeliveries({ db, destinationId, limit: query.data.limit }) }, 200);
  });

  return app;
}
