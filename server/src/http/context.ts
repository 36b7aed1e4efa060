import type { Database } from "../db/client.js";
import type { Project } from "../db/schema/index.js";
import type { JobQueue } from "../jobs/queue.js";
import type { Logger } from "../logger.js";

export interface AppDeps {
  db: Database;
  logger: Logger;
  adminToken?: string | undefined;
  runningTimeoutSeconds: number;
  /** State changes queue the jobs they owe in their own transaction. */
  queue: JobQueue;
  /** Readiness beyond the database, e.g. the job queue. */
  readinessChecks?: Array<() => Promise<string | undefined>>;
  /** Signs console session cookies; without it, a random one per process (sessions end on restart). */
  sessionSecret?: string;
  /** Notification destinations may be private addresses (SEQPULSE_ALLOW_PRIVATE_ENDPOINTS). */
  allowPrivateEndpoints?: boolean;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    project: Project;
    logger: Logger;
  };
}
