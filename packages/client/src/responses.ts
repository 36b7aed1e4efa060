import type {
  DeploymentDetail,
  DeploymentList,
  FinishResponse,
  ProblemDetails,
  TriggerResponse,
} from "@seqpulse/types";
import { isDeploymentId } from "./request-checks.js";

/**
 * Light checks of SeqPulse's answers, in place of the API's zod schemas: a client that bundles those
 * carries zod and every schema of the contract into each CI job, where start time counts.
 *
 * They check the fields the client and its callers read, their JSON types and the ids' format, enough
 * to tell a SeqPulse answer from another server's. Enum values are only checked to be strings, so an
 * answer from a newer server with a value this client does not know yet still passes; callers keep a
 * default branch for those. The tests hold these checks against the schemas in `@seqpulse/types`.
 */

/** A check of one value: what is wrong with it, or undefined. `path` names the value in the message. */
type Check = (value: unknown, path: string) => string | undefined;

/** A check that, when it passes, vouches for a `T`. */
export interface ResponseCheck<T> {
  (value: unknown): string | undefined;
  /** Never set: carries `T` for the type checker. */
  readonly checked?: T;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

const expected =
  (what: string, test: (value: unknown) => boolean): Check =>
  (value, path) =>
    test(value) ? undefined : `${path}: expected ${what}, got ${describe(value)}`;

const string = expected("a string", (value) => typeof value === "string");
const number = expected("a number", (value) => typeof value === "number" && Number.isFinite(value));
const integer = expected("an integer", (value) => Number.isInteger(value));
const uuid = expected("a UUID", (value) => typeof value === "string" && isDeploymentId(value));

const nullable =
  (check: Check): Check =>
  (value, path) =>
    value === null ? undefined : check(value, path);

const optional =
  (check: Check): Check =>
  (value, path) =>
    value === undefined ? undefined : check(value, path);

const array =
  (item: Check): Check =>
  (value, path) => {
    if (!Array.isArray(value)) return `${path}: expected an array, got ${describe(value)}`;
    for (const [index, entry] of value.entries()) {
      const problem = item(entry, `${path}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An object with at least these members; others are allowed. */
const object =
  (members: Record<string, Check>): Check =>
  (value, path) => {
    if (!isRecord(value)) return `${path || "the answer"}: expected an object, got ${describe(value)}`;
    for (const [name, check] of Object.entries(members)) {
      const problem = check(value[name], path ? `${path}.${name}` : name);
      if (problem) return problem;
    }
    return undefined;
  };

/** An object whose every member passes `check`. */
const recordOf =
  (check: Check): Check =>
  (value, path) => {
    if (!isRecord(value)) return `${path}: expected an object, got ${describe(value)}`;
    for (const [name, member] of Object.entries(value)) {
      const problem = check(member, `${path}.${name}`);
      if (problem) return problem;
    }
    return undefined;
  };

function response<T>(check: Check): ResponseCheck<T> {
  return (value: unknown) => check(value, "");
}

export const checkTriggerResponse = response<TriggerResponse>(
  object({
    deployment_id: uuid,
    deployment_number: integer,
    status: string,
    reason: optional(string),
    env: string,
    state: string,
    started_at: string,
    idempotency_key: nullable(string),
  }),
);

export const checkFinishResponse = response<FinishResponse>(
  object({ status: string, deployment_id: uuid, state: string }),
);

const verdictCheck = object({
  verdict: string,
  confidence: number,
  summary: string,
  reasons: array(
    object({
      metric: nullable(string),
      rule: string,
      severity: string,
      message: string,
      threshold: nullable(number),
    }),
  ),
  data_quality: object({ score: number, issues: array(string) }),
});

export const checkDeploymentDetail = response<DeploymentDetail>(
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
    verdict: nullable(verdictCheck),
  }),
);

export const checkDeploymentList = response<DeploymentList>(
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
        verdict: nullable(object({ verdict: string, confidence: number, summary: string })),
      }),
    ),
    next_cursor: nullable(string),
  }),
);

/** A problem+json body as SeqPulse sends it; extra members (e.g. `allowed_envs`) are allowed. */
export const checkProblem = response<ProblemDetails>(
  object({ type: string, title: string, status: integer, code: string, detail: string }),
);
