import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";

export interface TransportRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** Aborts the exchange, the answer's body included. */
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** A header of the answer by its lower-case name; undefined when absent. */
  header(name: string): string | undefined;
  /** The body, decoded as UTF-8. */
  text: string;
}

/** One HTTP exchange; the client's retries, timeouts and checks are built on top of it. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/**
 * The exchange over `node:http` / `node:https`. Not `fetch`: in a process that makes one or two calls,
 * loading Node's fetch costs more than the calls (tens of milliseconds; on Node 20 it also keeps the
 * process alive well after the last answer). Redirects are not followed, and no compression is asked
 * for, so the body arrives as sent.
 */
export const nodeTransport: Transport = async (request) => {
  const url = new URL(request.url);
  // TLS is loaded only for https:// addresses.
  const send = url.protocol === "https:" ? (await import("node:https")).request : httpRequest;
  const headers: RequestOptions["headers"] = { ...request.headers };
  if (request.body !== undefined) headers["content-length"] = Buffer.byteLength(request.body);
  return new Promise<TransportResponse>((resolve, reject) => {
    const outgoing = send(url, { method: request.method, headers, signal: request.signal }, (answer) => {
      readBody(answer, request.signal).then(
        (text) =>
          resolve({ status: answer.statusCode ?? 0, header: (name) => headerValue(answer, name), text }),
        reject,
      );
    });
    outgoing.once("error", reject);
    outgoing.end(request.body);
  });
};

function readBody(answer: IncomingMessage, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    answer.setEncoding("utf8");
    answer.on("data", (chunk: string) => {
      text += chunk;
    });
    answer.once("end", () => resolve(text));
    answer.once("error", reject);
    answer.once("close", () => {
      if (answer.complete) return;
      reject(
        signal.aborted ? signal.reason : new Error("the connection closed before the answer was complete"),
      );
    });
  });
}

function headerValue(answer: IncomingMessage, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
