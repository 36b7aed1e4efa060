import { randomUUID } from "node:crypto";
import { validateHeaderName, validateHeaderValue } from "node:http";
// Types only: the schemas would bring zod into every bundle of the client (see responses.ts).
import type {
  DeploymentDetail,
  DeploymentList,
  FinishRequest,
  FinishResponse,
  ListDeploymentsQuery,
  TriggerRequest,
  TriggerResponse,
  Verdict,
} from "@seqpulse/types";
import { type Problem, SeqPulseApiError, SeqPulseResponseError, SeqPulseUnavailableError } from "./errors.js";
import {
  checkDeploymentDetail,
  checkDeploymentList,
  checkFinishResponse,
  checkProblem,
  checkTriggerResponse,
  type ResponseCheck,
} from "./responses.js";
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  retryDelay,
} from "./retry.js";
import { nodeTransport, type Transport, type TransportResponse } from "./transport.js";

export const CLIENT_VERSION = "0.1.0";
/**
 * What an API key may contain: printable ASCII without spaces. Anything else (a line break pasted into
 * the secret, a non-breaking space…) cannot be sent in an `Authorization` header.
 */
export const API_KEY_PATTERN = /^[\x21-\x7e]+$/;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_POLL_INTERVAL_MS = 5_000;

export interface SeqPulseClientOptions {
  /** Base URL of the SeqPulse API, e.g. `https://api.seqpulse.dev` or `https://ops.example.com/seqpulse`. */
  apiUrl: string;
  /** The project's API key; sent as `Authorization: Bearer <key>`. Printable ASCII without spaces. */
  apiKey: string;
  /** Per-request timeout, the response body included. Default 10 s. */
  timeoutMs?: number;
  /** Default: 5 attempts, 500 ms base delay, 10 s max delay, `Retry-After` honoured up to 30 s. */
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** Called before each retry's wait, e.g. to log it. */
  onRetry?: (event: RetryEvent) => void;
  /** Injected waits, randomness and HTTP exchange, for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  transport?: Transport;
}

export interface RetryEvent {
  method: string;
  path: string;
  /** The attempt that just failed, from 1. */
  attempt: number;
  /** Attempts allowed in total. */
  attempts: number;
  /** Wait before the next attempt. */
  delayMs: number;
  /** HTTP status of the failed attempt; undefined for network errors and timeouts. */
  status: number | undefined;
  /** Why the attempt failed, in words. */
  reason: string;
}

export interface SeqPulseResponse<T> {
  data: T;
  /** HTTP status of the successful answer. */
  status: number;
  /** Attempts it took, from 1. */
  attempts: number;
  /** The server answered with `Idempotent-Replayed: true`. */
  replayed: boolean;
  requestId: string | undefined;
}

export interface TriggerOptions {
  /**
   * Sent as `Idempotency-Key` on every attempt. When neither this nor the body's `idempotency_key`
   * is given, a random key is made for this call, so its own retries cannot create two deployments.
   */
  idempotencyKey?: string;
}

export interface WaitForVerdictOptions {
  /** Give up after this long and return `{ outcome: "timeout" }`. */
  timeoutMs: number;
  /** Pause between polls. Default 5 s. */
  pollIntervalMs?: number;
  /** Called with each deployment read, e.g. to log progress. */
  onPoll?: (deployment: DeploymentDetail, poll: number) => void;
}

export type WaitForVerdictResult =
  | { outcome: "verdict"; deployment: DeploymentDetail; verdict: Verdict; polls: number }
  | { outcome: "abandoned"; deployment: DeploymentDetail; polls: number }
  /** Cancelled on request: it gets no verdict. */
  | { outcome: "cancelled"; deployment: DeploymentDetail; polls: number }
  | { outcome: "timeout"; deployment: DeploymentDetail | undefined; polls: number };

