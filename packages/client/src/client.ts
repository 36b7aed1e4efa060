import { randomUUID } from "node:crypto";
import {
  DeploymentDetail,
  type FinishRequest,
  FinishResponse,
  ProblemDetails,
  type TriggerRequest,
  TriggerResponse,
  type Verdict,
} from "@seqpulse/types";
import { type Problem, SeqPulseApiError, SeqPulseResponseError, SeqPulseUnavailableError } from "./errors.js";
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  retryDelay,
} from "./retry.js";

export const CLIENT_VERSION = "0.1.0";
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_POLL_INTERVAL_MS = 5_000;

export interface SeqPulseClientOptions {
  /** Base URL of the SeqPulse API, e.g. `https://api.seqpulse.dev` or `https://ops.example.com/seqpulse`. */
  apiUrl: string;
  /** The project's API key; sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** Per-request timeout, the response body included. Default 10 s. */
  timeoutMs?: number;
  /** Default: 5 attempts, 500 ms base delay, 10 s max delay, `Retry-After` honoured up to 30 s. */
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** Called before each retry's wait, e.g. to log it. */
  onRetry?: (event: RetryEvent) => void;
  /** Injected waits and randomness, for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  fetch?: typeof globalThis.fetch;
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
  | { outcome: "timeout"; deployment: DeploymentDetail | undefined; polls: number };

export interface SeqPulseClient {
  readonly apiUrl: string;
  trigger(body: TriggerRequest, options?: TriggerOptions): Promise<SeqPulseResponse<TriggerResponse>>;
  finish(body: FinishRequest): Promise<SeqPulseResponse<FinishResponse>>;
  getDeployment(id: string): Promise<SeqPulseResponse<DeploymentDetail>>;
  /**
   * Polls the deployment until it has a verdict, is abandoned, or `timeoutMs` passes. Polls that fail
   * with {@link SeqPulseUnavailableError} are retried until the deadline; the last such error is thrown
   * when no poll succeeded after it. Other errors are thrown at once.
   */
  waitForVerdict(id: string, options: WaitForVerdictOptions): Promise<WaitForVerdictResult>;
}

interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}

interface RequestSpec<T> {
  method: "GET" | "POST";
  path: string;
  /** Words for messages: "trigger the deployment". */
  action: string;
  body?: unknown;
  headers?: Record<string, string>;
  schema: Schema<T>;
}

const LooseProblem = ProblemDetails.loose();

