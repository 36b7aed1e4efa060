/**
 * Calls the CLI needs that @seqpulse/client does not have yet. TO MOVE into @seqpulse/client as
 * `finishByKey()` and `findDeploymentByKey()` (its request machinery is private): this module then goes.
 *
 * Same behaviour as the client: the same retry policy and helpers (network errors, timeouts, 408, 429
 * with Retry-After, 500/502/503/504), the same error classes, no key in any message.
 */
import { request as httpRequest } from "node:http";
import {
  DEFAULT_RETRY_POLICY,
  type DeploymentState,
  type FinishResponse,
  isDeploymentId,
  isRetryableStatus,
  type PipelineResult,
  type Problem,
  parseRetryAfter,
  type RetryEvent,
  type RetryPolicy,
  retryDelay,
  SeqPulseApiError,
  SeqPulseResponseError,
  SeqPulseUnavailableError,
} from "@seqpulse/client";

export interface PendingClientOptions {
  /** The base URL as the client normalised it (`client.apiUrl`). */
  apiUrl: string;
  apiKey: string;
  timeoutMs: number;
  retry: Partial<RetryPolicy>;
  userAgent: string;
  onRetry?: (event: RetryEvent) => void;
}

/** A deployment as the list endpoint shows it: the fields the CLI reads. */
export interface ListedDeployment {
  id: string;
  deployment_number: number;
  env: string;
  state: DeploymentState;
  idempotency_key: string | null;
}

export interface PendingClient {
  /** `POST /deployments/finish` with `{ env, idempotency_key, result }`; 404 `not_found` when no deployment has the key. */
  finishByKey(body: {
    env: string;
    idempotency_key: string;
    result: PipelineResult;
  }): Promise<FinishResponse>;
  /** `GET /deployments?env=…&idempotency_key=…`: the deployment with that key (or alias), if any. */
  findDeploymentByKey(env: string, key: string): Promise<ListedDeployment | undefined>;
}

interface Answer {
  status: number;
  text: string;
  retryAfter: string | undefined;
}

