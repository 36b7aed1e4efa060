import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  requests: http.IncomingMessage[];
  sockets: Socket[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records every connection and request. */
export async function startTestServer(handler: http.RequestListener): Promise<TestServer> {
  const requests: http.IncomingMessage[] = [];
  const sockets: Socket[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.on("connection", (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    sockets,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that was free a moment ago and has nothing listening. */
export async function closedPort(): Promise<number> {
  const server = await startTestServer(() => {});
  await server.close();
  return server.port;
}

export function jsonHandler(status: number, body: unknown): http.RequestListener {
  return (_req, res) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };
}

const MAX_SKEW_MS = 300_000;

/**
 * An application endpoint that checks SeqPulse HMAC v2 headers the way an SDK would, written
 * independently of `hmac.ts`, and refuses reused nonces.
 */
export function hmacVerifyingHandler(secret: string, body: unknown): http.RequestListener {
  const seenNonces = new Set<string>();
  return (req, res) => {
    const header = (name: string) => {
      const value = req.headers[name.toLowerCase()];
      return typeof value === "string" ? value : "";
    };
    const timestamp = header("X-SeqPulse-Timestamp");
    const nonce = header("X-SeqPulse-Nonce");
    const pathname = new URL(req.url ?? "/", "http://app.invalid").pathname;
    const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
    const expected = Buffer.from(
      `sha256=${createHmac("sha256", secret).update(`${timestamp}|${req.method}|${path}|${nonce}`).digest("hex")}`,
    );
    const given = Buffer.from(header("X-SeqPulse-Signature"));
    const valid =
      header("X-SeqPulse-Signature-Version") === "v2" &&
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(timestamp) &&
      Math.abs(Date.now() - Date.parse(timestamp)) <= MAX_SKEW_MS &&
      nonce !== "" &&
      !seenNonces.has(nonce) &&
      given.length === expected.length &&
      timingSafeEqual(given, expected);
    if (!valid) {
      res.writeHead(401).end();
      return;
    }
    seenNonces.add(nonce);
    jsonHandler(200, body)(req, res);
  };
}
