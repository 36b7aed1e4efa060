import type { Config } from "../env.js";
import type { Logger } from "../logger.js";
import { startEmbeddedPostgres } from "./embedded.js";

export interface DatabaseLocation {
  url: string;
  embedded: boolean;
  stop: () => Promise<void>;
}

/** DATABASE_URL when set; otherwise a real PostgreSQL started from the embedded binaries. */
export async function locateDatabase(config: Config, logger: Logger): Promise<DatabaseLocation> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false, stop: async () => {} };
  const embedded = await startEmbeddedPostgres(config.SEQPULSE_DATA_DIR, logger);
  return { url: embedded.url(), embedded: true, stop: embedded.stop };
}
