import { randomUUID } from "node:crypto";
import { TriggerResponse } from "@seqpulse/types";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../support/api.js";
import {
  type ApiResponse,
  type Client,
  deploymentRows,
  expectInvariants,
  expectProblem,
  newProject,
} from "./helpers.js";

/**
 * Model-based test: random sequences of triggers, retries, finishes and concurrent batches against the
 * live server, each step checked against a small model of what the API promises, and the database
 * checked against the invariants after every step.
 */

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

const ENVS = ["production", "staging"] as const;
const KEYS = ["k1", "k2", "k3"] as const;
const COMMITS = ["aaaa1111", "AAAA1111", "bbbb2222"] as const;
const RESULTS = ["success", "failed", "cancelled"] as const;

interface TriggerRequest {
  env: string;
  key: string | undefined;
  commit: string;
}

interface Model {
  /** Deployment id → env and state, in creation order. */
  deployments: Map<string, { env: string; state: "running" | "finished"; number: number }>;
  /** `${env} ${key}` → the deployment it created and the commit it was created for. */
  keys: Map<string, { id: string; commit: string }>;
  /** env → running deployment id. */
  running: Map<string, string>;
  /** Trigger requests sent so far, for retries. */
  history: TriggerRequest[];
}

interface Real {
  projectId: string;
  ci: Client;
}

const keySlot = (env: string, key: string) => `${env} ${key}`;
const normalizedCommit = (commit: string) => commit.toLowerCase();

function sendTrigger(real: Real, request: TriggerRequest) {
  return real.ci.trigger(
    { env: request.env, commit_sha: request.commit },
    request.key === undefined ? {} : { "idempotency-key": request.key },
  );
}

/** What the API must answer to one trigger, given the model before it; updates the model. */
function checkTrigger(model: Model, request: TriggerRequest, response: ApiResponse<TriggerResponse>) {
  const known = request.key === undefined ? undefined : model.keys.get(keySlot(request.env, request.key));
  if (known) {
    if (known.commit !== normalizedCommit(request.commit)) {
      expectProblem(response, 422, "idempotency_key_reused");
      return;
    }
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("idempotent-replayed")).toBe("true");
    expect(response.body).toMatchObject({
      deployment_id: known.id,
      status: "existing",
      reason: "idempotency_key",
      state: model.deployments.get(known.id)?.state,
    });
    return;
  }
  const running = model.running.get(request.env);
  if (running) {
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("idempotent-replayed")).toBeNull();
    expect(response.body).toMatchObject({ deployment_id: running, status: "existing", reason: "running" });
    recordAlias(model, request, running);
    return;
  }
  expect(response.status, response.text).toBe(201);
  const body = TriggerResponse.parse(response.body);
  expect(body.deployment_number).toBe(model.deployments.size + 1);
  expect(body.idempotency_key).toBe(request.key ?? null);
  recordCreated(model, request, body);
}

function recordCreated(model: Model, request: TriggerRequest, body: TriggerResponse) {
  model.deployments.set(body.deployment_id, {
    env: request.env,
    state: "running",
    number: body.deployment_number,
  });
  model.running.set(request.env, body.deployment_id);
  if (request.key !== undefined) {
    model.keys.set(keySlot(request.env, request.key), {
      id: body.deployment_id,
      commit: normalizedCommit(request.commit),
    });
  }
}

/** A key that joined a running deployment names it from then on. */
function recordAlias(model: Model, request: TriggerRequest, deploymentId: string) {
  if (request.key === undefined) return;
  model.keys.set(keySlot(request.env, request.key), {
    id: deploymentId,
    commit: normalizedCommit(request.commit),
  });
}

/** The database agrees with the model, and the invariants hold. */
async function checkDatabase(model: Model, real: Real) {
  await expectInvariants(api.database.pool);
  const rows = await deploymentRows(api.database.pool, real.projectId);
  expect(
    rows.map((row) => ({ id: row.id, env: row.env, state: row.state, number: row.deployment_number })),
  ).toEqual([...model.deployments].map(([id, { env, state, number }]) => ({ id, env, state, number })));
  const { rows: keys } = await api.database.pool.query<{ slot: string; id: string }>(
    "select env || ' ' || idempotency_key as slot, deployment_id as id from deployment_keys where project_id = $1",
    [real.projectId],
  );
  expect(new Map(keys.map(({ slot, id }) => [slot, id]))).toEqual(
    new Map([...model.keys].map(([slot, { id }]) => [slot, id])),
  );
}

class TriggerCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly request: TriggerRequest) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const response = await sendTrigger(real, this.request);
    checkTrigger(model, this.request, response);
    model.history.push(this.request);
    await checkDatabase(model, real);
  }
  toString = () => `trigger(${JSON.stringify(this.request)})`;
}

class RetryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.history.length > 0;
  async run(model: Model, real: Real) {
    const request = model.history[this.pick % model.history.length] as TriggerRequest;
    const keyed = request.key === undefined ? undefined : model.keys.get(keySlot(request.env, request.key));
    const response = await sendTrigger(real, request);
    checkTrigger(model, request, response);
    // A replayed key always returns the deployment it created.
    if (keyed && keyed.commit === normalizedCommit(request.commit)) {
      expect(response.body.deployment_id).toBe(keyed.id);
    }
    await checkDatabase(model, real);
  }
  toString = () => `retry(#${this.pick})`;
}

class FinishCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly target: number | "unknown",
    readonly result: (typeof RESULTS)[number],
  ) {}
  check = (model: Readonly<Model>) => this.target === "unknown" || model.deployments.size > 0;
  async run(model: Model, real: Real) {
    if (this.target === "unknown") {
      expectProblem(await real.ci.finish(randomUUID(), this.result), 404, "not_found");
    } else {
      const ids = [...model.deployments.keys()];
      const id = ids[this.target % ids.length] as string;
      const known = model.deployments.get(id);
      const response = await real.ci.finish(id, this.result);
      if (known?.state === "running") {
        // Accepted only if running.
        expect(response.status, response.text).toBe(202);
        expect(response.body).toEqual({ status: "accepted", deployment_id: id, state: "finished" });
        known.state = "finished";
        model.running.delete(known.env);
      } else {
        expect(response.status, response.text).toBe(200);
        expect(response.body).toEqual({ status: "ignored", deployment_id: id, state: "finished" });
      }
    }
    await checkDatabase(model, real);
  }
  toString = () => `finish(${this.target}, ${this.result})`;
}

/** Triggers sent all at once; the outcome per env is fixed except for which new request wins. */
class BatchCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly items: Array<{ env: string; key: string | undefined }>,
    readonly commit: string,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const requests = this.items.map((item) => ({ ...item, commit: this.commit }));
    const before: Model = {
      deployments: new Map(model.deployments),
      keys: new Map(model.keys),
      running: new Map(model.running),
      history: [...model.history],
    };
    const responses = await Promise.all(requests.map((request) => sendTrigger(real, request)));
    const created: Array<{ request: TriggerRequest; body: TriggerResponse }> = [];
    const aliases: Array<{ request: TriggerRequest; id: string }> = [];

    for (const env of new Set(requests.map((request) => request.env))) {
      const inEnv = requests.flatMap((request, index) =>
        request.env === env ? [{ request, response: responses[index] as ApiResponse<TriggerResponse> }] : [],
      );
      const isKnown = (request: TriggerRequest) =>
        request.key !== undefined && before.keys.has(keySlot(request.env, request.key));
      // Requests with a key known before the batch are answered as if alone.
      for (const { request, response } of inEnv.filter(({ request }) => isKnown(request))) {
        checkTrigger({ ...before, deployments: new Map(before.deployments) }, request, response);
      }
      const fresh = inEnv.filter(({ request }) => !isKnown(request));
      if (fresh.length === 0) continue;
      const running = before.running.get(env);
      if (running) {
        for (const { request, response } of fresh) {
          expect(response.status, response.text).toBe(200);
          expect(response.body.deployment_id).toBe(running);
          aliases.push({ request, id: running });
        }
        continue;
      }
      // No deployment was running: exactly one new request creates one, the others get it back.
      const winners = fresh.filter(({ response }) => response.status === 201);
      expect(winners.length, JSON.stringify(fresh.map(({ response }) => response.body))).toBe(1);
      const winner = winners[0] as (typeof winners)[number];
      for (const { request, response } of fresh) {
        expect(response.status, response.text).toBeLessThan(300);
        expect(response.body.deployment_id).toBe(winner.response.body.deployment_id);
        if (request.key !== winner.request.key)
          aliases.push({ request, id: winner.response.body.deployment_id });
      }
      created.push({ request: winner.request, body: TriggerResponse.parse(winner.response.body) });
    }
    // Envs race for the project's counter: together they take the next numbers, in some order.
    created.sort((a, b) => a.body.deployment_number - b.body.deployment_number);
    expect(created.map(({ body }) => body.deployment_number)).toEqual(
      created.map((_, index) => model.deployments.size + 1 + index),
    );
    for (const { request, body } of created) recordCreated(model, request, body);
    for (const { request, id } of aliases) recordAlias(model, request, id);
    model.history.push(...requests);
    await checkDatabase(model, real);
  }
  toString = () => `batch(${JSON.stringify(this.items)}, ${this.commit})`;
}

const env = fc.constantFrom(...ENVS);
const key = fc.option(fc.constantFrom(...KEYS), { nil: undefined, freq: 4 });
const commit = fc.constantFrom(...COMMITS);

const commands = [
  fc.record({ env, key, commit }).map((request) => new TriggerCommand(request)),
  fc.nat(50).map((pick) => new RetryCommand(pick)),
  fc
    .tuple(
      fc.oneof(
        { arbitrary: fc.nat(50), weight: 4 },
        { arbitrary: fc.constant("unknown" as const), weight: 1 },
      ),
      fc.constantFrom(...RESULTS),
    )
    .map(([target, result]) => new FinishCommand(target, result)),
  fc
    .tuple(fc.array(fc.record({ env, key }), { minLength: 2, maxLength: 8 }), commit)
    .map(([items, batchCommit]) => new BatchCommand(items, batchCommit)),
];

describe("random command sequences keep the API's promises", () => {
  it("holds the model and the database invariants after every step", async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 12 }), async (sequence) => {
        const { project, api: ci } = await newProject(api);
        const model: Model = { deployments: new Map(), keys: new Map(), running: new Map(), history: [] };
        await fc.asyncModelRun(() => ({ model, real: { projectId: project.project_id, ci } }), sequence);
      }),
      { numRuns: 15 },
    );
    await expectInvariants(api.database.pool);
  });
});
