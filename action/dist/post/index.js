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
  constructor(message, status, code2, detail, problem, method, path) {
    super(message);
    this.status = status;
    this.code = code2;
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
function isDeploymentId(value) {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

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
    const code2 = redact(problem?.code ?? `http_${status}`);
    const detail = redact(problem?.detail ?? excerpt(text));
    const explanation = explainRejection({
      status,
      code: code2,
      detail,
      problem,
      apiUrl,
      path: spec.path,
      location: response2.header("location")
    });
    return new SeqPulseApiError(
      redact(`SeqPulse refused to ${spec.action} (${status} ${code2}): ${explanation}`),
      status,
      code2,
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
  const { status, code: code2, detail, problem, apiUrl, path } = rejection;
  if (status >= 300 && status < 400) {
    return `${apiUrl}${path} redirects${rejection.location ? ` to ${rejection.location}` : ""}; set the api URL to the address it redirects to (e.g. https:// instead of http://)`;
  }
  if (status === 401) {
    return `the API key was rejected (${detail}). Check that it is the key shown when the project was created on ${apiUrl}, stored whole in the secret, and not revoked`;
  }
  if (!problem) {
    return `${apiUrl}${path} did not answer like the SeqPulse API (${detail || "empty body"}); check that the api URL is the SeqPulse API's base URL`;
  }
  switch (code2) {
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
  const code2 = inner.code;
  const message = inner.message || (inner instanceof AggregateError ? inner.errors.map((each) => String(each?.message ?? each)).join("; ") : "");
  if (typeof code2 !== "string") return message || inner.name;
  return message.includes(code2) ? message : `${code2}${message ? ` (${message})` : ""}`;
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

// src/inputs.ts
var InputError = class extends Error {
  name = "InputError";
};
var MAX_VERDICT_TIMEOUT_SECONDS = 6 * 60 * 60;
function readPostInputs(toolkit) {
  const input = (name) => toolkit.getInput(name).trim();
  const keyProblems = [];
  const apiKey = readApiKey(toolkit, keyProblems);
  if (keyProblems.length > 0) throw inputError(keyProblems);
  const gateProblems = [];
  const gate = readGateInputs(input, gateProblems);
  return { apiKey, gate, gateProblem: gateProblems.length > 0 ? inputError(gateProblems) : void 0 };
}
function readJobResult(toolkit) {
  const raw = toolkit.getInput(INPUT.jobStatus).trim();
  return { raw, result: parseResult(raw) };
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
function handleSeqPulseError(error, failOnError, toolkit) {
  if (!(error instanceof SeqPulseError)) throw error;
  if (failOnError) return { failure: error.message };
  toolkit.warning(`${error.message}
The job goes on because ${INPUT.failOnError} is false.`);
  return {};
}
function describeFinishFailure(error) {
  if (error instanceof SeqPulseApiError) {
    return `\u26A0\uFE0F SeqPulse refused to finish this deployment (${error.status} ${error.code}); see the step log.`;
  }
  if (error instanceof SeqPulseResponseError) {
    return `\u26A0\uFE0F The answer to the finish call (HTTP ${error.status}) was not SeqPulse's: check ${INPUT.apiUrl}; see the step log.`;
  }
  if (error instanceof SeqPulseUnavailableError) {
    const what = error.status === void 0 ? "SeqPulse could not be reached to finish this deployment" : `SeqPulse kept answering ${error.status} to the finish call`;
    return `\u26A0\uFE0F ${what}, so it may still be running (SeqPulse abandons it after its running timeout); see the step log.`;
  }
  return "\u26A0\uFE0F The deployment could not be finished; see the step log.";
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
  const read = (name, fallback, min) => {
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
    attempts: read(TUNING_ENV.attempts, ACTION_RETRY.attempts, 1),
    baseDelayMs: read(TUNING_ENV.baseDelayMs, ACTION_RETRY.baseDelayMs, 0),
    maxDelayMs: read(TUNING_ENV.maxDelayMs, ACTION_RETRY.maxDelayMs, 0),
    timeoutMs: read(TUNING_ENV.timeoutMs, ACTION_TIMEOUT_MS, 1),
    pollIntervalMs: read(TUNING_ENV.pollIntervalMs, ACTION_POLL_INTERVAL_MS, 1)
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
function deploymentUrl(baseUrl, deploymentId) {
  return `${baseUrl.replace(/\/+$/, "")}/deployments/${deploymentId}`;
}

// ../packages/types/src/numbers.ts
function median(values) {
  if (values.length === 0) return void 0;
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle];
  if (sorted.length % 2 === 1) return upper;
  const lower = sorted[middle - 1];
  return lower / 2 + upper / 2;
}
var RATIO_METRICS = /* @__PURE__ */ new Set(["error_rate", "cpu_usage", "memory_usage"]);
function isRatioMetric(metric) {
  return RATIO_METRICS.has(metric);
}
function formatMetricValue(metric, value) {
  if (value === void 0 || value === null) return "\u2014";
  if (metric === "latency_p95") return `${value >= 10 ? Math.round(value) : roundSignificant(value)} ms`;
  if (metric === "requests_per_sec") return `${roundSignificant(value)} req/s`;
  if (isRatioMetric(metric)) return `${(value * 100).toFixed(metric === "error_rate" ? 2 : 1)} %`;
  return String(roundSignificant(value));
}
function roundSignificant(value) {
  return Number(value.toPrecision(4));
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
          const post2 = deployment.samples.length - baseline;
          const progress = `state ${deployment.state}, ${baseline} baseline and ${post2} post samples`;
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

// src/summary.ts
var METRIC_LABEL = {
  requests_per_sec: "Requests/s",
  latency_p95: "Latency p95",
  error_rate: "Error rate",
  cpu_usage: "CPU",
  memory_usage: "Memory"
};
var METRIC_UNIT = {
  requests_per_sec: "req/s",
  latency_p95: "ms",
  error_rate: "%",
  cpu_usage: "%",
  memory_usage: "%"
};
var VERDICT_ICON = {
  ok: "\u2705",
  warning: "\u26A0\uFE0F",
  rollback_recommended: "\u{1F6D1}"
};
var MAX_CHARTS = 3;
var MAX_CHART_POINTS = 100;
var MIN_CHART_POINTS_PER_PHASE = 10;
var MAX_CELL_CHARS = 500;
var MAX_FINDINGS_PER_METRIC = 5;
var MAX_LISTED_REASONS = 20;
var MAX_QUALITY_ISSUES = 10;
var MAX_SUMMARY_BYTES = 128 * 1024;
function renderSummary(input) {
  const { deployment, known } = input;
  const url = deploymentUrl(input.apiUrl, input.deploymentId);
  const page = new URL(deploymentUrl(input.publicUrl ?? input.apiUrl, input.deploymentId)).href;
  const number2 = deployment ? String(deployment.deployment_number) : known.number;
  const verdict = deployment?.verdict ?? null;
  const headline = verdict ? `${VERDICT_ICON[verdict.verdict]} ${verdict.verdict.replaceAll("_", " ")}` : deployment ? stateHeadline(deployment.state) : "status unknown";
  const out = new BoundedLines(input.maxBytes ?? MAX_SUMMARY_BYTES);
  out.add(`## SeqPulse \xB7 deployment ${number2 ? `#${number2}` : ""} \xB7 ${headline}`, "");
  const rows = [
    ["Deployment", number2 ? `#${number2}` : code(input.deploymentId)],
    ["Page", `[Open in SeqPulse](<${page}>)`],
    // The API's JSON (it needs the API key), not a page: shown as the request to make.
    ["API", code(`GET ${url}`)],
    ["Environment", code(deployment?.env ?? known.env)],
    ["Branch", code(deployment?.branch ?? known.branch)],
    ["Commit", code((deployment?.commit_sha ?? known.commitSha)?.slice(0, 12))]
  ];
  const result = deployment?.pipeline_result ?? input.pipelineResult;
  if (result) rows.push(["Pipeline result", result]);
  if (deployment) {
    rows.push([
      "State",
      `${deployment.state}${deployment.state_reason ? ` (${cell(deployment.state_reason)})` : ""}`
    ]);
  }
  rows.push([
    "Verdict",
    verdict ? `${VERDICT_ICON[verdict.verdict]} **${verdict.verdict}** (confidence ${formatConfidence(verdict.confidence)})` : "none yet"
  ]);
  out.table(
    ["| | |", "| --- | --- |"],
    rows.map(([name, value]) => `| ${name} | ${value} |`)
  );
  if (verdict?.summary) out.add(`> ${cell(verdict.summary)}`, "");
  if (input.note) out.add(cell(input.note), "");
  if (!deployment) return out.text(url);
  const reasons = verdict?.reasons ?? [];
  const samples = orderedSamples(deployment.samples);
  const baseline = samples.filter((sample) => sample.phase === "baseline");
  const post2 = samples.filter((sample) => sample.phase === "post");
  if (samples.length > 0) {
    out.add(
      "### Metrics",
      "",
      `Median of the samples in each phase (${baseline.length} baseline, ${post2.length} post).`,
      ""
    );
    out.table(
      ["| Metric | Baseline | Post | Change | Finding |", "| --- | ---: | ---: | ---: | --- |"],
      Object.keys(METRIC_LABEL).map((metric) => {
        const before = median(measured(baseline, metric).map(([, value]) => value));
        const after = median(measured(post2, metric).map(([, value]) => value));
        const findings = capped(
          reasons.filter((reason) => reason.metric === metric).map(describeReason),
          MAX_FINDINGS_PER_METRIC
        );
        return `| ${METRIC_LABEL[metric]} | ${formatMetricValue(metric, before)} | ${formatMetricValue(metric, after)} | ${change(before, after)} | ${findings.join("<br>") || "\u2014"} |`;
      })
    );
  }
  const general = capped(
    reasons.filter((reason) => !isBuiltInMetric(reason.metric)).map(describeReason),
    MAX_LISTED_REASONS
  );
  if (general.length > 0) {
    for (const reason of general) out.add(`- ${reason}`);
    out.add("");
  }
  if (verdict && verdict.data_quality.issues.length > 0) {
    const issues = capped(verdict.data_quality.issues.map(cell), MAX_QUALITY_ISSUES);
    out.add(`Data quality ${formatConfidence(verdict.data_quality.score)}: ${issues.join("; ")}`, "");
  }
  if (deployment.collection_failures.length > 0) {
    const last = deployment.collection_failures.at(-1);
    out.add(
      `${deployment.collection_failures.length} sample${deployment.collection_failures.length === 1 ? "" : "s"} could not be collected (last: ${cell(last?.reason ?? "")}).`,
      ""
    );
  }
  for (const metric of chartedMetrics(reasons).slice(0, MAX_CHARTS)) {
    const chart = renderChart(metric, samples, reasons);
    if (chart) out.add(chart, "");
  }
  return out.text(url);
}
var BoundedLines = class {
  /** `limit` includes room for the closing note. */
  constructor(limit) {
    this.limit = limit;
  }
  limit;
  lines = [];
  bytes = 0;
  truncated = false;
  /** Adds the lines together, or none of them. */
  add(...lines) {
    if (this.truncated) return false;
    const size = lines.reduce((sum, line) => sum + Buffer.byteLength(line, "utf8") + 1, 0);
    if (this.bytes + size > this.limit - TRUNCATION_NOTE_BYTES) {
      this.truncated = true;
      return false;
    }
    this.lines.push(...lines);
    this.bytes += size;
    return true;
  }
  table(header, rows) {
    if (!this.add(...header)) return;
    for (const row of rows) if (!this.add(row)) break;
    this.lines.push("");
  }
  text(url) {
    if (this.truncated) {
      this.lines.push(
        "",
        `_The summary was cut here to stay under GitHub's size limit for job summaries; \`GET ${url}\` (SeqPulse API, needs the API key) returns the whole deployment._`,
        ""
      );
    }
    return `${this.lines.join("\n")}
`;
  }
};
var TRUNCATION_NOTE_BYTES = 4096;
function capped(items, max) {
  return items.length <= max ? items : [...items.slice(0, max), `\u2026 and ${items.length - max} more`];
}
function isBuiltInMetric(metric) {
  return metric !== null && Object.hasOwn(METRIC_LABEL, metric);
}
function chartedMetrics(reasons) {
  const metrics = [];
  for (const reason of reasons) {
    if (isBuiltInMetric(reason.metric) && !metrics.includes(reason.metric)) metrics.push(reason.metric);
  }
  return metrics.length > 0 ? metrics : ["latency_p95"];
}
function renderChart(metric, allSamples, reasons) {
  const withValue = measured(allSamples, metric);
  if (withValue.length < 2) return void 0;
  const samples = chartSamples(withValue.map(([sample]) => sample));
  const labels = samples.map((sample) => `${sample.phase === "baseline" ? "B" : "P"}${sample.sequence}`);
  const values = samples.map((sample) => chartValue(metric, sample.metrics[metric]));
  const threshold = reasons.find(
    (reason) => reason.metric === metric && reason.threshold !== null
  )?.threshold;
  const notes = [
    samples.length < withValue.length ? `${samples.length} of ${withValue.length} samples, evenly spaced` : "",
    withValue.length < allSamples.length ? `${allSamples.length - withValue.length} without a value left out` : ""
  ];
  const shown = notes.filter(Boolean).map((note) => `; ${note}`).join("");
  const lines = [
    `#### ${METRIC_LABEL[metric]} per sample (B = baseline, P = post${shown})`,
    "",
    "```mermaid",
    "xychart-beta",
    `  title "${METRIC_LABEL[metric]} (${METRIC_UNIT[metric]})${threshold != null ? `, flat line = threshold ${formatMetricValue(metric, threshold)}` : ""}"`,
    `  x-axis [${labels.join(", ")}]`,
    `  y-axis "${METRIC_UNIT[metric]}"`,
    `  line [${values.join(", ")}]`
  ];
  if (threshold != null) {
    const flat = chartValue(metric, threshold);
    lines.push(`  line [${values.map(() => flat).join(", ")}]`);
  }
  lines.push("```");
  return lines.join("\n");
}
function chartSamples(samples) {
  if (samples.length <= MAX_CHART_POINTS) return samples;
  const baseline = samples.filter((sample) => sample.phase === "baseline");
  const post2 = samples.filter((sample) => sample.phase === "post");
  const minimum = (phase) => Math.min(phase.length, MIN_CHART_POINTS_PER_PHASE);
  let baselineShare = Math.round(MAX_CHART_POINTS * baseline.length / samples.length);
  baselineShare = Math.min(Math.max(baselineShare, minimum(baseline)), MAX_CHART_POINTS - minimum(post2));
  const postShare = Math.min(post2.length, MAX_CHART_POINTS - baselineShare);
  baselineShare = Math.min(baseline.length, MAX_CHART_POINTS - postShare);
  return [...evenly(baseline, baselineShare), ...evenly(post2, postShare)];
}
function evenly(items, count) {
  if (count >= items.length) return items;
  if (count <= 0) return [];
  if (count === 1) return items.slice(0, 1);
  return Array.from({ length: count }, (_, index) => {
    return items[Math.round(index * (items.length - 1) / (count - 1))];
  });
}
function measured(samples, metric) {
  return samples.flatMap((sample) => {
    const value = sample.metrics[metric];
    return value === null || value === void 0 ? [] : [[sample, value]];
  });
}
function orderedSamples(samples) {
  const phaseOrder = { baseline: 0, post: 1 };
  return [...samples].sort((a, b) => phaseOrder[a.phase] - phaseOrder[b.phase] || a.sequence - b.sequence);
}
function chartValue(metric, value) {
  const scaled = isRatioMetric(metric) ? value * 100 : value;
  return Math.round(scaled * 100) / 100;
}
function change(before, after) {
  if (before === void 0 || after === void 0) return "\u2014";
  if (before === 0) return after === 0 ? "0 %" : "new";
  const ratio = (after - before) / Math.abs(before);
  const percent = Math.round(ratio * 100);
  return `${percent > 0 ? "+" : ""}${percent} %`;
}
function describeReason(reason) {
  const icon = reason.severity === "critical" ? "\u{1F6D1}" : "\u26A0\uFE0F";
  return `${icon} ${reason.rule.replaceAll("_", " ")}: ${cell(reason.message)}`;
}
function stateHeadline(state) {
  switch (state) {
    case "running":
      return "\u{1F680} running";
    case "finished":
      return "\u23F3 analysis pending";
    case "abandoned":
      return "\u2754 abandoned";
    case "cancelled":
      return "\u{1F6AB} cancelled";
    default:
      return state;
  }
}
function code(value) {
  return value ? `\`${cell(value.replaceAll("`", "'"))}\`` : "\u2014";
}
function cell(text) {
  const short = text.length > MAX_CELL_CHARS ? `${text.slice(0, MAX_CELL_CHARS - 1)}\u2026` : text;
  return short.replaceAll("|", "\\|").replaceAll(/\r?\n/g, " ");
}

// src/run-post.ts
async function runPost(toolkit, deps) {
  const deploymentId = toolkit.getState(STATE.deploymentId);
  if (!deploymentId) {
    toolkit.info("SeqPulse: the main step handed over no deployment, so there is nothing to finish.");
    return {};
  }
  const mode = toolkit.getState(STATE.mode) === "finish" ? "finish" : "trigger";
  const number2 = toolkit.getState(STATE.deploymentNumber);
  const label = number2 ? `deployment #${number2}` : "the deployment";
  if (mode === "trigger" && toolkit.getState(STATE.autoFinish) === "false") {
    toolkit.info(
      `SeqPulse: ${INPUT.autoFinish} is false, so ${label} is left for an explicit finish step (${INPUT.mode}: finish), which writes the job summary.`
    );
    return {};
  }
  const inputs = readPostInputs(toolkit);
  const tuning = readTuning(deps.env, toolkit);
  const apiUrl = toolkit.getState(STATE.apiUrl) || DEFAULTS.apiUrl;
  const client = makeClient({ apiUrl, apiKey: inputs.apiKey }, tuning, deps, toolkit);
  if (mode === "finish") {
    const deployment2 = await readForSummary(toolkit, client, deploymentId);
    await writeSummary(toolkit, client, deploymentId, deployment2, void 0);
    return {};
  }
  const result = jobResult(toolkit, label);
  const { gate } = inputs;
  const finish = await finishDeployment(toolkit, client, deploymentId, label, result, inputs);
  if (finish.kind === "error") {
    await writeSummary(toolkit, client, deploymentId, void 0, result, {
      note: describeFinishFailure(finish.error)
    });
    return finish.outcome;
  }
  const gating = gate.waitForVerdict && shouldGate(result) && !inputs.gateProblem;
  if (finish.kind === "already" && !finish.ours && !gating) {
    toolkit.info(
      `SeqPulse: ${label} was already ${finish.state} when the job ended (finished by a ${INPUT.mode}: finish step, whose post step writes the job summary, or by another job), so this step leaves it there.`
    );
    return inputs.gateProblem ? { failure: inputs.gateProblem.message } : {};
  }
  let outcome = finish.kind === "abandoned" ? finish.outcome : {};
  let deployment;
  let note;
  if (gate.waitForVerdict && finish.kind !== "abandoned") {
    if (gating) {
      const gated = await waitAndGate(toolkit, client, deploymentId, label, gateSettings(gate, tuning));
      outcome = gated.outcome;
      deployment = gated.deployment;
    } else if (!shouldGate(result)) {
      note = notGatedNote(result);
      toolkit.info(`SeqPulse: ${note}`);
    }
  }
  deployment ??= await readForSummary(toolkit, client, deploymentId);
  await writeSummary(toolkit, client, deploymentId, deployment, result, { note });
  if (inputs.gateProblem) return { failure: inputs.gateProblem.message };
  return outcome;
}
function jobResult(toolkit, label) {
  const { raw, result } = readJobResult(toolkit);
  if (result) return result;
  toolkit.warning(
    `SeqPulse: ${INPUT.jobStatus} "${raw}" is not a job status (success, failure or cancelled), so ${label} is finished as failed; leave ${INPUT.jobStatus} unset so it defaults to \${{ job.status }}.`
  );
  return "failed";
}
async function finishDeployment(toolkit, client, deploymentId, label, result, inputs) {
  return toolkit.group(`SeqPulse: finish ${label}`, async () => {
    toolkit.info(
      `The job ended with status ${toolkit.getInput(INPUT.jobStatus) || "(none)"}: finishing ${label} with result ${result}`
    );
    try {
      const { data, attempts } = await client.finish({ deployment_id: deploymentId, result });
      if (data.status === "accepted") {
        toolkit.info(`${capitalize(label)} finished with result ${result}.`);
        return { kind: "finished" };
      }
      if (data.state === "abandoned") {
        const message = `SeqPulse: ${label} was abandoned before the job ended (it ran longer than the server's running timeout), so it will not be analyzed.`;
        if (inputs.gate.waitForVerdict && inputs.gate.failOnError) {
          return { kind: "abandoned", outcome: { failure: message } };
        }
        toolkit.warning(message);
        return { kind: "abandoned", outcome: {} };
      }
      const ours = attempts > 1;
      toolkit.info(
        ours ? `${capitalize(label)} is already ${data.state}: this step's earlier attempt most likely finished it, and its answer was lost.` : `${capitalize(label)} is already ${data.state}.`
      );
      return { kind: "already", state: data.state, ours };
    } catch (error) {
      return { kind: "error", error, outcome: handleSeqPulseError(error, inputs.gate.failOnError, toolkit) };
    }
  });
}
async function readForSummary(toolkit, client, deploymentId) {
  try {
    return (await client.getDeployment(deploymentId)).data;
  } catch (error) {
    toolkit.warning(
      `SeqPulse: could not read the deployment for the job summary: ${error instanceof Error ? error.message : String(error)}`
    );
    return void 0;
  }
}
async function writeSummary(toolkit, client, deploymentId, deployment, pipelineResult, extra = {}) {
  const markdown = renderSummary({
    apiUrl: client.apiUrl,
    publicUrl: toolkit.getState(STATE.publicUrl) || void 0,
    deploymentId,
    deployment,
    known: {
      number: toolkit.getState(STATE.deploymentNumber) || void 0,
      env: toolkit.getState(STATE.env) || void 0,
      branch: toolkit.getState(STATE.branch) || void 0,
      commitSha: toolkit.getState(STATE.commitSha) || void 0
    },
    pipelineResult,
    note: extra.note
  });
  try {
    await toolkit.writeSummary(markdown);
  } catch (error) {
    toolkit.warning(
      `SeqPulse: could not write the job summary: ${error instanceof Error ? error.message : String(error)}`
    );
  }
}
function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
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
    group: async (name, run) => {
      command("group", name);
      try {
        return await run();
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

// src/post.ts
async function post() {
  const outcome = await runStep(
    () => runPost(runnerToolkit(), { env: process.env, createClient: createSeqPulseClient })
  );
  if (outcome.failure) setFailed(outcome.failure);
}

// src/post-index.ts
void post();
