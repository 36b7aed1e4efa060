import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the server does with one request. */
export type ScriptStep =
  | { status: number; headers?: Record<string, string>; json?: unknown; text?: string }
  /** Never answers: the client's timeout has to fire. */
  | { hang: true }
  /** Closes the connection without an answer. */
  | { destroy: true };

export interface ScriptedServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 answering the n-th request with the n-th step; past the end of the
 * script it repeats the last step.
 */
export async function startScriptedServer(
  script: Array<ScriptStep | ((request: RecordedRequest) => ScriptStep)>,
): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      const entry = script[Math.min(requests.length, script.length) - 1];
      if (!entry) throw new Error("empty script");
      const step = typeof entry === "function" ? entry(recorded) : entry;
      if ("hang" in step) {
        hanging.add(res);
        return;
      }
      if ("destroy" in step) {
        req.socket.destroy();
        return;
      }
      const isJson = step.json !== undefined;
      const body = isJson ? JSON.stringify(step.json) : (step.text ?? "");
      res.writeHead(step.status, {
        ...(isJson
          ? { "content-type": step.status >= 400 ? "application/problem+json" : "application/json" }
          : {}),
        ...step.headers,
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const res of hanging) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  return {
    status,
    json: {
      type: `https://seqpulse.dev/problems/${code.replaceAll("_", "-")}`,
      title: code,
      status,
      code,
      detail,
      ...extra,
      request_id: "req-test",
    },
  } satisfies ScriptStep;
}