export function createSeqPulseClient(options: SeqPulseClientOptions): SeqPulseClient {
  const apiUrl = normalizeApiUrl(options.apiUrl);
  if (!options.apiKey || options.apiKey.trim() === "") {
    throw new TypeError("SeqPulse client: apiKey is empty; pass the project's API key");
  }
  const apiKey = options.apiKey.trim();
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
  const fetchImpl = options.fetch ?? globalThis.fetch;

  async function request<T>(spec: RequestSpec<T>): Promise<SeqPulseResponse<T>> {
    const url = `${apiUrl}${spec.path}`;
    const headers: Record<string, string> = {
      accept: "application/json, application/problem+json",
      authorization: `Bearer ${apiKey}`,
      "user-agent": userAgent,
      ...spec.headers,
    };
    if (spec.body !== undefined) headers["content-type"] = "application/json";
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);

    for (let attempt = 1; ; attempt++) {
      const outcome = await attemptOnce(url, spec.method, headers, body);
      const last = attempt >= policy.attempts;

      if (outcome.kind === "response") {
        const { response, text } = outcome;
        if (response.status >= 200 && response.status < 300) {
          return {
            data: parseSuccess(spec, response.status, text),
            status: response.status,
            attempts: attempt,
            replayed: response.headers.get("idempotent-replayed") === "true",
            requestId: response.headers.get("x-request-id") ?? undefined,
          };
        }
        const problem = parseProblem(text);
        if (!isRetryableStatus(response.status)) {
          throw apiError(spec, response, text, problem);
        }
        const reason = describeStatus(response.status, problem, text);
        if (last) {
          throw new SeqPulseUnavailableError(
            `SeqPulse at ${apiUrl} could not ${spec.action}: ${reason} after ${attempt} attempt${plural(attempt)}`,
            attempt,
            response.status,
            problem,
            spec.method,
            spec.path,
          );
        }
        const retryAfter = parseRetryAfter(response.headers.get("retry-after"), now());
        await pause(spec, attempt, retryDelay(attempt, retryAfter, policy, random), response.status, reason);
        continue;
      }

      const reason = outcome.timedOut ? `no answer within ${timeoutMs} ms` : networkReason(outcome.error);
      if (last) {
        throw new SeqPulseUnavailableError(
          `SeqPulse at ${apiUrl} could not be reached to ${spec.action}: ${reason} (${attempt} attempt${plural(attempt)})`,
          attempt,
          undefined,
          undefined,
          spec.method,
          spec.path,
          { cause: outcome.error },
        );
      }
      await pause(spec, attempt, retryDelay(attempt, undefined, policy, random), undefined, reason);
    }
  }

  async function pause(
    spec: RequestSpec<unknown>,
    attempt: number,
    delayMs: number,
    status: number | undefined,
    reason: string,
  ): Promise<void> {
    options.onRetry?.({
      method: spec.method,
      path: spec.path,
      attempt,
      attempts: policy.attempts,
      delayMs,
      status,
      reason,
    });
    await sleep(delayMs);
  }

  type AttemptOutcome =
    | { kind: "response"; response: Response; text: string }
    | { kind: "failure"; error: unknown; timedOut: boolean };

  async function attemptOnce(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<AttemptOutcome> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      const response = await fetchImpl(url, {
        method,
        headers,
        body: body ?? null,
        signal: controller.signal,
        redirect: "manual",
      });
      const text = await response.text();
      return { kind: "response", response, text };
    } catch (error) {
      return { kind: "failure", error, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  function parseSuccess<T>(spec: RequestSpec<T>, status: number, text: string): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SeqPulseResponseError(
        `${apiUrl}${spec.path} answered ${status} with a body that is not JSON (${excerpt(text)}); is ${apiUrl} the SeqPulse API's base URL?`,
        status,
        spec.method,
        spec.path,
      );
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      throw new SeqPulseResponseError(
        `${apiUrl}${spec.path} answered ${status} with JSON that is not a SeqPulse response (${parsed.error.message.replaceAll(/\s+/g, " ").slice(0, 300)}); is ${apiUrl} the SeqPulse API's base URL, and is the server up to date?`,
        status,
        spec.method,
        spec.path,
      );
    }
    return parsed.data;
  }

  function apiError(
    spec: RequestSpec<unknown>,
    response: Response,
    text: string,
    problem: Problem | undefined,
  ): SeqPulseApiError {
    const status = response.status;
    const code = problem?.code ?? `http_${status}`;
    const detail = problem?.detail ?? excerpt(text);
    const explanation = explainRejection({
      status,
      code,
      detail,
      problem,
      apiUrl,
      path: spec.path,
      location: response.headers.get("location"),
    });
    return new SeqPulseApiError(
      `SeqPulse refused to ${spec.action} (${status} ${code}): ${explanation}`,
      status,
      code,
      detail,
      problem,
      spec.method,
      spec.path,
    );
  }

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
        schema: TriggerResponse,
      });
    },
    finish(body) {
      return request({
        method: "POST",
        path: "/deployments/finish",
        action: "finish the deployment",
        body,
        schema: FinishResponse,
      });
    },
    getDeployment(id) {
      return request({
        method: "GET",
        path: `/deployments/${encodeURIComponent(id)}`,
        action: "read the deployment",
        schema: DeploymentDetail,
      });
    },
    async waitForVerdict(id, waitOptions) {
      const pollIntervalMs = waitOptions.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
      const deadline = now() + waitOptions.timeoutMs;
      let polls = 0;
      let latest: DeploymentDetail | undefined;
      for (;;) {
        let pollError: SeqPulseUnavailableError | undefined;
        try {
          const { data } = await client.getDeployment(id);
          polls++;
          latest = data;
          waitOptions.onPoll?.(data, polls);
          if (data.verdict) return { outcome: "verdict", deployment: data, verdict: data.verdict, polls };
          if (data.state === "abandoned") return { outcome: "abandoned", deployment: data, polls };
        } catch (error) {
          if (!(error instanceof SeqPulseUnavailableError)) throw error;
          polls++;
          pollError = error;
        }
        const remaining = deadline - now();
        if (remaining <= 0) {
          if (pollError) throw pollError;
          return { outcome: "timeout", deployment: latest, polls };
        }
        await sleep(Math.min(pollIntervalMs, remaining));
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
      `SeqPulse client: apiUrl ${JSON.stringify(value)} is not a URL; use e.g. https://api.seqpulse.dev`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`SeqPulse client: apiUrl must be http:// or https:// (got ${url.protocol}//)`);
  }
  if (url.search || url.hash) {
    throw new TypeError("SeqPulse client: apiUrl must not have a query string or fragment");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

function parseProblem(text: string): Problem | undefined {
  try {
    const parsed = LooseProblem.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as Problem) : undefined;
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
  location: string | null;
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

function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" ? `${code} (${cause.message})` : cause.message;
  }
  return error.message;
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
