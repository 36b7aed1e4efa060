import { z } from "zod";

const booleanFlag = z
  .enum(["true", "false", "1", "0", ""])
  .transform((value) => value === "true" || value === "1");

const encryptionKey = z
  .string()
  .trim()
  .transform((value) => Buffer.from(value, "base64"))
  .refine((key) => key.length === 32, "must be 32 bytes in base64 (openssl rand -base64 32)");

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: z
    .string()
    .trim()
    .refine(
      (value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value),
      "must be a valid postgres:// or postgresql:// URL (percent-encode special characters in the password)",
    )
    .optional()
    .or(z.literal("").transform(() => undefined)),
  SEQPULSE_DATA_DIR: z.string().min(1).default(".seqpulse"),
  SEQPULSE_ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((value) => (value === "" ? undefined : value))
    .refine((value) => value === undefined || value.length >= 16, "must be at least 16 characters"),
  // At most 7 days: duration_ms must fit an int.
  SEQPULSE_RUNNING_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(604_800).default(3600),
  SEQPULSE_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  SEQPULSE_ROLE: z.enum(["all", "api", "worker"]).default("all"),
  SEQPULSE_ALLOW_PRIVATE_ENDPOINTS: booleanFlag.default(false),
  SEQPULSE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
  SEQPULSE_QUEUE_POLL_MS: z.coerce.number().int().min(20).max(10_000).default(200),
  SEQPULSE_DB_POOL_SIZE: z.coerce.number().int().min(2).max(500).default(40),
  SEQPULSE_DB_STARTUP_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  SEQPULSE_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  SEQPULSE_DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  SEQPULSE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  SEQPULSE_METRICS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** When set, GET /metrics wants `Authorization: Bearer <token>`. */
  SEQPULSE_METRICS_TOKEN: z
    .string()
    .optional()
    .transform((value) => (value === "" ? undefined : value))
    .refine((value) => value === undefined || value.length >= 16, "must be at least 16 characters"),
  /** Requests a second per API key on CI routes (a token bucket); 0 turns the limit off. */
  SEQPULSE_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(100_000).default(20),
  SEQPULSE_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** Failed authentications a minute per client address; 0 turns the limit off. */
  SEQPULSE_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).max(100_000).default(10),
  /**
   * Console requests a second per signed-in session, or per client address before signing in (a
   * token bucket); 0 turns the limit off. A live deployment page polls every 2 s: 10 a second is
   * twenty such tabs at once.
   */
  SEQPULSE_CONSOLE_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(100_000).default(10),
  SEQPULSE_CONSOLE_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(200),
  SEQPULSE_TRUSTED_PROXIES: z.coerce.number().int().min(0).max(10).default(0),
  /** 32 bytes, base64: encrypts HMAC secrets, metrics-source credentials and webhook secrets at rest. */
  SEQPULSE_ENCRYPTION_KEY: encryptionKey.optional().or(z.literal("").transform(() => undefined)),
  /** Keys of a rotation in progress, comma-separated: they still decrypt, never encrypt. */
  SEQPULSE_ENCRYPTION_PREVIOUS_KEYS: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(encryptionKey)),
  SEQPULSE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  SEQPULSE_RETENTION_DELETE_DEPLOYMENTS: booleanFlag.default(false),
  SEQPULSE_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  // Console sessions: when unset, a secret is generated and kept in the data folder.
  SEQPULSE_SESSION_SECRET: z
    .string()
    .optional()
    .transform((value) => (value === "" ? undefined : value))
    .refine((value) => value === undefined || value.length >= 32, "must be at least 32 characters"),
  /** Where people open SeqPulse, for links in notifications, e.g. https://seqpulse.example.com. */
  SEQPULSE_PUBLIC_URL: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ? value.replace(/\/+$/, "") : undefined))
    .refine(
      (value) => value === undefined || /^https?:\/\/[^/]/.test(value),
      "must be an http:// or https:// URL",
    ),
  /** First retry delay of a failed notification; it doubles per attempt, up to an hour, for a day. */
  SEQPULSE_NOTIFY_RETRY_BASE_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
});

export type Config = z.infer<typeof EnvSchema>;

/** Never echoed back: they hold credentials. */
const SECRET_VARIABLES = new Set([
  "DATABASE_URL",
  "SEQPULSE_ADMIN_TOKEN",
  "SEQPULSE_METRICS_TOKEN",
  "SEQPULSE_ENCRYPTION_KEY",
  "SEQPULSE_ENCRYPTION_PREVIOUS_KEYS",
  "SEQPULSE_SESSION_SECRET",
]);

export class ConfigError extends Error {}

/** Parses the environment once at start; every wrong variable is named with what it expects. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = issue.path.join(".");
    const shown = SECRET_VARIABLES.has(name) ? "(value hidden)" : JSON.stringify(env[name] ?? "");
    return `  ${name}=${shown}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
}
