import type { Config } from "../env.js";
import type { Logger } from "../logger.js";
import { runningEmbeddedUrl, startEmbeddedPostgres } from "./embedded.js";

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
  const running = joinRunningServer ? await runningEmbeddedUrl(config.SEQPULSE_DATA_DIR) : undefined;
  if (running) return { url: running, embedded: true, stop: async () => {} };
  const embedded = await startEmbeddedPostgres(config.SEQPULSE_DATA_DIR, logger);
  return { url: embedded.url(), embedded: true, stop: embedded.stop };
}