export interface SeqPulseClient {
  readonly apiUrl: string;
  trigger(body: TriggerRequest, options?: TriggerOptions): Promise<SeqPulseResponse<TriggerResponse>>;
  finish(body: FinishRequest): Promise<SeqPulseResponse<FinishResponse>>;
  getDeployment(id: string): Promise<SeqPulseResponse<DeploymentDetail>>;
  /**
   * `GET /deployments`, newest first, filtered by the query (env, state, idempotency_key — a trigger's
   * own key or the key of one that joined it —, commit_sha, branch, verdict, created_after), one page
   * of `limit` (default 20) from `cursor`.
   */
  listDeployments(query?: Partial<ListDeploymentsQuery>): Promise<SeqPulseResponse<DeploymentList>>;
  /**
   * Polls the deployment until it has a verdict, is abandoned or cancelled, or `timeoutMs` passes. Each poll is one
   * request (no retries of its own) limited to the per-request timeout and to the time left, so the call
   * ends by the deadline. Polls that fail with {@link SeqPulseUnavailableError} are retried until the
   * deadline; at the deadline the outcome is `timeout` with the latest deployment read, or, when no poll
   * ever succeeded, the last poll's error is thrown. Other errors are thrown at once.
   */
  waitForVerdict(id: string, options: WaitForVerdictOptions): Promise<WaitForVerdictResult>;
}

interface RequestSpec<T> {
  method: "GET" | "POST";
  path: string;
  /** Words for messages: "trigger the deployment". */
  action: string;
  body?: unknown;
  headers?: Record<string, string>;
  check: ResponseCheck<T>;
  /** Overrides the retry policy's attempts for this call. */
  attempts?: number;
  /** Overrides the per-request timeout for this call. */
  timeoutMs?: number;
}

