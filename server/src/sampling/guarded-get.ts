import http from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import type { FailureKind } from "@seqpulse/types";
import { checkLiteralHost, FORBIDDEN_ADDRESS_CODE, guardedLookup } from "./address-guard.js";

/** How one metrics read failed; `httpStatus` is null when no HTTP answer arrived. */
export interface SourceFailure {
  ok: false;
  kind: FailureKind;
  reason: string;
  httpStatus: number | null;
}

export function sourceFailure(
  kind: FailureKind,
  reason: string,
  httpStatus: number | null = null,
): SourceFailure {
  return { ok: false, kind, reason, httpStatus };
}

/** Who is on the other side, as failure reasons name it. */
export type Peer = "endpoint" | "Prometheus";

const peerWords: Record<Peer, { subject: string; object: string }> = {
  endpoint: { subject: "Endpoint", object: "the endpoint" },
  Prometheus: { subject: "Prometheus", object: "Prometheus" },
};

export interface GuardedGetOptions {
  url: URL;
  /** Sent as given; their values never appear in a failure reason. */
  headers: Record<string, string>;
  /** Budget for the whole exchange: DNS, connect, headers and body. */
  timeoutMs: number;
  maxBodyBytes: number;
  allowPrivate: boolean;
  peer: Peer;
  /** Called when the status line arrives; a failure ends the exchange without reading the body. */
  checkStatus(status: number): SourceFailure | null;
}

export interface GuardedResponse {
  ok: true;
  status: number;
  body: Buffer;
}

function forbiddenFailure(detail: string): SourceFailure {
  return sourceFailure(
    "permanent",
    `Refused to connect: ${detail}. Set SEQPULSE_ALLOW_PRIVATE_ENDPOINTS=true to allow private endpoints.`,
  );
}

function networkFailure(err: NodeJS.ErrnoException, peer: Peer): SourceFailure {
  if (err.code === FORBIDDEN_ADDRESS_CODE) return forbiddenFailure(err.message);
  return sourceFailure(
    "transient",
    `Could not reach ${peerWords[peer].object} (${err.code ?? (err.message || err.name)}).`,
  );
}

/**
 * One GET to an http(s) URL that refuses private and reserved addresses (unless allowed) on the
 * address actually connected to, never follows redirects, and caps time and body size.
 * Never throws; every failure is classified.
 */
export function guardedGet(options: GuardedGetOptions): Promise<GuardedResponse | SourceFailure> {
  const { url, maxBodyBytes: maxBytes, peer } = options;
  const literal = checkLiteralHost(url.hostname, options.allowPrivate);
  if (literal) return Promise.resolve(forbiddenFailure(literal.message));
  const tooLarge = (status: number) =>
    sourceFailure("invalid", `Response body is too large (over ${maxBytes} bytes).`, status);

  return new Promise((resolve) => {
    const request = (url.protocol === "https:" ? https : http).request({
      ...urlToHttpOptions(url),
      method: "GET",
      headers: options.headers,
      // A private agent per request: destroying the request always closes its socket.
      agent: false,
      lookup: guardedLookup(options.allowPrivate),
    });
    const timer = setTimeout(
      () =>
        finish(
          sourceFailure(
            "transient",
            `${peerWords[peer].subject} did not answer within ${options.timeoutMs} ms.`,
          ),
        ),
      options.timeoutMs,
    );
    let settled = false;
    function finish(outcome: GuardedResponse | SourceFailure): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(outcome);
    }

    request.on("error", (err) => finish(networkFailure(err, peer)));
    request.on("response", (response) => {
      const status = response.statusCode ?? 0;
      response.on("error", (err) => finish(networkFailure(err, peer)));
      const rejected = options.checkStatus(status);
      if (rejected) return finish(rejected);
      if (Number(response.headers["content-length"]) > maxBytes) return finish(tooLarge(status));
      const chunks: Buffer[] = [];
      let received = 0;
      response.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) return finish(tooLarge(status));
        chunks.push(chunk);
      });
      response.on("end", () => finish({ ok: true, status, body: Buffer.concat(chunks) }));
    });
    request.end();
  });
}
