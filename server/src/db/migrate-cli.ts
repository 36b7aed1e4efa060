import { ConfigError, loadConfig } from "../env.js";
import { createLogger, errorFields } from "../logger.js";
import { locateDatabase } from "./bootstrap.js";
import { runMigrations } from "./migrate.js";

const logger = createLogger("info");
try {
  const config = loadConfig();
  const database = await locateDatabase(config, logger, { joinRunningServer: true });
  try {
    const { applied } = await runMigrations(database.url);
    logger.info("migrations applied", { applied, embedded: database.embedded });
  } finally {
    await database.stop();
  }
} catch (error) {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else logger.error("migration failed", errorFields(error));
  process.exit(1);
}
