/**
 * The one call the CLI needs that @seqpulse/client does not have yet: `GET /deployments` filtered by
 * idempotency key. TO MOVE into @seqpulse/client (e.g. `listDeployments(query)`; its request machinery
 * is private), and this module goes.
 *
 * Same behaviour as the client: its retry policy and helpers (network errors, timeouts, 408, 429 with
 * Retry-After, 500/502/503/504), its error classes, no key in any message.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import {
  DEFAULT_RETRY_POLICY,
  type DeploymentState,
  isDeploymentId,
  isRetryableStatus,
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
  /** `GET /deployments?env=…&idempotency_key=…`: the deployment with that key (or alias), if any. */
  findDeploymentByKey(env: string, key: string): Promise<ListedDeployment | undefined>;
}

interface Answer {
  status: number;
  text: string;
  retryAfter: string | undefined;
}

const ACTION = "look up the deployment by its idempotency key";

export function createPendingClient(options: PendingClientOptions): PendingClient {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const redact = (text: string) => text.replaceAll(options.apiKey, "[redacted]");

  async function get(path: string): Promise<Answer> {
    const url = new URL(`${options.apiUrl}${path}`);
    const send = url.protocol === "https:" ? (await import("node:https")).request : httpRequest;
    const headers = {
      accept: "application/json, application/problem+json",
      authorization: `Bearer ${options.apiKey}`,
      "user-agent": options.userAgent,
    };
    return new Promise((resolve, reject) => {
      const outgoing = send(url, { headers, timeout: options.timeoutMs }, (answer: IncomingMessage) => {
        let text = "";
        answer.setEncoding("utf8");
        answer.on("data", (chunk: string) => {
          text += chunk;
        });
        answer.once("end", () =>
          resolve({ status: answer.statusCode ?? 0, text, retryAfter: answer.headers["retry-after"] }),
        );
        answer.once("error", reject);
      });
      outgoing.once("timeout", () => outgoing.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      outgoing.once("error", reject);
      outgoing.end();
    });
  }

  async function getJson(path: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      let reason: string;
      try {
        answer = await get(path);
      } catch (error) {
        reason = redact(error instanceof Error ? error.message : String(error));
        if (attempt >= policy.attempts) {
          throw new SeqPulseUnavailableError(
            `SeqPulse at ${options.apiUrl} could not be reached to ${ACTION}: ${reason} (${attempt} attempts)`,
            attempt,
            undefined,
            undefined,
            "GET",
            path,
          );
        }
        await pause(path, attempt, retryDelay(attempt, undefined, policy, Math.random), undefined, reason);
        continue;
      }
      const json = parseJson(answer.text);
      if (answer.status >= 200 && answer.status < 300) {
        if (json === undefined) throw unexpected(path, answer.status, "the body is not JSON");
        return json;
      }
      const problem = isProblem(json) ? json : undefined;
      reason = redact(problem ? `${answer.status} ${problem.code}: ${problem.detail}` : `${answer.status}`);
      if (!isRetryableStatus(answer.status)) {
        throw new SeqPulseApiError(
          `SeqPulse refused to ${ACTION} (${reason})`,
          answer.status,
          problem?.code ?? `http_${answer.status}`,
          redact(problem?.detail ?? ""),
          problem,
          "GET",
          path,
        );
      }
      if (attempt >= policy.attempts) {
        throw new SeqPulseUnavailableError(
          `SeqPulse at ${options.apiUrl} could not ${ACTION}: ${reason} after ${attempt} attempts`,
          attempt,
          answer.status,
          problem,
          "GET",
          path,
        );
      }
      const retryAfter = parseRetryAfter(answer.retryAfter, Date.now());
      await pause(path, attempt, retryDelay(attempt, retryAfter, policy, Math.random), answer.status, reason);
    }
  }

  async function pause(
    path: string,
    attempt: number,
    delayMs: number,
    status: number | undefined,
    reason: string,
  ): Promise<void> {
    options.onRetry?.({ method: "GET", path, attempt, attempts: policy.attempts, delayMs, status, reason });
    await new Promise((done) => setTimeout(done, delayMs));
  }

  function unexpected(path: string, status: number, what: string): SeqPulseResponseError {
    return new SeqPulseResponseError(
      `${options.apiUrl}${path} answered ${status} with something that is not a SeqPulse response (${what}); is ${options.apiUrl} the SeqPulse API's base URL, and is the server up to date?`,
      status,
      "GET",
      path,
    );
  }

  return {
    async findDeploymentByKey(env, key) {
      const path = `/deployments?${new URLSearchParams({ env, idempotency_key: key, limit: "1" })}`;
      const data = (await getJson(path)) as { items?: unknown };
      if (!Array.isArray(data?.items)) throw unexpected(path, 200, "no items");
      // The filter also matches the key of a trigger that joined a deployment (an alias), which the
      // item's own idempotency_key does not show.
      const [found] = data.items as Partial<ListedDeployment>[];
      if (!found) return undefined;
      if (typeof found.id !== "string" || !isDeploymentId(found.id)) throw unexpected(path, 200, "item id");
      return found as ListedDeployment;
    },
  };
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
