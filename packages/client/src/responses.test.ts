import {
  DeploymentDetail,
  DeploymentList,
  FinishResponse,
  ProblemDetails,
  TriggerResponse,
} from "@seqpulse/types";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkDeploymentDetail,
  checkDeploymentList,
  checkFinishResponse,
  checkProblem,
  checkTriggerResponse,
} from "./responses.js";
import {
  analyzedRollback,
  DEPLOYMENT_ID,
  deploymentDetail,
  sample,
  triggerResponse,
} from "./test-support/fixtures.js";
import { problem } from "./test-support/scripted-server.js";

/** The client's light checks against the API's zod schemas, the contract's one definition. */
describe("response checks", () => {
  const failure = {
    phase: "post",
    sequence: 2,
    attempted_at: "2026-01-05T10:01:02.000Z",
    kind: "transient",
    reason: "timed out after 5000 ms",
    http_status: null,
  } as const;
  const validDeployments = [
    deploymentDetail(),
    analyzedRollback(),
    deploymentDetail({ state: "abandoned", state_reason: "timeout", pipeline_result: null, branch: null }),
    deploymentDetail({ samples: [sample("baseline", 1)], collection_failures: [failure] }),
  ];

  it("accepts every answer the API's schemas accept", () => {
    for (const detail of validDeployments) {
      expect(DeploymentDetail.safeParse(detail).success).toBe(true);
      expect(checkDeploymentDetail(detail)).toBeUndefined();
    }
    const triggers = [
      triggerResponse(),
      triggerResponse({ status: "existing", reason: "running", idempotency_key: null }),
    ];
    for (const trigger of triggers) {
      expect(TriggerResponse.safeParse(trigger).success).toBe(true);
      expect(checkTriggerResponse(trigger)).toBeUndefined();
    }
    for (const finish of [
      { status: "accepted", deployment_id: DEPLOYMENT_ID, state: "finished" },
      { status: "ignored", deployment_id: DEPLOYMENT_ID, state: "analyzed" },
    ]) {
      expect(FinishResponse.safeParse(finish).success).toBe(true);
      expect(checkFinishResponse(finish)).toBeUndefined();
    }
    for (const list of [
      { items: validDeployments, next_cursor: "12" },
      { items: [], next_cursor: null },
    ]) {
      expect(DeploymentList.safeParse(list).success).toBe(true);
      expect(checkDeploymentList(list)).toBeUndefined();
    }
    const refused = problem(400, "env_not_allowed", "env staging is not allowed", { allowed_envs: ["prod"] });
    expect(ProblemDetails.safeParse(refused.json).success).toBe(true);
    expect(checkProblem(refused.json)).toBeUndefined();
  });

  it("refuses what the API never sends, naming the member that is wrong", () => {
    const cases: Array<[string | undefined, string]> = [
      [checkTriggerResponse({ hello: "world" }), "deployment_id: expected a UUID, got nothing"],
      [checkTriggerResponse([]), "the answer: expected an object, got an array"],
      [checkTriggerResponse(triggerResponse({ deployment_id: "12" })), "deployment_id: expected a UUID"],
      [
        checkTriggerResponse({ ...triggerResponse(), deployment_number: "12" }),
        "deployment_number: expected an integer, got a string",
      ],
      [checkFinishResponse({ status: "accepted" }), "deployment_id: expected a UUID, got nothing"],
      [
        checkDeploymentDetail({
          ...deploymentDetail(),
          samples: [{ ...sample("post", 1), metrics: { cpu: "x" } }],
        }),
        "samples[0].metrics.cpu: expected a number, got a string",
      ],
      [
        checkDeploymentDetail({
          ...analyzedRollback(),
          verdict: { ...analyzedRollback().verdict, reasons: {} },
        }),
        "verdict.reasons: expected an array, got an object",
      ],
      [checkDeploymentDetail({ ...deploymentDetail(), collection_failures: null }), "collection_failures"],
      [checkProblem({ error: "Not Found" }), "type: expected a string, got nothing"],
      [
        checkDeploymentList({ items: [{ id: DEPLOYMENT_ID }] }),
        "items[0].deployment_number: expected an integer",
      ],
      [checkDeploymentList([deploymentDetail()]), "the answer: expected an object, got an array"],
    ];
    for (const [problemFound, message] of cases) expect(problemFound).toContain(message);
  });

  it("refuses exactly when the schemas do, whatever members it reads are broken", () => {
    const breakages: Array<(detail: Record<string, unknown>) => void> = [
      (detail) => delete detail.samples,
      (detail) => (detail.deployment_number = 1.5),
      (detail) => (detail.state_reason = 3),
      (detail) => (detail.verdict = "ok"),
      (detail) => (detail.id = "not-a-uuid"),
      (detail) => (detail.env = null),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...validDeployments),
        fc.subarray(breakages.map((_, index) => index)),
        (valid, broken) => {
          const detail = structuredClone(valid) as unknown as Record<string, unknown>;
          for (const index of broken) breakages[index]?.(detail);
          const light = checkDeploymentDetail(detail) === undefined;
          expect(light).toBe(DeploymentDetail.safeParse(detail).success);
        },
      ),
    );
  });

  it("lets values a newer server may add through, where the schemas would refuse them", () => {
    expect(checkDeploymentDetail(deploymentDetail({ state: "paused" as never }))).toBeUndefined();
    expect(checkTriggerResponse({ ...triggerResponse(), added_later: true })).toBeUndefined();
  });
});
