export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** One JSON object per line on stdout, the format log shippers expect. */
export function createLogger(
  level: LogLevel,
  base: Fields = {},
  write = (line: string) => process.stdout.write(line),
): Logger {
  const log = (at: Exclude<LogLevel, "silent">, message: string, fields?: Fields) => {
    if (rank[at] < rank[level]) return;
    write(
      `${JSON.stringify({ time: new Date().toISOString(), level: at, msg: message, ...base, ...fields })}\n`,
    );
  };
  return {
    debug: (message, fields) => log("debug", message, fields),
    info: (message, fields) => log("info", message, fields),
    warn: (message, fields) => log("warn", message, fields),
    error: (message, fields) => log("error", message, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

/** Drizzle puts a failed query's bound values (secrets, key hashes) into the error's message. */
const QUERY_PARAMS = /\nparams: [\s\S]*?(?=\n {4}at |$)/;

export function errorFields(error: unknown): Fields {
  if (!(error instanceof Error)) return { error: String(error) };
  const fields: Fields = {
    error: error.message.replace(QUERY_PARAMS, ""),
    stack: error.stack?.replace(QUERY_PARAMS, ""),
  };
  if (error.cause instanceof Error) {
    fields.cause = error.cause.message;
    const code = (error.cause as { code?: unknown }).code;
    if (typeof code === "string") fields.code = code;
  }
  return fields;
}
