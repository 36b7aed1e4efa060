import http from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import { checkLiteralHost, FORBIDDEN_ADDRESS_CODE, guardedLookup } from "../sampling/address-guard.js";

export interface PostOutcome {
  /** HTTP status answered, or null when none arrived. */
  status: number | null;
  /** Why the attempt did not succeed; null on a 2xx. */
  error: string | null;
  /** A 429 or 503's Retry-After, in ms. */
  retryAfterMs: number | null;
  /** The receiver can never accept it as configured: refused address, 4xx other than 408/429, redirect. */
  permanent: boolean;
  durationMs: number;
}

/** What a receiver answers is kept this long, for the delivery log (Slack's reasons are short words). */
const ERROR_BODY_BYTES = 300;

/** Retry-After as seconds or an HTTP date; capped by the caller. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * One POST of a JSON body through the SSRF guard metrics endpoints use: private and reserved
 * addresses are refused (unless allowed) on the address actually connected to, redirects are not
 * followed, and the whole exchange has a time budget. Never throws.
 */
export function postJson({
  url,
  body,
  headers,
  timeoutMs,
  allowPrivate,
}: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
}): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const failure = (error: string, permanent: boolean, status: number | null = null): PostOutcome => ({
    status,
    error,
    retryAfterMs: null,
    permanent,
    durationMs: elapsed(),
  });
  const target = new URL(url);
  const literal = checkLiteralHost(target.hostname, allowPrivate);
  if (literal) {
    return Promise.resolve(
      failure(`refused to connect: ${literal.message} (SEQPULSE_ALLOW_PRIVATE_ENDPOINTS allows it)`, true),
    );
  }
  return new Promise((resolve) => {
    const request = (target.protocol === "https:" ? https : http).request({
      ...urlToHttpOptions(target),
      method: "POST",
      headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) },
      agent: false,
      lookup: guardedLookup(allowPrivate),
    });
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(failure(`no answer within ${timeoutMs} ms`, false)), timeoutMs);
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === FORBIDDEN_ADDRESS_CODE) {
        finish(
          failure(`refused to connect: ${error.message} (SEQPULSE_ALLOW_PRIVATE_ENDPOINTS allows it)`, true),
        );
      } else {
        finish(failure(`could not reach the receiver (${error.code ?? error.message})`, false));
      }
    });
    request.on("response", (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let received = 0;
      const done = () => {
        const text = Buffer.concat(chunks).toString("utf8").slice(0, ERROR_BODY_BYTES).trim();
        if (status >= 200 && status < 300) {
          return finish({ status, error: null, retryAfterMs: null, permanent: false, durationMs: elapsed() });
        }
        const retryable = status === 408 || status === 429 || status >= 500;
        const error =
          status >= 300 && status < 400
            ? `HTTP ${status}: redirects are not followed`
            : `HTTP ${status}${text ? `: ${text}` : ""}`;
        finish({
          status,
          error,
          retryAfterMs: retryable ? parseRetryAfter(response.headers["retry-after"]) : null,
          permanent: !retryable,
          durationMs: elapsed(),
        });
      };
      response.on("data", (chunk: Buffer) => {
        if (received < ERROR_BODY_BYTES) chunks.push(chunk);
        received += chunk.length;
        if (received > 64 * 1024) done();
      });
      response.on("end", done);
      response.on("error", () => done());
    });
    request.end(body);
  });
}
