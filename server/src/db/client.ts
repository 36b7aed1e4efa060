import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "./schema/index.js";

export type Database = NodePgDatabase<typeof schema>;
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** What pg-boss needs to write jobs through one of our connections (inside its transaction). */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface DatabaseHandle {
  db: Database;
  pool: pg.Pool;
  executor: SqlExecutor;
  close: () => Promise<void>;
}

export interface DatabaseTimeouts {
  /** A new connection that does not complete its start-up by then fails. */
  connectMs: number;
  /** PostgreSQL cancels a statement running longer; the client gives up shortly after (frozen server). */
  statementMs: number;
  /** A transaction left idle this long is ended by PostgreSQL, releasing its locks. */
  idleInTransactionMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 5_000,
  statementMs: 10_000,
  idleInTransactionMs: 15_000,
};

// The client-side limit sits above PostgreSQL's own, so a live server always answers first.
const CLIENT_TIMEOUT_MARGIN_MS = 2_000;

export function connectDatabase(
  url: string,
  options: { max?: number; timeouts?: DatabaseTimeouts } = {},
): DatabaseHandle {
  const timeouts = options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 20,
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    query_timeout: timeouts.statementMs + CLIENT_TIMEOUT_MARGIN_MS,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    keepAlive: true,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", () => {});
  // Nor a checked-out one: pg-pool removes its idle listener while a client is lent out, so a FATAL
  // that arrives between queries (e.g. the idle-in-transaction timeout firing when a frozen
  // database resumes) was an unhandled 'error' event. The awaiting query or the next one still
  // fails, and the pool discards the broken client on release.
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = drizzle(pool, { schema });
  return {
    db,
    pool,
    executor: { executeSql: (text, values) => pool.query(text, values) },
    close: () => pool.end(),
  };
}

/** The executor of a Drizzle transaction: pg-boss's statements run on the transaction's connection. */
export function transactionExecutor(tx: Transaction): SqlExecutor {
  const client = transactionClient(tx);
  return { executeSql: (text, values) => client.query(text, values) };
}

/** The pg client a Drizzle transaction runs on, for hand-written (named, prepared) statements. */
export function transactionClient(tx: Transaction): pg.PoolClient {
  // Drizzle keeps the transaction's pg client on its session without typing it.
  return (tx._.session as unknown as { client: pg.PoolClient }).client;
}

/** SQLSTATE 23505: a unique index refused the row because a concurrent request won. */
export function isUniqueViolation(error: unknown): boolean {
  return driverErrorCode(error) === "23505";
}

const UNAVAILABLE_SQLSTATES = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovering)
  "53300", // too_many_connections
  "57014", // query_canceled: statement_timeout
  "25P03", // idle_in_transaction_session_timeout
]);
const UNAVAILABLE_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]);
const UNAVAILABLE_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Query read timeout",
  "Client has encountered a connection error",
];

/**
 * Whether an error means the database cannot be reached or did not answer in time (rather than
 * a bug): the request may succeed when retried.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== "object") return false;
    const code = "code" in current ? String(current.code) : undefined;
    if (
      code &&
      (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith("08") || UNAVAILABLE_NODE_CODES.has(code))
    )
      return true;
    const message = "message" in current ? String(current.message) : "";
    if (UNAVAILABLE_MESSAGES.some((known) => message.includes(known))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function driverErrorCode(error: unknown): string | undefined {
  // Drizzle wraps the driver's error; the SQLSTATE is on the cause.
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current === "object" && "code" in current) return String(current.code);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
