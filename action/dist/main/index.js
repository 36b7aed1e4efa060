"use strict";
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// ../packages/client/src/client.ts
var import_node_crypto = require("node:crypto");
var import_node_http2 = require("node:http");

// ../packages/client/src/errors.ts
var SeqPulseError = class extends Error {
  name = "SeqPulseError";
};
var SeqPulseApiError = class extends SeqPulseError {
  constructor(message, status, code, detail, problem, method, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.problem = problem;
    this.method = method;
    this.path = path;
  }
  status;
  code;
  detail;
  problem;
  method;
  path;
  name = "SeqPulseApiError";
};
var SeqPulseUnavailableError = class extends SeqPulseError {
  constructor(message, attempts, status, problem, method, path, options) {
    super(message, options);
    this.attempts = attempts;
    this.status = status;
    this.problem = problem;
    this.method = method;
    this.path = path;
  }
  attempts;
  status;
  problem;
  method;
  path;
  name = "SeqPulseUnavailableError";
};
var SeqPulseResponseError = class extends SeqPulseError {
  constructor(message, status, method, path) {
    super(message);
    this.status = status;
    this.method = method;
    this.path = path;
  }
  status;
  method;
  path;
  name = "SeqPulseResponseError";
};

// ../packages/client/src/request-checks.ts
function isEnvName(value) {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/.test(value);
}
function isCommitSha(value) {
  return /^[0-9a-fA-F]{4,64}$/.test(value.trim());
}
function isDeploymentId(value) {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
function isHttpUrl(value) {
  const trimmed = value.trim();
  if (trimmed.length > 2048) return false;
  try {
    const url = new URL(trimmed);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}
var MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// ../packages/client/src/responses.ts
function describe(value) {
  if (value === null) return "null";
  if (value === void 0) return "nothing";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
var expected = (what, test) => (value, path) => test(value) ? void 0 : `${path}: expected ${what}, got ${describe(value)}`;
var string = expected("a string", (value) => typeof value === "string");
var number = expected("a number", (value) => typeof value === "number" && Number.isFinite(value));
var integer = expected("an integer", (value) => Number.isInteger(value));
var uuid = expected("a UUID", (value) => typeof value === "string" && isDeploymentId(value));
var nullable = (check) => (value, path) => value === null ? void 0 : check(value, path);
var optional = (check) => (value, path) => value === void 0 ? void 0 : check(value, path);
var array = (item) => (value, path) => {
  if (!Array.isArray(value)) return `${path}: expected an array, got ${describe(value)}`;
  for (const [index, entry] of value.entries()) {
    const problem = item(entry, `${path}[${index}]`);
    if (problem) return problem;
  }
  return void 0;
};
function isRecord(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
var object = (members) => (value, path) => {
  if (!isRecord(value)) return `${path || "the answer"}: expected an object, got ${describe(value)}`;
  for (const [name, check] of Object.entries(members)) {
    const problem = check(value[name], path ? `${path}.${name}` : name);
    if (problem) return problem;
  }
  return void 0;
};
var recordOf = (check) => (value, path) => {
  if (!isRecord(value)) return `${path}: expected an object, got ${describe(value)}`;
  for (const [name, member] of Object.entries(value)) {
    const problem = check(member, `${path}.${name}`);
    if (problem) return problem;
  }
  return void 0;
};
function response(check) {
  return (value) => check(value, "");
}
var checkTriggerResponse = response(
  object({
    deployment_id: uuid,
    deployment_number: integer,
    status: string,
    reason: optional(string),
    env: string,
    state: string,
    started_at: string,
    idempotency_key: nullable(string)
  })
);
var checkFinishResponse = response(
  object({ status: string, deployment_id: uuid, state: string })
);
var verdictCheck = object({
  verdict: string,
  confidence: number,
  summary: string,
  reasons: array(
    object({
      metric: nullable(string),
      rule: string,
      severity: string,
      message: string,
      threshold: nullable(number)
    })
  ),
  data_quality: object({ score: number, issues: array(string) })
});
var checkDeploymentDetail = response(
  object({
    id: uuid,
    deployment_number: integer,
    env: string,
    state: string,
    state_reason: nullable(string),
    pipeline_result: nullable(string),
    branch: nullable(string),
    commit_sha: nullable(string),
    // A metric the source did not measure is null.
    samples: array(object({ phase: string, sequence: integer, metrics: recordOf(nullable(number)) })),
    collection_failures: array(object({ phase: string, sequence: integer, reason: string })),
    verdict: nullable(verdictCheck)
  })
);
var checkDeploymentList = response(
  object({
    items: array(
      object({
        id: uuid,
        deployment_number: integer,
        env: string,
        state: string,
        idempotency_key: nullable(string),
        branch: nullable(string),
        commit_sha: nullable(string),
        verdict: nullable(object({ verdict: string, confidence: number, summary: string }))
      })
    ),
    next_cursor: nullable(string)
  })
);
var checkProblem = response(
  object({ type: string, title: string, status: integer, code: string, detail: string })
);

// ../packages/client/src/retry.ts
var DEFAULT_RETRY_POLICY = {
  attempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 1e4,
  maxRetryAfterMs: 3e4
};
var RETRYABLE_STATUSES = /* @__PURE__ */ new Set([408, 429, 500, 502, 503, 504]);
function isRetryableStatus(status) {
  return RETRYABLE_STATUSES.has(status);
}
function backoffDelay(retry, policy, random) {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
}
function parseRetryAfter(header, now) {
  if (header === null || header === void 0) return void 0;
  const value = header.trim();
  if (value === "") return void 0;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1e3);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return void 0;
  return Math.max(0, date - now);
}
function retryDelay(retry, retryAfterMs, policy, random) {
  const backoff = backoffDelay(retry, policy, random);
  if (retryAfterMs === void 0) return backoff;
  return Math.max(backoff, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}

// ../packages/client/src/transport.ts
var import_node_http = require("node:http");
var nodeTransport = async (request) => {
  const url = new URL(request.url);
  const send = url.protocol === "https:" ? (await import("node:https")).request : import_node_http.request;
  const headers = { ...request.headers };
  if (request.body !== void 0) headers["content-length"] = Buffer.byteLength(request.body);
  return new Promise((resolve, reject) => {
    const outgoing = send(url, { method: request.method, headers, signal: request.signal }, (answer) => {
      readBody(answer, request.signal).then(
        (text) => resolve({ status: answer.statusCode ?? 0, header: (name) => headerValue(answer, name), text }),
        reject
      );
    });
    outgoing.once("error", reject);
    outgoing.end(request.body);
  });
};
function readBody(answer, signal) {
  return new Promise((resolve, reject) => {
    let text = "";
    answer.setEncoding("utf8");
    answer.on("data", (chunk) => {
      text += chunk;
    });
    answer.once("end", () => resolve(text));
    answer.once("error", reject);
    answer.once("close", () => {
      if (answer.complete) return;
      reject(
        signal.aborted ? signal.reason : new Error("the connection closed before the answer was complete")
      );
    });
  });
}
function headerValue(answer, name) {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

// ../packages/client/src/client.ts
var CLIENT_VERSION = "0.1.0";
var API_KEY_PATTERN = /^[\x21-\x7e]+$/;
var DEFAULT_TIMEOUT_MS = 1e4;
var DEFAULT_POLL_INTERVAL_MS = 5e3;
function createSeqPulseClient(options) {
  const apiUrl = normalizeApiUrl(options.apiUrl);
  const apiKey = (options.apiKey ?? "").trim();
  if (apiKey === "") {
    throw new TypeError("SeqPulse client: apiKey is empty; pass the project's API key");
  }
  if (!API_KEY_PATTERN.test(apiKey)) {
    throw new TypeError(
      "SeqPulse client: apiKey contains characters an API key cannot have (a space, a line break or another non-printable or non-ASCII character); check that the secret holds the key alone, on one line"
    );
  }
  const redact = (text) => text.replaceAll(apiKey, "[redacted]").replaceAll(/Bearer\s+(?![<[])\S+/gi, "Bearer [redacted]");
  const policy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options.retry ?? {}) };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new TypeError(
      `SeqPulse client: retry.attempts must be a whole number \u2265 1 (got ${policy.attempts})`
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const userAgent = options.userAgent ?? `seqpulse-client/${CLIENT_VERSION} node/${process.version}`;
  const sleep = options.sleep ?? ((ms) => new Promise((done) => setTimeout(done, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const transport = options.transport ?? nodeTransport;
  async function request(spec) {
    const url = `${apiUrl}${spec.path}`;
    const headers = buildHeaders({
      accept: "application/json, application/problem+json",
      authorization: `Bearer ${apiKey}`,
      "user-agent": userAgent,
      ...spec.headers,
      ...spec.body !== void 0 ? { "content-type": "application/json" } : {}
    });
    const body = spec.body === void 0 ? void 0 : JSON.stringify(spec.body);
    const attempts = spec.attempts ?? policy.attempts;
    const requestTimeoutMs = spec.timeoutMs ?? timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const outcome = await attemptOnce(url, spec.method, headers, body, requestTimeoutMs);
      const last = attempt >= attempts;
      if (outcome.kind === "response") {
        const { response: response2 } = outcome;
        const { text } = response2;
        if (response2.status >= 200 && response2.status < 300) {
          return {
            data: parseSuccess(spec, response2.status, text),
            status: response2.status,
            attempts: attempt,
            replayed: response2.header("idempotent-replayed") === "true",
            requestId: response2.header("x-request-id")
          };
        }
        const problem = parseProblem(text);
        if (!isRetryableStatus(response2.status)) {
          throw apiError(spec, response2, text, problem);
        }
        const reason2 = redact(describeStatus(response2.status, problem, text));
        if (last) {
          throw new SeqPulseUnavailableError(
            redact(
              `SeqPulse at ${apiUrl} could not ${spec.action}: ${reason2} after ${attempt} attempt${plural(attempt)}`
            ),
            attempt,
            response2.status,
            problem,
            spec.method,
            spec.path
          );
        }
        const retryAfter = parseRetryAfter(response2.header("retry-after"), now());
        await pause(
          spec,
          attempt,
          attempts,
          retryDelay(attempt, retryAfter, policy, random),
          response2.status,
          reason2
        );
        continue;
      }
      const reason = outcome.timedOut ? `no answer within ${requestTimeoutMs} ms` : redact(networkReason(outcome.error));
      if (last) {
        throw new SeqPulseUnavailableError(
          redact(
            `SeqPulse at ${apiUrl} could not be reached to ${spec.action}: ${reason} (${attempt} attempt${plural(attempt)})`
          ),
          attempt,
          void 0,
          void 0,
          spec.method,
          spec.path,
          { cause: redactedCause(outcome.error) }
        );
      }
      await pause(spec, attempt, attempts, retryDelay(attempt, void 0, policy, random), void 0, reason);
    }
  }
  async function pause(spec, attempt, attempts, delayMs, status, reason) {
    options.onRetry?.({
      method: spec.method,
      path: spec.path,
      attempt,
      attempts,
      delayMs,
      status,
      reason
    });
    await sleep(delayMs);
  }
  async function attemptOnce(url, method, headers, body, attemptTimeoutMs) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${attemptTimeoutMs} ms`));
    }, attemptTimeoutMs);
    try {
      const response2 = await transport({ url, method, headers, body, signal: controller.signal });
      return { kind: "response", response: response2 };
    } catch (error) {
      return { kind: "failure", error, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }
  function redactedCause(error) {
    const text = causeText(error);
    return redact(text) === text ? error : new Error(redact(networkReason(error)));
  }
  function parseSuccess(spec, status, text) {
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SeqPulseResponseError(
        redact(
          `${apiUrl}${spec.path} answered ${status} with a body that is not JSON (${excerpt(text)}); is ${apiUrl} the SeqPulse API's base URL?`
        ),
        status,
        spec.method,
        spec.path
      );
    }
    const problem = spec.check(json);
    if (problem) {
      throw new SeqPulseResponseError(
        redact(
          `${apiUrl}${spec.path} answered ${status} with JSON that is not a SeqPulse response (${problem.slice(0, 300)}); is ${apiUrl} the SeqPulse API's base URL, and is the server up to date?`
        ),
        status,
        spec.method,
        spec.path
      );
    }
    return json;
  }
  function apiError(spec, response2, text, problem) {
    const status = response2.status;
    const code = redact(problem?.code ?? `http_${status}`);
    const detail = redact(problem?.detail ?? excerpt(text));
    const explanation = explainRejection({
      status,
      code,
      detail,
      problem,
      apiUrl,
      path: spec.path,
      location: response2.header("location")
    });
    return new SeqPulseApiError(
      redact(`SeqPulse refused to ${spec.action} (${status} ${code}): ${explanation}`),
      status,
      code,
      detail,
      problem,
      spec.method,
      spec.path
    );
  }
  const getDeploymentSpec = (id) => ({
    method: "GET",
    path: `/deployments/${encodeURIComponent(id)}`,
    action: "read the deployment",
    check: checkDeploymentDetail
  });
  const client = {
    apiUrl,
    trigger(body, triggerOptions = {}) {
      const idempotencyKey = triggerOptions.idempotencyKey ?? body.idempotency_key ?? (0, import_node_crypto.randomUUID)();
      return request({
        method: "POST",
        path: "/deployments/trigger",
        action: "trigger the deployment",
        body,
        headers: { "idempotency-key": idempotencyKey },
        check: checkTriggerResponse
      });
    },
    finish(body) {
      return request({
        method: "POST",
        path: "/deployments/finish",
        action: "finish the deployment",
        body,
        check: checkFinishResponse
      });
    },
    getDeployment(id) {
      return request(getDeploymentSpec(id));
    },
    listDeployments(query = {}) {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (value !== void 0 && value !== null) search.set(name, String(value));
      }
      const queryString = search.size > 0 ? `?${search}` : "";
      return request({
        method: "GET",
        path: `/deployments${queryString}`,
        action: "list the deployments",
        check: checkDeploymentList
      });
    },
    async waitForVerdict(id, waitOptions) {
      const pollIntervalMs = waitOptions.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
      const deadline = now() + waitOptions.timeoutMs;
      let polls = 0;
      let latest;
      let pollError;
      const timedOut = () => {
        if (pollError && !latest) throw pollError;
        return { outcome: "timeout", deployment: latest, polls };
      };
      for (; ; ) {
        const remaining = deadline - now();
        if (remaining <= 0) return timedOut();
        try {
          const { data } = await request({
            ...getDeploymentSpec(id),
            attempts: 1,
            timeoutMs: Math.min(timeoutMs, remaining)
          });
          polls++;
          latest = data;
          pollError = void 0;
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
    }
  };
  return client;
}
function normalizeApiUrl(raw) {
  const value = (raw ?? "").trim();
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(
      `SeqPulse client: apiUrl ${JSON.stringify(redactUrl(value))} is not a URL; use e.g. https://api.seqpulse.dev`
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`SeqPulse client: apiUrl must be http:// or https:// (got ${url.protocol}//)`);
  }
  if (url.username || url.password) {
    throw new TypeError(
      "SeqPulse client: apiUrl must not contain a user name or password; the API key is the credential"
    );
  }
  if (url.search || url.hash) {
    throw new TypeError("SeqPulse client: apiUrl must not have a query string or fragment");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
function redactUrl(raw) {
  return raw.replace(/([?#]).*$/s, "$1***").replaceAll(/[^\s/?#@]+@/g, "***@");
}
function buildHeaders(values) {
  for (const [name, value] of Object.entries(values)) {
    try {
      (0, import_node_http2.validateHeaderName)(name);
      (0, import_node_http2.validateHeaderValue)(name, value);
    } catch {
      throw new TypeError(
        `SeqPulse client: the ${name} header cannot be sent: its value has a line break or another character not allowed in HTTP headers`
      );
    }
  }
  return values;
}
function parseProblem(text) {
  try {
    const json = JSON.parse(text);
    return checkProblem(json) === void 0 ? json : void 0;
  } catch {
    return void 0;
  }
}
function describeStatus(status, problem, text) {
  if (problem) return `${status} ${problem.code}: ${problem.detail}`;
  const body = excerpt(text);
  return body ? `${status} (${body})` : `${status}`;
}
function explainRejection(rejection) {
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
      return allowed.length > 0 ? `${detail}. Use one of: ${allowed.join(", ")}, or add the environment to the project's envs` : detail;
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
function causeText(error) {
  const parts = [];
  let current = error;
  for (let depth = 0; current !== void 0 && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? "");
      current = current.cause;
    } else {
      parts.push(String(current));
      current = void 0;
    }
  }
  return parts.join("\n");
}
function networkReason(error) {
  if (!(error instanceof Error)) return String(error);
  const inner = error.cause instanceof Error ? error.cause : error;
  const code = inner.code;
  const message = inner.message || (inner instanceof AggregateError ? inner.errors.map((each) => String(each?.message ?? each)).join("; ") : "");
  if (typeof code !== "string") return message || inner.name;
  return message.includes(code) ? message : `${code}${message ? ` (${message})` : ""}`;
}
function excerpt(text) {
  const flat = text.replaceAll(/<[^>]*>/g, " ").replaceAll(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}\u2026` : flat;
}
function plural(count) {
  return count === 1 ? "" : "s";
}
function definedOnly(value) {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== void 0));
}

// src/constants.ts
var INPUT = {
  apiKey: "api-key",
  apiUrl: "api-url",
  publicUrl: "public-url",
  env: "env",
  metricsEndpoint: "metrics-endpoint",
  branch: "branch",
  commitSha: "commit-sha",
  idempotencyKey: "idempotency-key",
  mode: "mode",
  deploymentId: "deployment-id",
  result: "result",
  autoFinish: "auto-finish",
  waitForVerdict: "wait-for-verdict",
  failOn: "fail-on",
  verdictTimeoutSeconds: "verdict-timeout-seconds",
  failOnError: "fail-on-error",
  jobStatus: "job-status"
};
var OUTPUT = {
  deploymentId: "deployment-id",
  deploymentNumber: "deployment-number",
  status: "status",
  httpStatus: "http-status",
  verdict: "verdict",
  confidence: "confidence"
};
var STATE = {
  deploymentId: "deployment-id",
  deploymentNumber: "deployment-number",
  apiUrl: "api-url",
  /** "" when the console is opened at the API's own address. */
  publicUrl: "public-url",
  env: "env",
  branch: "branch",
  commitSha: "commit-sha",
  mode: "mode",
  /** mode: trigger only: "true" or "false", so the post step need not read auto-finish again. */
  autoFinish: "auto-finish"
};
var DEFAULTS = {
  apiUrl: "https://api.seqpulse.dev",
  env: "production",
  mode: "trigger",
  autoFinish: true,
  waitForVerdict: false,
  failOn: "rollback_recommended",
  verdictTimeoutSeconds: 900,
  failOnError: false
};
var TUNING_ENV = {
  attempts: "SEQPULSE_RETRY_ATTEMPTS",
  baseDelayMs: "SEQPULSE_RETRY_BASE_DELAY_MS",
  maxDelayMs: "SEQPULSE_RETRY_MAX_DELAY_MS",
  timeoutMs: "SEQPULSE_REQUEST_TIMEOUT_MS",
  pollIntervalMs: "SEQPULSE_POLL_INTERVAL_MS"
};

// src/github-context.ts
function read(env, name) {
  const value = env[name]?.trim();
  return value ? value : void 0;
}
function readGitHubContext(env) {
  const repository = read(env, "GITHUB_REPOSITORY");
  const runId = read(env, "GITHUB_RUN_ID");
  const runAttempt = read(env, "GITHUB_RUN_ATTEMPT");
  const serverUrl = read(env, "GITHUB_SERVER_URL") ?? "https://github.com";
  const runUrl = repository && runId ? `${serverUrl}/${repository}/actions/runs/${runId}${runAttempt ? `/attempts/${runAttempt}` : ""}` : void 0;
  return {
    repository,
    runId,
    runAttempt,
    runUrl,
    workflow: read(env, "GITHUB_WORKFLOW"),
    job: read(env, "GITHUB_JOB"),
    actor: read(env, "GITHUB_ACTOR"),
    event: read(env, "GITHUB_EVENT_NAME"),
    ref: read(env, "GITHUB_REF"),
    refName: read(env, "GITHUB_REF_NAME"),
    sha: read(env, "GITHUB_SHA")
  };
}
function defaultIdempotencyKey(context) {
  return context.runId ? `${context.runId}-${context.runAttempt ?? "1"}` : void 0;
}
function ciMetadata(context) {
  const fields = {
    provider: "github-actions",
    repository: cut(context.repository, 255),
    run_id: cut(context.runId, 100),
    run_attempt: cut(context.runAttempt, 20),
    run_url: cut(context.runUrl, 2048),
    workflow: cut(context.workflow, 255),
    job: cut(context.job, 255),
    actor: cut(context.actor, 255),
    event: cut(context.event, 100),
    ref: cut(context.ref, 255)
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== void 0));
}
function cut(value, max) {
  return value === void 0 ? void 0 : value.slice(0, max);
}

// src/inputs.ts
var InputError = class extends Error {
  name = "InputError";
};
var MAX_VERDICT_TIMEOUT_SECONDS = 6 * 60 * 60;
function readSettings(toolkit, context) {
  const problems = [];
  const input = (name) => toolkit.getInput(name).trim();
  const apiKey = readApiKey(toolkit, problems);
  const apiUrl = readBaseUrl(INPUT.apiUrl, input(INPUT.apiUrl) || DEFAULTS.apiUrl, problems);
  const rawPublicUrl = input(INPUT.publicUrl);
  const publicUrl = rawPublicUrl ? readBaseUrl(INPUT.publicUrl, rawPublicUrl, problems) : void 0;
  const env = input(INPUT.env) || DEFAULTS.env;
  if (!isEnvName(env)) {
    problems.push(
      `${INPUT.env} "${env}" must be 1-50 letters, digits, '.', '_' or '-', starting with a letter or digit`
    );
  }
  const metricsEndpoint = input(INPUT.metricsEndpoint) || void 0;
  if (metricsEndpoint !== void 0 && !isHttpUrl(metricsEndpoint)) {
    problems.push(
      `${INPUT.metricsEndpoint} "${redactUrl(metricsEndpoint)}" must be an absolute http:// or https:// URL`
    );
  }
  const branch = (input(INPUT.branch) || context.refName)?.slice(0, 255);
  const commitSha = input(INPUT.commitSha) || context.sha;
  if (commitSha !== void 0 && !isCommitSha(commitSha)) {
    problems.push(`${INPUT.commitSha} "${commitSha}" must be a hexadecimal commit hash`);
  }
  const idempotencyKey = input(INPUT.idempotencyKey) || defaultIdempotencyKey(context);
  if (idempotencyKey !== void 0) {
    if (idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      problems.push(
        `${INPUT.idempotencyKey} is ${idempotencyKey.length} characters; at most ${MAX_IDEMPOTENCY_KEY_LENGTH}`
      );
    } else if (!/^[\x20-\x7e]+$/.test(idempotencyKey)) {
      problems.push(`${INPUT.idempotencyKey} may only contain printable ASCII characters`);
    }
  }
  const mode = oneOf(
    input(INPUT.mode) || DEFAULTS.mode,
    ["trigger", "finish"],
    INPUT.mode,
    problems
  );
  let deploymentId;
  let result;
  if (mode === "finish") {
    deploymentId = input(INPUT.deploymentId) || void 0;
    if (!deploymentId) {
      problems.push(
        `${INPUT.mode}: finish needs ${INPUT.deploymentId}: pass the trigger step's output, e.g. \`${INPUT.deploymentId}: \${{ steps.seqpulse.outputs.deployment-id }}\``
      );
    } else if (!isDeploymentId(deploymentId)) {
      problems.push(`${INPUT.deploymentId} "${deploymentId}" is not a deployment id (a UUID)`);
    }
    const rawResult = input(INPUT.result);
    if (!rawResult) {
      problems.push(
        `${INPUT.mode}: finish needs ${INPUT.result}: success, failed or cancelled (\`\${{ job.status }}\` works too)`
      );
    } else {
      result = parseResult(rawResult);
      if (!result) {
        problems.push(
          `${INPUT.result} "${rawResult}" must be success, failed or cancelled (or a job status: success, failure, cancelled)`
        );
      }
    }
  }
  const autoFinish = readBoolean(input(INPUT.autoFinish), DEFAULTS.autoFinish, INPUT.autoFinish, problems);
  const gate = readGateInputs(input, problems);
  if (problems.length > 0) throw inputError(problems);
  return {
    apiKey,
    apiUrl,
    publicUrl,
    env,
    metricsEndpoint,
    branch,
    commitSha,
    idempotencyKey,
    mode,
    deploymentId,
    result,
    autoFinish,
    ...gate
  };
}
function inputError(problems) {
  return new InputError(
    `SeqPulse: invalid input${problems.length > 1 ? "s" : ""}:
${problems.map((problem) => `  - ${problem}`).join("\n")}`
  );
}
function readApiKey(toolkit, problems) {
  const apiKey = toolkit.getInput(INPUT.apiKey).trim();
  if (!apiKey) {
    problems.push(
      `${INPUT.apiKey} is required: pass the project's key from a secret, e.g. \`${INPUT.apiKey}: \${{ secrets.SEQPULSE_API_KEY }}\` (secrets are empty in runs from forks and Dependabot)`
    );
    return "";
  }
  toolkit.setSecret(apiKey);
  if (!API_KEY_PATTERN.test(apiKey)) {
    problems.push(
      `${INPUT.apiKey} contains characters an API key cannot have (a space, a line break or another non-printable or non-ASCII character); check that the secret holds the key alone, on one line`
    );
  }
  return apiKey;
}
function readBaseUrl(name, value, problems) {
  if (/^[^/?#]*\/\/[^/?#]*@/.test(value)) {
    problems.push(
      `${name} "${redactUrl(value)}" must not contain a user name or password: SeqPulse authenticates with ${INPUT.apiKey}; remove the credentials from the URL (and rotate them if they were real)`
    );
  } else if (!isHttpUrl(value) || /[?#]/.test(value)) {
    problems.push(
      `${name} "${redactUrl(value)}" must be an http:// or https:// base URL without query string`
    );
  }
  return value;
}
function readGateInputs(input, problems) {
  const waitForVerdict = readBoolean(
    input(INPUT.waitForVerdict),
    DEFAULTS.waitForVerdict,
    INPUT.waitForVerdict,
    problems
  );
  const failOn = oneOf(
    input(INPUT.failOn) || DEFAULTS.failOn,
    ["warning", "rollback_recommended"],
    INPUT.failOn,
    problems
  ) ?? DEFAULTS.failOn;
  const failOnError = readBoolean(
    input(INPUT.failOnError),
    DEFAULTS.failOnError,
    INPUT.failOnError,
    problems
  );
  const rawTimeout = input(INPUT.verdictTimeoutSeconds);
  let verdictTimeoutSeconds = rawTimeout === "" ? DEFAULTS.verdictTimeoutSeconds : Number(rawTimeout);
  if (!Number.isInteger(verdictTimeoutSeconds) || verdictTimeoutSeconds < 1 || verdictTimeoutSeconds > MAX_VERDICT_TIMEOUT_SECONDS) {
    problems.push(
      `${INPUT.verdictTimeoutSeconds} "${rawTimeout}" must be a whole number of seconds from 1 to ${MAX_VERDICT_TIMEOUT_SECONDS}`
    );
    verdictTimeoutSeconds = DEFAULTS.verdictTimeoutSeconds;
  }
  return { waitForVerdict, failOn, verdictTimeoutSeconds, failOnError };
}
var TRUE_VALUES = ["true", "True", "TRUE"];
var FALSE_VALUES = ["false", "False", "FALSE"];
function readBoolean(raw, fallback, name, problems) {
  if (raw === "") return fallback;
  if (TRUE_VALUES.includes(raw)) return true;
  if (FALSE_VALUES.includes(raw)) return false;
  problems.push(`${name} "${raw}" must be true or false`);
  return fallback;
}
function oneOf(raw, allowed, name, problems) {
  if (allowed.includes(raw)) return raw;
  problems.push(`${name} "${raw}" must be one of: ${allowed.join(", ")}`);
  return void 0;
}
function parseResult(raw) {
  switch (raw.toLowerCase()) {
    case "success":
      return "success";
    case "failed":
    case "failure":
      return "failed";
    case "cancelled":
    case "canceled":
      return "cancelled";
    default:
      return void 0;
  }
}

// src/failures.ts
function errorStatus(error) {
  if (error instanceof SeqPulseApiError || error instanceof SeqPulseResponseError || error instanceof SeqPulseUnavailableError) {
    return error.status;
  }
  return void 0;
}
function handleSeqPulseError(error, failOnError, toolkit) {
  if (!(error instanceof SeqPulseError)) throw error;
  if (failOnError) return { failure: error.message };
  toolkit.warning(`${error.message}
The job goes on because ${INPUT.failOnError} is false.`);
  return {};
}
async function runStep(step) {
  try {
    return await step();
  } catch (error) {
    if (error instanceof InputError) return { failure: error.message };
    const detail = error instanceof Error ? error.stack ?? error.message : String(error);
    return {
      failure: `SeqPulse action failed unexpectedly; please report this: ${detail}`
    };
  }
}

// package.json
var package_default = {
  name: "@seqpulse/action",
  version: "0.1.0",
  private: true,
  type: "module",
  description: "GitHub Action: report deployments to SeqPulse and gate on its verdict",
  scripts: {
    build: "node scripts/build.mjs",
    "check-dist": "node scripts/build.mjs --check"
  },
  dependencies: {
    "@seqpulse/client": "workspace:*",
    "@seqpulse/types": "workspace:*"
  },
  devDependencies: {
    esbuild: "0.28.2",
    yaml: "^2.9.1"
  }
};

// src/client-factory.ts
var ACTION_RETRY = { attempts: 5, baseDelayMs: 1e3, maxDelayMs: 15e3 };
var ACTION_TIMEOUT_MS = 15e3;
var ACTION_POLL_INTERVAL_MS = 5e3;
function readTuning(env, toolkit) {
  const read2 = (name, fallback, min) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      toolkit.warning(`SeqPulse: ignoring ${name}="${raw}": expected a whole number \u2265 ${min}`);
      return fallback;
    }
    return value;
  };
  return {
    attempts: read2(TUNING_ENV.attempts, ACTION_RETRY.attempts, 1),
    baseDelayMs: read2(TUNING_ENV.baseDelayMs, ACTION_RETRY.baseDelayMs, 0),
    maxDelayMs: read2(TUNING_ENV.maxDelayMs, ACTION_RETRY.maxDelayMs, 0),
    timeoutMs: read2(TUNING_ENV.timeoutMs, ACTION_TIMEOUT_MS, 1),
    pollIntervalMs: read2(TUNING_ENV.pollIntervalMs, ACTION_POLL_INTERVAL_MS, 1)
  };
}
function makeClient(connection, tuning, deps, toolkit) {
  return deps.createClient({
    apiUrl: connection.apiUrl,
    apiKey: connection.apiKey,
    timeoutMs: tuning.timeoutMs,
    retry: { attempts: tuning.attempts, baseDelayMs: tuning.baseDelayMs, maxDelayMs: tuning.maxDelayMs },
    userAgent: `seqpulse-github-action/${package_default.version} node/${process.version}`,
    ...deps.sleep ? { sleep: deps.sleep } : {},
    ...deps.now ? { now: deps.now } : {},
    onRetry: (event) => toolkit.info(
      `SeqPulse: ${event.method} ${event.path} failed (${event.reason}); retrying in ${formatDelay(event.delayMs)} (attempt ${event.attempt + 1} of ${event.attempts})`
    )
  });
}
function formatDelay(ms) {
  return ms < 1e3 ? `${ms} ms` : `${(ms / 1e3).toFixed(1)} s`;
}
function warnOnPlainHttp(apiUrl, toolkit) {
  const url = new URL(apiUrl);
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || url.hostname.startsWith("127.");
  if (url.protocol === "http:" && !loopback) {
    toolkit.warning(
      `SeqPulse: ${INPUT.apiUrl} ${url.origin} uses plain http://, so the API key travels unencrypted; use https://`
    );
  }
}
function deploymentUrl(baseUrl, deploymentId) {
  return `${baseUrl.replace(/\/+$/, "")}/deployments/${deploymentId}`;
}

// src/verdict.ts
var VERDICT_RANK = { ok: 0, warning: 1, rollback_recommended: 2 };
function verdictFails(verdict, failOn) {
  return VERDICT_RANK[verdict] >= VERDICT_RANK[failOn];
}
function formatConfidence(confidence) {
  return `${Math.round(confidence * 100)} %`;
}
function shouldGate(result) {
  return result === "success";
}
function notGatedNote(result) {
  return `The pipeline result is ${result}, so the action did not wait for a verdict (it only gates successful deploys).`;
}
function describeVerdict(verdict, deploymentNumber, url) {
  const lines = [
    `SeqPulse verdict for deployment #${deploymentNumber}: ${verdict.verdict} (confidence ${formatConfidence(verdict.confidence)})`,
    verdict.summary,
    ...verdict.reasons.map(
      (reason) => `  - [${reason.severity}] ${reason.metric ?? "data"} ${reason.rule}: ${reason.message}`
    ),
    `API: GET ${url}`
  ];
  return lines.filter((line) => line.trim() !== "").join("\n");
}
function gateSettings(inputs, tuning) {
  return {
    failOn: inputs.failOn,
    verdictTimeoutSeconds: inputs.verdictTimeoutSeconds,
    failOnError: inputs.failOnError,
    pollIntervalMs: tuning.pollIntervalMs
  };
}
async function waitAndGate(toolkit, client, deploymentId, label, settings) {
  const url = deploymentUrl(client.apiUrl, deploymentId);
  return toolkit.group(`SeqPulse: wait for the verdict on ${label}`, async () => {
    toolkit.info(
      `Waiting up to ${settings.verdictTimeoutSeconds} s for the verdict on ${label} (${INPUT.failOn}: ${settings.failOn}); API: GET ${url}`
    );
    let lastProgress = "";
    try {
      const result = await client.waitForVerdict(deploymentId, {
        timeoutMs: settings.verdictTimeoutSeconds * 1e3,
        pollIntervalMs: settings.pollIntervalMs,
        onPoll: (deployment) => {
          const baseline = deployment.samples.filter((sample) => sample.phase === "baseline").length;
          const post = deployment.samples.length - baseline;
          const progress = `state ${deployment.state}, ${baseline} baseline and ${post} post samples`;
          if (progress !== lastProgress) toolkit.info(`  ${progress}`);
          lastProgress = progress;
        }
      });
      if (result.outcome === "verdict") {
        const { verdict, deployment } = result;
        toolkit.setOutput(OUTPUT.verdict, verdict.verdict);
        toolkit.setOutput(OUTPUT.confidence, String(verdict.confidence));
        const text = describeVerdict(verdict, deployment.deployment_number, url);
        const wouldFail = verdictFails(verdict.verdict, settings.failOn);
        if (verdict.dry_run && wouldFail) {
          toolkit.warning(
            `${text}
Dry run: the project records verdicts without gating, so the job goes on; without dry run it would fail because ${INPUT.failOn} is ${settings.failOn}.`
          );
          return { outcome: {}, deployment };
        }
        if (wouldFail) {
          toolkit.info(text);
          return {
            outcome: { failure: `${text}
The job fails because ${INPUT.failOn} is ${settings.failOn}.` },
            deployment
          };
        }
        if (verdict.verdict === "ok") toolkit.info(text);
        else toolkit.warning(text);
        return { outcome: {}, deployment };
      }
      const problem = result.outcome === "abandoned" ? `SeqPulse: ${label} was abandoned${result.deployment.state_reason ? ` (${result.deployment.state_reason})` : ""} before a verdict, so the gate could not run (API: GET ${url})` : result.outcome === "cancelled" ? `SeqPulse: ${label} was cancelled${result.deployment.cancel_reason ? ` (${result.deployment.cancel_reason})` : ""}, so it gets no verdict and the gate could not run (API: GET ${url})` : `SeqPulse: no verdict for ${label} after ${settings.verdictTimeoutSeconds} s (state: ${result.deployment?.state ?? "unknown"}), so the gate could not run; raise ${INPUT.verdictTimeoutSeconds} above the project's observation window (API: GET ${url})`;
      if (settings.failOnError) return { outcome: { failure: problem }, deployment: result.deployment };
      toolkit.warning(problem);
      return { outcome: {}, deployment: result.deployment };
    } catch (error) {
      return { outcome: handleSeqPulseError(error, settings.failOnError, toolkit), deployment: void 0 };
    }
  });
}

// src/run-main.ts
async function runMain(toolkit, deps) {
  const context = readGitHubContext(deps.env);
  const settings = readSettings(toolkit, context);
  const tuning = readTuning(deps.env, toolkit);
  warnOnPlainHttp(settings.apiUrl, toolkit);
  const client = makeClient(settings, tuning, deps, toolkit);
  return settings.mode === "trigger" ? trigger(toolkit, client, settings, context) : finishExplicitly(toolkit, client, settings, tuning);
}
async function trigger(toolkit, client, settings, context) {
  if (settings.waitForVerdict && !settings.autoFinish) {
    toolkit.warning(
      `SeqPulse: ${INPUT.waitForVerdict} has no effect on a trigger step with ${INPUT.autoFinish}: false, as this step's post step does not finish the deployment; set ${INPUT.waitForVerdict} on the ${INPUT.mode}: finish step instead.`
    );
  }
  return toolkit.group(`SeqPulse: trigger a deployment in ${settings.env}`, async () => {
    toolkit.info(`API: ${client.apiUrl}`);
    toolkit.info(
      `Environment ${settings.env}, branch ${settings.branch ?? "(none)"}, commit ${settings.commitSha ?? "(none)"}, idempotency key ${settings.idempotencyKey ?? "(none: one is made for this step)"}`
    );
    if (!settings.idempotencyKey) {
      toolkit.warning(
        `SeqPulse: no ${INPUT.idempotencyKey} and no GITHUB_RUN_ID; a re-run of this step will create another deployment`
      );
    }
    try {
      const { data, status, attempts } = await client.trigger(
        {
          env: settings.env,
          ...settings.branch ? { branch: settings.branch } : {},
          ...settings.commitSha ? { commit_sha: settings.commitSha } : {},
          ...settings.metricsEndpoint ? { metrics_endpoint: settings.metricsEndpoint } : {},
          ci: ciMetadata(context)
        },
        settings.idempotencyKey ? { idempotencyKey: settings.idempotencyKey } : {}
      );
      toolkit.setOutput(OUTPUT.deploymentId, data.deployment_id);
      toolkit.setOutput(OUTPUT.deploymentNumber, String(data.deployment_number));
      toolkit.setOutput(OUTPUT.status, data.status);
      toolkit.setOutput(OUTPUT.httpStatus, String(status));
      toolkit.saveState(STATE.deploymentId, data.deployment_id);
      toolkit.saveState(STATE.deploymentNumber, String(data.deployment_number));
      toolkit.saveState(STATE.apiUrl, client.apiUrl);
      toolkit.saveState(STATE.publicUrl, settings.publicUrl ?? "");
      toolkit.saveState(STATE.env, data.env);
      toolkit.saveState(STATE.branch, settings.branch ?? "");
      toolkit.saveState(STATE.commitSha, settings.commitSha ?? "");
      toolkit.saveState(STATE.mode, "trigger");
      toolkit.saveState(STATE.autoFinish, String(settings.autoFinish));
      const url = deploymentUrl(client.apiUrl, data.deployment_id);
      const how = data.status === "created" ? "created" : data.reason === "running" ? `already running in ${data.env}; joined it` : `already created for idempotency key ${data.idempotency_key} (a repeated try of this run attempt)`;
      toolkit.info(
        `Deployment #${data.deployment_number} ${how}${attempts > 1 ? ` after ${attempts} attempts` : ""} (API: GET ${url})`
      );
      toolkit.info(
        `Open it in SeqPulse: ${deploymentUrl(settings.publicUrl ?? client.apiUrl, data.deployment_id)}`
      );
      if (data.state !== "running") {
        toolkit.info(
          `Deployment #${data.deployment_number} is already ${data.state}; the post step will not change it.`
        );
      }
      return {};
    } catch (error) {
      const status = errorStatus(error);
      if (status !== void 0) toolkit.setOutput(OUTPUT.httpStatus, String(status));
      return handleSeqPulseError(error, settings.failOnError, toolkit);
    }
  });
}
async function finishExplicitly(toolkit, client, settings, tuning) {
  const deploymentId = settings.deploymentId;
  const result = settings.result;
  const url = deploymentUrl(client.apiUrl, deploymentId);
  const finished = await toolkit.group("SeqPulse: finish the deployment", async () => {
    toolkit.info(`Finishing deployment ${deploymentId} with result ${result} (API: GET ${url})`);
    try {
      const { data, status } = await client.finish({ deployment_id: deploymentId, result });
      toolkit.setOutput(OUTPUT.deploymentId, deploymentId);
      toolkit.setOutput(OUTPUT.httpStatus, String(status));
      toolkit.info(
        data.status === "accepted" ? `Deployment finished with result ${result}; SeqPulse now observes the post-deploy window.` : `Finish ignored: the deployment is already ${data.state}.`
      );
      toolkit.saveState(STATE.deploymentId, deploymentId);
      toolkit.saveState(STATE.apiUrl, client.apiUrl);
      toolkit.saveState(STATE.publicUrl, settings.publicUrl ?? "");
      toolkit.saveState(STATE.mode, "finish");
      return { ok: true };
    } catch (error) {
      const status = errorStatus(error);
      if (status !== void 0) toolkit.setOutput(OUTPUT.httpStatus, String(status));
      return { ok: false, outcome: handleSeqPulseError(error, settings.failOnError, toolkit) };
    }
  });
  if (!finished.ok) return finished.outcome;
  if (!settings.waitForVerdict) return {};
  if (!shouldGate(result)) {
    toolkit.info(`SeqPulse: ${notGatedNote(result)}`);
    return {};
  }
  const gate = await waitAndGate(
    toolkit,
    client,
    deploymentId,
    "the deployment",
    gateSettings(settings, tuning)
  );
  if (gate.deployment) {
    toolkit.setOutput(OUTPUT.deploymentNumber, String(gate.deployment.deployment_number));
  }
  return gate.outcome;
}

// src/runner-toolkit.ts
var import_node_crypto2 = require("node:crypto");
var import_node_fs = require("node:fs");
var import_node_os = require("node:os");
function runnerToolkit(env = process.env, write = writeStdout) {
  const command = (name, message, properties = {}) => {
    const listed = Object.entries(properties).map(([key, value]) => `${key}=${escapeProperty(value)}`).join(",");
    write(`::${name}${listed ? ` ${listed}` : ""}::${escapeData(message)}${import_node_os.EOL}`);
  };
  const keyValue = (file, legacy, name, value) => {
    const path = env[file];
    if (path) (0, import_node_fs.appendFileSync)(path, `${fileCommand(name, value)}${import_node_os.EOL}`, "utf8");
    else command(legacy, value, { name });
  };
  return {
    // The runner's naming: INPUT_ + the name uppercased, spaces as underscores, hyphens kept.
    getInput: (name) => (env[`INPUT_${name.replaceAll(" ", "_").toUpperCase()}`] ?? "").trim(),
    setOutput: (name, value) => keyValue("GITHUB_OUTPUT", "set-output", name, value),
    saveState: (name, value) => keyValue("GITHUB_STATE", "save-state", name, value),
    getState: (name) => env[`STATE_${name}`] ?? "",
    info: (message) => write(`${message}${import_node_os.EOL}`),
    warning: (message) => command("warning", message),
    group: async (name, run2) => {
      command("group", name);
      try {
        return await run2();
      } finally {
        command("endgroup", "");
      }
    },
    setSecret: (secret) => command("add-mask", secret),
    writeSummary: async (markdown) => {
      const path = env.GITHUB_STEP_SUMMARY;
      if (!path) {
        throw new Error(
          "Unable to find environment variable for $GITHUB_STEP_SUMMARY. Check if your runtime environment supports job summaries."
        );
      }
      (0, import_node_fs.appendFileSync)(path, markdown, "utf8");
    }
  };
}
function setFailed(message, write = writeStdout) {
  process.exitCode = 1;
  write(`::error::${escapeData(message)}${import_node_os.EOL}`);
}
function writeStdout(text) {
  process.stdout.write(text);
}
function fileCommand(name, value) {
  const delimiter = `ghadelimiter_${(0, import_node_crypto2.randomUUID)()}`;
  return `${name}<<${delimiter}${import_node_os.EOL}${value}${import_node_os.EOL}${delimiter}`;
}
function escapeData(text) {
  return text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}
function escapeProperty(text) {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

// src/main.ts
async function run() {
  const outcome = await runStep(
    () => runMain(runnerToolkit(), { env: process.env, createClient: createSeqPulseClient })
  );
  if (outcome.failure) setFailed(outcome.failure);
}

// src/index.ts
void run();
