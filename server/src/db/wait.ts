import pg from "pg";
import { errorFields, type Logger } from "../logger.js";

export class DatabaseUnreachableError extends Error {}

const RETRY_DELAY_MS = 1_000;

/**
 * Waits until the database answers `select 1`, for at most `timeoutMs`; then fails with a message
 * that names DATABASE_URL (password hidden) and the last error, so a wrong or dead URL is
 * reported instead of leaving the server silent.
 */
export async function waitForDatabase(
  url: string,
  { timeoutMs, connectTimeoutMs, logger }: { timeoutMs: number; connectTimeoutMs: number; logger: Logger },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  for (;;) {
    const remaining = deadline - Date.now();
    const attemptMs = Math.max(100, Math.min(connectTimeoutMs, remaining));
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: attemptMs,
      query_timeout: attemptMs,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("select 1");
      return;
    } catch (error) {
      if (Date.now() + RETRY_DELAY_MS >= deadline) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new DatabaseUnreachableError(
          `the database at DATABASE_URL=${redactUrl(url)} did not answer within ${Math.round(timeoutMs / 1000)} s ` +
            `(last error: ${reason}); check DATABASE_URL and that PostgreSQL is running and reachable`,
        );
      }
      if (!warned) {
        logger.warn("waiting for the database", { database: redactUrl(url), ...errorFields(error) });
        warned = true;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}
