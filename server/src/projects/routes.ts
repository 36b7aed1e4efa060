import { CreateProjectRequest } from "@seqpulse/types";
import { Hono } from "hono";
import { requireAdminToken } from "../http/auth.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { readJsonBody } from "../http/json.js";
import { createProject, listProjects } from "./service.js";

export function projectAdminRoutes(deps: AppDeps) {
  return new Hono<AppEnv>()
    .use(requireAdminToken(deps.adminToken))
    .post("/projects", async (c) => {
      const input = await readJsonBody(c, CreateProjectRequest);
      const project = await createProject({ db: deps.db, input });
      c.get("logger").info("project created", { project_id: project.project_id });
      return c.json(project, 201);
    })
    .get("/projects", async (c) => c.json({ items: await listProjects({ db: deps.db }) }));
}
