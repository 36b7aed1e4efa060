import { FinishRequest, ListDeploymentsQuery, TriggerRequest } from "@seqpulse/types";
import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../errors.js";
import { requireApiKey } from "../http/auth.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { readJsonBody } from "../http/json.js";
import { validationError } from "../http/problem.js";
import { resolveIdempotencyKey } from "./idempotency-key.js";
import { finishDeployment, getDeployment, listDeployments, triggerDeployment } from "./service.js";

const DeploymentId = z.uuid();

export function deploymentRoutes(deps: AppDeps) {
  const { db, queue, runningTimeoutSeconds } = deps;
  return new Hono<AppEnv>()
    .use(requireApiKey(deps))
    .post("/trigger", async (c) => {
      const body = await readJsonBody(c, TriggerRequest);
      const idempotencyKey = resolveIdempotencyKey({
        idempotencyKeyHeader: c.req.header("idempotency-key"),
        xIdempotencyKeyHeader: c.req.header("x-idempotency-key"),
        body: body.idempotency_key,
      });
      const outcome = await triggerDeployment({
        db,
        queue,
        project: c.get("project"),
        runningTimeoutSeconds,
        input: {
          env: body.env,
          branch: body.branch,
          commitSha: body.commit_sha,
          metricsEndpoint: body.metrics_endpoint,
          idempotencyKey,
          ci: body.ci,
        },
      });
      const log = c.get("logger");
      if (outcome.created) {
        log.info("deployment created", {
          deployment_id: outcome.created.id,
          deployment_number: outcome.created.deploymentNumber,
          env: outcome.created.env,
        });
      }
      if (outcome.replayed) c.header("Idempotent-Replayed", "true");
      return c.json(outcome.response, outcome.created ? 201 : 200);
    })
    .post("/finish", async (c) => {
      const body = await readJsonBody(c, FinishRequest);
      const { response, finished } = await finishDeployment({
        db,
        queue,
        project: c.get("project"),
        deploymentId: body.deployment_id,
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
    })
    .get("/", async (c) => {
      const parsed = ListDeploymentsQuery.safeParse(c.req.query());
      if (!parsed.success) throw validationError(parsed.error, "query");
      return c.json(await listDeployments({ db, project: c.get("project"), query: parsed.data }));
    })
    .get("/:id", async (c) => {
      const id = c.req.param("id");
      if (!DeploymentId.safeParse(id).success) {
        throw new AppError(
          "not_found",
          `no deployment ${JSON.stringify(id)} in this project (ids are UUIDs)`,
        );
      }
      return c.json(await getDeployment({ db, project: c.get("project"), deploymentId: id }));
    });
}
