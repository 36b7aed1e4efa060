import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import type { CreateProjectRequest, CreateProjectResponse } from "@seqpulse/types";
import { createApp } from "../../server/src/app.js";
import type { AppDeps } from "../../server/src/http/context.js";
import { JobQueue } from "../../server/src/jobs/queue.js";
import { createLogger } from "../../server/src/logger.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";

export interface TestApi {
  baseUrl: string;
  database: TestDatabase;
  app: ReturnType<typeof createApp>;
  /** Creates a project through the admin API; fresh name each call. */
  createProject(input?: Partial<CreateProjectRequest>): Promise<CreateProjectResponse>;
  close(): Promise<void>;
}

/** The real app on a real HTTP port, over its own fresh database. */
export async function startTestApi(overrides: Partial<AppDeps> = {}): Promise<TestApi> {
  const database = await createTestDatabase();
  const logger = createLogger(process.env.SEQPULSE_TEST_LOG_LEVEL === "debug" ? "debug" : "silent");
  const app = createApp({
    db: database.db,
    // Jobs are queued (in the API's transactions) but no worker consumes them here.
    queue: new JobQueue({ executor: database.executor, pool: database.pool, logger }),
    logger,
    adminToken: TEST_ADMIN_TOKEN,
    runningTimeoutSeconds: 3600,
    // Tests sample loopback endpoints; the trigger-time refusal has tests of its own that turn this off.
    allowPrivateEndpoints: true,
    // Tests never resolve outside hostnames: a lookup proves nothing, so the trigger lets it pass.
    resolveHost: async (hostname) => {
      throw new Error(`tests do not resolve ${hostname}`);
    },
    ...overrides,
  });
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    database,
    app,
    async createProject(input = {}) {
      const response = await fetch(`${baseUrl}/admin/projects`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({
          name: `project-${randomUUID()}`,
          metrics_endpoint: "http://127.0.0.1:9/metrics",
          ...input,
        }),
      });
      if (response.status !== 201)
        throw new Error(`project creation failed: ${response.status} ${await response.text()}`);
      return (await response.json()) as CreateProjectResponse;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
}