export function createPendingClient(options: PendingClientOptions): PendingClient {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const redact = (text: string) => text.replaceAll(options.apiKey, "[redacted]");

  function exchange(method: string, path: string, body: string | undefined): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const url = new URL(`${options.apiUrl}${path}`);
      const send =
        url.protocol === "https:" ? import("node:https").then((https) => https.request) : undefined;
      const headers: Record<string, string | number> = {
        accept: "application/json, application/problem+json",
        authorization: `Bearer ${options.apiKey}`,
        "user-agent": options.userAgent,
      };
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(body);
      }
      const start = (requestFn: typeof httpRequest) => {
        const outgoing = requestFn(url, { method, headers, timeout: options.timeoutMs }, (answer) => {
          let text = "";
          answer.setEncoding("utf8");
          answer.on("data", (chunk: string) => {
            text += chunk;
          });
          answer.once("end", () =>
            resolve({
              status: answer.statusCode ?? 0,
              text,
              retryAfter: answer.headers["retry-after"],
            }),
          );
          answer.once("error", reject);
        });
        outgoing.once("timeout", () =>
          outgoing.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
        );
        outgoing.once("error", reject);
        outgoing.end(body);
      };
      if (send) send.then(start, reject);
      else start(httpRequest);
    });
  }

  async function call(
    method: "GET" | "POST",
    path: string,
    action: string,
    body?: unknown,
  ): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      try {
        answer = await exchange(method, path, payload);
      } catch (error) {
        const reason = redact(error instanceof Error ? error.message : String(error));
        if (attempt >= policy.attempts) {
          throw new SeqPulseUnavailableError(
            `SeqPulse at ${options.apiUrl} could not be reached to ${action}: ${reason} (${attempt} attempt${attempt === 1 ? "" : "s"})`,
            attempt,
            undefined,
            undefined,
            method,
            path,
          );
        }
        await pause(
          method,
          path,
          attempt,
          retryDelay(attempt, undefined, policy, Math.random),
          undefined,
          reason,
        );
        continue;
      }
      const json = parseJson(answer.text);
      if (answer.status >= 200 && answer.status < 300) {
        if (json === undefined) {
          throw new SeqPulseResponseError(
            `${options.apiUrl}${path} answered ${answer.status} with a body that is not JSON; is ${options.apiUrl} the SeqPulse API's base URL?`,
            answer.status,
            method,
            path,
          );
        }
        return json;
      }
      const problem = isProblem(json) ? json : undefined;
      const reason = redact(
        problem ? `${answer.status} ${problem.code}: ${problem.detail}` : `${answer.status}`,
      );
      if (!isRetryableStatus(answer.status)) {
        const code = problem?.code ?? `http_${answer.status}`;
        throw new SeqPulseApiError(
          `SeqPulse refused to ${action} (${reason})`,
          answer.status,
          code,
          redact(problem?.detail ?? ""),
          problem,
          method,
          path,
        );
      }
      if (attempt >= policy.attempts) {
        throw new SeqPulseUnavailableError(
          `SeqPulse at ${options.apiUrl} could not ${action}: ${reason} after ${attempt} attempts`,
          attempt,
          answer.status,
          problem,
          method,
          path,
        );
      }
      const retryAfter = parseRetryAfter(answer.retryAfter, Date.now());
      await pause(
        method,
        path,
        attempt,
        retryDelay(attempt, retryAfter, policy, Math.random),
        answer.status,
        reason,
      );
    }
  }

  async function pause(
    method: string,
    path: string,
    attempt: number,
    delayMs: number,
    status: number | undefined,
    reason: string,
  ): Promise<void> {
    options.onRetry?.({ method, path, attempt, attempts: policy.attempts, delayMs, status, reason });
    await new Promise((done) => setTimeout(done, delayMs));
  }

  function unexpected(path: string, status: number, what: string): SeqPulseResponseError {
    return new SeqPulseResponseError(
      `${options.apiUrl}${path} answered with JSON that is not a SeqPulse response (${what}); is the server up to date?`,
      status,
      "GET",
      path,
    );
  }

  function checkFinish(path: string, data: unknown): FinishResponse {
    const answer = data as Partial<FinishResponse>;
    if (typeof answer.deployment_id !== "string" || !isDeploymentId(answer.deployment_id)) {
      throw unexpected(path, 200, "no deployment_id");
    }
    if (answer.status !== "accepted" && answer.status !== "ignored") throw unexpected(path, 200, "status");
    return answer as FinishResponse;
  }

  async function listByKey(
    env: string,
    key: string,
    filterOnServer: boolean,
  ): Promise<ListedDeployment | undefined> {
    const query: Record<string, string> = filterOnServer
      ? { env, idempotency_key: key, limit: "1" }
      : { env, limit: "100" };
    const path = `/deployments?${new URLSearchParams(query)}`;
    const data = (await call("GET", path, "look up the deployment by its idempotency key")) as {
      items?: unknown;
    };
    if (!Array.isArray(data.items)) throw unexpected(path, 200, "no items");
    const items = data.items as Partial<ListedDeployment>[];
    // The server's filter also matches the keys of triggers that joined a deployment (aliases), which
    // the item's own idempotency_key does not show.
    const found = filterOnServer ? items[0] : items.find((item) => item.idempotency_key === key);
    if (!found) return undefined;
    if (typeof found.id !== "string" || !isDeploymentId(found.id)) throw unexpected(path, 200, "item id");
    return found as ListedDeployment;
  }

  /** A 400 validation_error on a request the server would accept once it knows lookups by key. */
  const predatesKeys = (error: unknown) =>
    error instanceof SeqPulseApiError && error.status === 400 && error.code === "validation_error";

  const pending: PendingClient = {
    async finishByKey(body) {
      const path = "/deployments/finish";
      try {
        return checkFinish(path, await call("POST", path, "finish the deployment", body));
      } catch (error) {
        if (!predatesKeys(error)) throw error;
      }
      // TRANSITIONAL, until the server finishes by key: find the id, then finish by id.
      const found = await pending.findDeploymentByKey(body.env, body.idempotency_key);
      if (!found) {
        throw new SeqPulseApiError(
          `SeqPulse refused to finish the deployment (404 not_found): no deployment has idempotency key ${body.idempotency_key} in ${body.env}`,
          404,
          "not_found",
          `no deployment has idempotency key ${body.idempotency_key} in ${body.env}`,
          undefined,
          "POST",
          path,
        );
      }
      const data = await call("POST", path, "finish the deployment", {
        deployment_id: found.id,
        result: body.result,
      });
      return checkFinish(path, data);
    },
    async findDeploymentByKey(env, key) {
      try {
        return await listByKey(env, key, true);
      } catch (error) {
        if (!predatesKeys(error)) throw error;
      }
      // TRANSITIONAL, until the server filters the list by key: the newest 100 of the environment.
      return listByKey(env, key, false);
    },
  };
  return pending;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isProblem(value: unknown): value is Problem {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Problem).code === "string" &&
    typeof (value as Problem).detail === "string"
  );
}
