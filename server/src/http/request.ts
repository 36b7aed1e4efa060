import type { Context } from "hono";
import type { AppEnv } from "./context.js";

/**
 * Every value of a request header, one per line the client sent. Node joins a repeated header
 * into one comma-separated value, which cannot be split back when a value may hold commas.
 */
export function headerValues(c: Context<AppEnv>, name: string): string[] {
  const rawHeaders = c.env?.incoming?.rawHeaders;
  if (!rawHeaders) {
    const joined = c.req.header(name);
    return joined === undefined ? [] : [joined];
  }
  const values: string[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    if (rawHeaders[index]?.toLowerCase() === name) values.push(rawHeaders[index + 1] as string);
  }
  return values;
}

/** Whether the client went away before its request was fully received. */
export function clientAborted(c: Context<AppEnv>): boolean {
  const incoming = c.env?.incoming;
  if (incoming) return incoming.readableAborted || (incoming.destroyed && !incoming.complete);
  return c.req.raw.signal.aborted;
}
