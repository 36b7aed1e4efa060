import {
  MAX_IDEMPOTENCY_KEY_LENGTH as API_MAX_IDEMPOTENCY_KEY_LENGTH,
  EnvName,
  FinishRequest,
  HttpUrl,
  TriggerRequest,
} from "@seqpulse/types";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isCommitSha,
  isDeploymentId,
  isEnvName,
  isHttpUrl,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from "./request-checks.js";
import { DEPLOYMENT_ID } from "./test-support/fixtures.js";

/** The client's input rules against the API's zod schemas, the contract's one definition. */
describe("request checks", () => {
  const runs = { numRuns: 500 };
  const envLike = fc.stringMatching(/^[A-Za-z0-9._ -]{0,55}$/);

  it("env names: the same answer as the API's schema", () => {
    for (const value of [
      "production",
      "eu-west.1",
      "a",
      "x".repeat(50),
      "x".repeat(51),
      "-prod",
      "",
      "prod env",
    ]) {
      expect(isEnvName(value), value).toBe(EnvName.safeParse(value).success);
    }
    fc.assert(
      fc.property(
        fc.oneof(envLike, fc.string()),
        (value) => isEnvName(value) === EnvName.safeParse(value).success,
      ),
      runs,
    );
  });

  it("commit hashes: the same answer as the API's schema", () => {
    const CommitSha = TriggerRequest.shape.commit_sha;
    for (const value of [
      "abc1",
      "abc",
      "0123456789abcdef0123456789abcdef01234567",
      " abc123 ",
      "xyz123",
      "a".repeat(65),
    ]) {
      expect(isCommitSha(value), value).toBe(CommitSha.safeParse(value).success);
    }
    fc.assert(
      fc.property(
        fc.oneof(fc.stringMatching(/^ ?[0-9a-fA-Fg]{0,70} ?$/), fc.string()),
        (value) => isCommitSha(value) === CommitSha.safeParse(value).success,
      ),
      runs,
    );
  });

  it("deployment ids and URLs: everything the API accepts passes", () => {
    const DeploymentId = FinishRequest.shape.deployment_id;
    fc.assert(
      fc.property(fc.uuid(), (id) => DeploymentId.safeParse(id).success === false || isDeploymentId(id)),
      runs,
    );
    expect(isDeploymentId(DEPLOYMENT_ID)).toBe(true);
    expect(isDeploymentId("7f8a3c1e-2b4d-4e6f-8a9b")).toBe(false);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.webUrl(),
          fc.string(),
          fc.constantFrom("ftp://host/x", "http://", " https://a.example/ "),
        ),
        (url) => !HttpUrl.safeParse(url).success || isHttpUrl(url),
      ),
      runs,
    );
    expect(isHttpUrl("ftp://host/x")).toBe(false);
    expect(isHttpUrl("not a url")).toBe(false);
    expect(isHttpUrl(`https://example.com/${"a".repeat(2048)}`)).toBe(false);
    expect(MAX_IDEMPOTENCY_KEY_LENGTH).toBe(API_MAX_IDEMPOTENCY_KEY_LENGTH);
  });
});