export function createSeqPulseClient(options: SeqPulseClientOptions): SeqPulseClient {
  const apiUrl = normalizeApiUrl(options.apiUrl);
  const apiKey = (options.apiKey ?? "").trim();
  if (apiKey === "") {
    throw new TypeError("SeqPulse client: apiKey is empty; pass the project's API key");
  }
  if (!API_KEY_PATTERN.test(apiKey)) {
    // Never echo the key: it is a secret, and this message may end up in a CI log.
    throw new TypeError(
      "SeqPulse client: apiKey contains characters an API key cannot have (a space, a line break or another non-printable or non-ASCII character); check that the secret holds the key alone, on one line",
    );
  }
  /**
   * Takes the key, and any bearer token, out of text bound for messages: defensive, as no message is
   * built from the key, but a runtime error quoting a header would be. Placeholders such as
   * `Bearer <key>` in the server's own messages stay.
   */
  const redact = (text: string): string =>
    text.replaceAll(apiKey, "[redacted]").replaceAll(/Bearer\s+(?![<[])\S+/gi, "Bearer [redacted]");
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options.retry ?? {}) };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new TypeError(
      `SeqPulse client: retry.attempts must be a whole number ≥ 1 (got ${policy.attempts})`,
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const userAgent = options.userAgent ?? `seqpulse-client/${CLIENT_VERSION} node/${process.version}`;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const transport = options.transport ?? nodeTransport;

  async function request<T>(spec: RequestSpec<T>): Promise<SeqPulseResponse<T>> {
    const url = `${apiUrl}${spec.path}`;
    // Checked once, before the first attempt: a header value HTTP does not allow fails here, at once,
    // instead of looking like a network error on every attempt.
    const headers = buildHeaders({
      accept: "application/json, application/problem+json",
      authorization: `Bearer ${apiKey}`,
      "user-agent": userAgent,
      ...spec.headers,
      ...(spec.body !== undefined ? { "content-type": "application/json" } : {}),
    });
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const attempts = spec.attempts ?? policy.attempts;
    const requestTimeoutMs = spec.timeoutMs ?? timeoutMs;

    for (let attempt = 1; ; attempt++) {
      const outcome = await attemptOnce(url, spec.method, headers, body, requestTimeoutMs);
      const last = attempt >= attempts;

      if (outcome.kind === "response") {
        const { response } = outcome;
        const { text } = response;
        if (response.status >= 200 && response.status < 300) {
          return {
            data: parseSuccess(spec, response.status, text),
            status: response.status,
            attempts: attempt,
            replayed: response.header("idempotent-replayed") === "true",
            requestId: response.header("x-request-id"),
          };
        }
        const problem = parseProblem(text);
        if (!isRetryableStatus(response.status)) {
          throw apiError(spec, response, text, problem);
        }
        const reason = redact(describeStatus(response.status, problem, text));
        if (last) {
          throw new SeqPulseUnavailableError(
            redact(
              `SeqPulse at ${apiUrl} could not ${spec.action}: ${reason} after ${attempt} attempt${plural(attempt)}`,
            ),
            attempt,
            response.status,
            problem,
            spec.method,
            spec.path,
          );
        }
        const retryAfter = parseRetryAfter(response.header("retry-after"), now());
        await pause(
          spec,
          attempt,
          attempts,
          retryDelay(attempt, retryAfter, policy, random),
          response.status,
          reason,
        );
        continue;
      }

      const reason = outcome.timedOut
        ? `no answer within ${requestTimeoutMs} ms`
        : redact(networkReason(outcome.error));
      if (last) {
        throw new SeqPulseUnavailableError(
          redact(
            `SeqPulse at ${apiUrl} could not be reached to ${spec.action}: ${reason} (${attempt} attempt${plural(attempt)})`,
          ),
          attempt,
          undefined,
          undefined,
          spec.method,
          spec.path,
          { cause: redactedCause(outcome.error) },
        );
      }
      await pause(spec, attempt, attempts, retryDelay(attempt, undefined, policy, random), undefined, reason);
    }
  }

  async function pause(
    spec: RequestSpec<unknown>,
    attempt: number,
    attempts: number,
    delayMs: number,
    status: number | undefined,
    reason: string,
  ): Promise<void> {
    options.onRetry?.({
      method: spec.method,
      path: spec.path,
      attempt,
      attempts,
      delayMs,
      status,
      reason,
    });
    await sleep(delayMs);
  }

  type AttemptOutcome =
    | { kind: "response"; response: TransportResponse }
    | { kind: "failure"; error: unknown; timedOut: boolean };

  async function attemptOnce(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    attemptTimeoutMs: number,
  ): Promise<AttemptOutcome> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${attemptTimeoutMs} ms`));
    }, attemptTimeoutMs);
    try {
      const response = await transport({ url, method, headers, body, signal: controller.signal });
      return { kind: "response", response };
    } catch (error) {
      return { kind: "failure", error, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops a cause whose text would carry the key, keeping a redacted copy of its message. */
  function redactedCause(error: unknown): unknown {
    const text = causeText(error);
    return redact(text) === text ? error : new Error(redact(networkReason(error)));
  }

  function parseSuccess<T>(spec: RequestSpec<T>, status: number, text: string): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SeqPulseResponseError(
        redact(
          `${apiUrl}${spec.path} answered ${status} with a body that is not JSON (${excerpt(text)}); is ${apiUrl} the SeqPulse API's base URL?`,
        ),
        status,
        spec.method,
        spec.path,
      );
    }
    const problem = spec.check(json);
    if (problem) {
      throw new SeqPulseResponseError(
        redact(
          `${apiUrl}${spec.path} answered ${status} with JSON that is not a SeqPulse response (${problem.slice(0, 300)}); is ${apiUrl} the SeqPulse API's base URL, and is the server up to date?`,
        ),
        status,
        spec.method,
        spec.path,
      );
    }
    return json as T;
  }

  function apiError(
    spec: RequestSpec<unknown>,
    response: TransportResponse,
    text: string,
    problem: Problem | undefined,
  ): SeqPulseApiError {
    const status = response.status;
    const code = redact(problem?.code ?? `http_${status}`);
    const detail = redact(problem?.detail ?? excerpt(text));
    const explanation = explainRejection({
      status,
      code,
      detail,
      problem,
      apiUrl,
      path: spec.path,
      location: response.header("location"),
    });
    return new SeqPulseApiError(
      redact(`SeqPulse refused to ${spec.action} (${status} ${code}): ${explanation}`),
      status,
      code,
      detail,
      problem,
      spec.method,
      spec.path,
    );
  }

  const getDeploymentSpec = (id: string): RequestSpec<DeploymentDetail> => ({
    method: "GET",
    path: `/deployments/${encodeURIComponent(id)}`,
    action: "read the deployment",
    check: checkDeploymentDetail,
  });

  const client: SeqPulseClient = {
    apiUrl,
    trigger(body, triggerOptions = {}) {
      const idempotencyKey = triggerOptions.idempotencyKey ?? body.idempotency_key ?? randomUUID();
      return request({
        method: "POST",
        path: "/deployments/trigger",
        action: "trigger the deployment",
        body,
        headers: { "idempotency-key": idempotencyKey },
        check: checkTriggerResponse,
      });
    },
    finish(body) {
      return request({
        method: "POST",
        path: "/deployments/finish",
        action: "finish the deployment",
        body,
        check: checkFinishResponse,
      });
    },
    getDeployment(id) {
      return request(getDeploymentSpec(id));
    },
    listDeployments(query = {}) {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (value !== undefined && value !== null) search.set(name, String(value));
      }
      const queryString = search.size > 0 ? `?${search}` : "";
      return request({
        method: "GET",
        path: `/deployments${queryString}`,
        action: "list the deployments",
        check: checkDeploymentList,
      });
    },
    async waitForVerdict(id, waitOptions) {
      const pollIntervalMs = waitOptions.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
      const deadline = now() + waitOptions.timeoutMs;
      let polls = 0;
      let latest: DeploymentDetail | undefined;
      let pollError: SeqPulseUnavailableError | undefined;
      const timedOut = (): WaitForVerdictResult => {
        // An outage at the end does not hide what earlier polls saw.
        if (pollError && !latest) throw pollError;
        return { outcome: "timeout", deployment: latest, polls };
      };
      for (;;) {
        const remaining = deadline - now();
        if (remaining <= 0) return timedOut();
        try {
          // One attempt per poll, within the time left: the loop is the retry, and the deadline holds.
          const { data } = await request({
            ...getDeploymentSpec(id),
            attempts: 1,
            timeoutMs: Math.min(timeoutMs, remaining),
          });
          polls++;
          latest = data;
          pollError = undefined;
          waitOptions.onPoll?.(data, polls);
          if (data.verdict) return { outcome: "verdict", deployment: data, verdict: data.verdict, polls };
          if (data.state === "abandoned") return { outcome: "abandoned", deployment: data, polls };
          if (data.state === "cancelled") return { outcome: "cancelled", deployment: data, polls };
        } catch (error) {
          if (!(error instanceof SeqPulseUnavailableError)) throw error;
          polls++;
          pollError = error;
        }
        const left = deadline - now();
        if (left <= 0) return timedOut();
        await sleep(Math.min(pollIntervalMs, left));
      }
    },
  };
  return client;
}

