import type { HttpBindings } from "@hono/node-server";
import type { Database } from "../db/client.js";
import type { HostResolver } from "../deployments/endpoint-check.js";
import type { JobQueue } from "../jobs/queue.js";
import type { Logger } from "../logger.js";
import type { ServerMetrics } from "../observability/metrics.js";
import type { AuthenticatedProject } from "../projects/service.js";
import type { RateLimits } from "./rate-limit.js";

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
  /** This process's Prometheus metrics, served at /metrics; none in tests that do not need them. */
  metrics?: ServerMetrics;
  /** Token buckets per API key and per client address; none when unset (tests). */
  rateLimits?: RateLimits;
  /** Proxies in front of SeqPulse whose X-Forwarded-For entries are trusted (SEQPULSE_TRUSTED_PROXIES). */
  trustedProxies?: number;
  /** Protects /metrics (SEQPULSE_METRICS_TOKEN). */
  metricsToken?: string | undefined;
  /** Resolves metrics endpoint hostnames at trigger time; the system resolver unless a test injects one. */
  resolveHost?: HostResolver;
}

export interface AppEnv {
  /** Set by @hono/node-server; absent when the app is called without a server (`app.request`). */
  Bindings: Partial<HttpBindings> | undefined;
  Variables: {
    requestId: string;
    project: AuthenticatedProject;
    logger: Logger;
  };
}
