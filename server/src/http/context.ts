import type { Database } from "../db/client.js";
import type { DeploymentRow, Project } from "../db/schema/index.js";
import type { Logger } from "../logger.js";

/** What happens after a deployment changes state: the worker queue schedules its collection jobs. */
export interface DeploymentEvents {
  created(deployment: DeploymentRow): Promise<void>;
  finished(deployment: DeploymentRow): Promise<void>;
}

export interface AppDeps {
  db: Database;
  logger: Logger;
  adminToken?: string | undefined;
  runningTimeoutSeconds: number;
  events?: DeploymentEvents;
  /** Readiness beyond the database, e.g. the job queue. */
  readinessChecks?: Array<() => Promise<string | undefined>>;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    project: Project;
    logger: Logger;
  };
}