function normalizeApiUrl(raw: string): string {
  const value = (raw ?? "").trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(
      `SeqPulse client: apiUrl ${JSON.stringify(redactUrl(value))} is not a URL; use e.g. https://api.seqpulse.dev`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`SeqPulse client: apiUrl must be http:// or https:// (got ${url.protocol}//)`);
  }
  if (url.username || url.password) {
    throw new TypeError(
      "SeqPulse client: apiUrl must not contain a user name or password; the API key is the credential",
    );
  }
  if (url.search || url.hash) {
    throw new TypeError("SeqPulse client: apiUrl must not have a query string or fragment");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * A URL fit for a message: the query string and fragment become `?***` / `#***`, and user info (anything
 * up to an `@`) becomes `***@`, as they may hold credentials. Plain text rules, so text that does not
 * parse as a URL is redacted too.
 */
export function redactUrl(raw: string): string {
  return raw.replace(/([?#]).*$/s, "$1***").replaceAll(/[^\s/?#@]+@/g, "***@");
}

/** Checks each header on its own, so a refused value names its header, never the value (it may be the key). */
function buildHeaders(values: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(values)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      throw new TypeError(
        `SeqPulse client: the ${name} header cannot be sent: its value has a line break or another character not allowed in HTTP headers`,
      );
    }
  }
  return values;
}

function parseProblem(text: string): Problem | undefined {
  try {
    const json: unknown = JSON.parse(text);
    return checkProblem(json) === undefined ? (json as Problem) : undefined;
  } catch {
    return undefined;
  }
}

function describeStatus(status: number, problem: Problem | undefined, text: string): string {
  if (problem) return `${status} ${problem.code}: ${problem.detail}`;
  const body = excerpt(text);
  return body ? `${status} (${body})` : `${status}`;
}

interface Rejection {
  status: number;
  code: string;
  detail: string;
  problem: Problem | undefined;
  apiUrl: string;
  path: string;
  location: string | undefined;
}

/** Says what is wrong and what to do about it, for the errors users meet in a CI job. */
export function explainRejection(rejection: Rejection): string {
  const { status, code, detail, problem, apiUrl, path } = rejection;
  if (status >= 300 && status < 400) {
    return `${apiUrl}${path} redirects${rejection.location ? ` to ${rejection.location}` : ""}; set the api URL to the address it redirects to (e.g. https:// instead of http://)`;
  }
  if (status === 401) {
    return `the API key was rejected (${detail}). Check that it is the key shown when the project was created on ${apiUrl}, stored whole in the secret, and not revoked`;
  }
  if (!problem) {
    return `${apiUrl}${path} did not answer like the SeqPulse API (${detail || "empty body"}); check that the api URL is the SeqPulse API's base URL`;
  }
  switch (code) {
    case "env_not_allowed": {
      const allowed = Array.isArray(problem.allowed_envs) ? problem.allowed_envs.map(String) : [];
      return allowed.length > 0
        ? `${detail}. Use one of: ${allowed.join(", ")}, or add the environment to the project's envs`
        : detail;
    }
    case "not_found":
      return `${detail}. The id may belong to another project (check the API key) or be mistyped`;
    case "environment_busy":
      return `${detail}. The project rejects a second running deployment per environment; finish the running one first`;
    case "idempotency_key_reused":
      return `${detail}. A re-run must send the same branch, commit and metrics endpoint as the first try`;
    case "metrics_endpoint_required":
      return `${detail}. Pass the metrics endpoint, or configure one for the project`;
    default:
      return detail;
  }
}

/** The messages of an error and its causes, to check them for secrets. */
function causeText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? "");
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join("\n");
}

/** The socket's error in a few words, e.g. `connect ECONNREFUSED 127.0.0.1:8080`. */
function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // An error that wraps the socket's (as fetch's "fetch failed" does) says less than its cause.
  const inner = error.cause instanceof Error ? error.cause : error;
  const code = (inner as { code?: unknown }).code;
  // Node reports a failed connection to every address of a host as an AggregateError without a message.
  const message =
    inner.message ||
    (inner instanceof AggregateError
      ? inner.errors.map((each) => String(each?.message ?? each)).join("; ")
      : "");
  if (typeof code !== "string") return message || inner.name;
  return message.includes(code) ? message : `${code}${message ? ` (${message})` : ""}`;
}

function excerpt(text: string): string {
  const flat = text
    .replaceAll(/<[^>]*>/g, " ")
    .replaceAll(/\s+/g, " ")
    .trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function plural(count: number): string {
  return count === 1 ? "" : "s";
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
