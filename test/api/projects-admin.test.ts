import {
  DeleteProjectResponse,
  ProjectSettings,
  RotateApiKeyResponse,
  RotateHmacSecretResponse,
} from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTarget } from "../../server/src/deployments/store.js";
import { startTestApi, type TestApi } from "../support/api.js";
import { adminCall, client, countDeployments, expectProblem, newProject, sha256Hex } from "./helpers.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

const pool = () => api.database.pool;

const patch = (id: string, body: unknown) => adminCall(api, "PATCH", `/admin/projects/${id}`, { body });

describe("PATCH /admin/projects/:id", () => {
  it("changes only the fields sent, validated against the rest", async () => {
    const { project } = await newProject(api, { envs: ["production"], sample_interval_seconds: 30 });
    const response = await patch(project.project_id, {
      name: `${project.name}-renamed`,
      envs: ["production", "staging", "staging"],
      metrics_endpoint: "https://shop.example.com/metrics",
      running_conflict: "reject",
      dry_run: true,
      analysis: { min_post_samples: 4, require_detection: true },
    });
    expect(response.status, response.text).toBe(200);
    const updated = ProjectSettings.parse(response.body);
    expect(updated).toMatchObject({
      name: `${project.name}-renamed`,
      envs: ["production", "staging"],
      metrics_endpoint: "https://shop.example.com/metrics",
      running_conflict: "reject",
      sample_interval_seconds: 30,
      observation_window_seconds: project.observation_window_seconds,
      hmac_enabled: project.hmac_enabled,
    });
    expect(project.analysis.require_detection).toBe(false);
    expect(updated.analysis).toEqual({
      ...project.analysis,
      dry_run: true,
      min_post_samples: 4,
      require_detection: true,
    });
    expect(
      ((await adminCall(api, "GET", "/admin/projects")).body as { items: ProjectSettings[] }).items,
    ).toContainEqual(updated);
  });

  it("shows settings stored before a field existed with that field at its default, and keeps it on a patch", async () => {
    const { project } = await newProject(api);
    await pool().query(
      "update projects set analysis = analysis - 'require_detection' - 'dry_run' - 'significance_level' where id = $1",
      [project.project_id],
    );
    const listed = ((await adminCall(api, "GET", "/admin/projects")).body as { items: ProjectSettings[] })
      .items;
    expect(listed.find((item) => item.project_id === project.project_id)?.analysis).toEqual(project.analysis);
    const response = await patch(project.project_id, { analysis: { min_post_samples: 4 } });
    expect(response.status, response.text).toBe(200);
    expect(ProjectSettings.parse(response.body).analysis).toEqual({
      ...project.analysis,
      min_post_samples: 4,
    });
  });

  it("applies at once: a removed env is refused on the next trigger, an endpoint cleared must be sent", async () => {
    const { project, api: ci } = await newProject(api, { envs: ["production", "staging"] });
    await patch(project.project_id, { envs: ["production"], metrics_endpoint: null });
    expectProblem(await ci.trigger({ env: "staging" }), 400, "env_not_allowed");
    expectProblem(await ci.trigger({ env: "production" }), 400, "metrics_endpoint_required");
    expect((await ci.trigger({ env: "production", metrics_endpoint: "http://127.0.0.1:9/m" })).status).toBe(
      201,
    );
  });

  it.each([
    [{ sample_interval_seconds: 600 }, "sample_interval_seconds", "must not exceed"],
    [
      { observation_window_seconds: 20, sample_interval_seconds: 10 },
      "sample_interval_seconds",
      "fewer than",
    ],
    [{ envs: ["not ok"] }, "envs.0", ""],
    [{ api_key: "sp_x" }, "(root)", ""],
    [{}, "(root)", "at least one field"],
    [{ dry_run: true, analysis: { dry_run: false } }, "dry_run", "disagree"],
    [{ analysis: { require_detection: "yes" } }, "analysis.require_detection", ""],
  ])("refuses %j with 400 naming %s", async (body, path, detail) => {
    const { project } = await newProject(api, { sample_interval_seconds: 30 });
    const problem = expectProblem(await patch(project.project_id, body), 400, "validation_error");
    expect(problem.errors?.map((error) => error.path)).toContain(path);
    expect(problem.detail).toContain(detail);
  });

  it("refuses a timing change while a deployment is in its observation window", async () => {
    const { project, api: ci } = await newProject(api, { sample_interval_seconds: 30 });
    const trigger = await ci.trigger({ env: "production" });
    await ci.finish(trigger.body.deployment_id);
    const problem = expectProblem(
      await patch(project.project_id, { sample_interval_seconds: 10 }),
      409,
      "project_busy",
    );
    expect(problem.detail).toContain("observation window");
    // Other fields may change meanwhile.
    expect((await patch(project.project_id, { running_conflict: "reject" })).status).toBe(200);
  });

  it("names are unique regardless of case: 409 project_name_taken on create and on rename", async () => {
    const first = await api.createProject({ name: "Checkout-Unique" });
    const created = await adminCall(api, "POST", "/admin/projects", { body: { name: "checkout-unique" } });
    expect(expectProblem(created, 409, "project_name_taken").detail).toContain("checkout-unique");
    const { project: second } = await newProject(api);
    expectProblem(await patch(second.project_id, { name: "CHECKOUT-UNIQUE" }), 409, "project_name_taken");
    // Renaming a project to its own name is fine.
    expect((await patch(first.project_id, { name: "Checkout-Unique" })).status).toBe(200);
  });

  it("answers 404 for an unknown or malformed id, and 401 without the admin token", async () => {
    expectProblem(await patch("5f0c1f7e-7b43-4a62-9a57-1f2b0c7e4a10", { name: "x" }), 404, "not_found");
    expectProblem(await patch("nope", { name: "x" }), 404, "not_found");
    const { project } = await newProject(api);
    expectProblem(
      await adminCall(api, "PATCH", `/admin/projects/${project.project_id}`, {
        body: { name: "x" },
        token: null,
      }),
      401,
      "unauthorized",
    );
  });
});

describe("POST /admin/projects/:id/api-keys", () => {
  it("issues a new key at once; the old one works for the grace period, then is refused with 401", async () => {
    const { project } = await newProject(api);
    const rotated = await adminCall(api, "POST", `/admin/projects/${project.project_id}/api-keys`, {
      body: { grace_seconds: 3600 },
    });
    expect(rotated.status, rotated.text).toBe(201);
    const { api_key: newKey, previous_api_key_expires_at } = RotateApiKeyResponse.parse(rotated.body);
    expect(newKey).not.toBe(project.api_key);
    expect(Date.parse(previous_api_key_expires_at) - Date.now()).toBeGreaterThan(3500_000);

    expect((await client(api, newKey).list()).status).toBe(200);
    expect((await client(api, project.api_key).list()).status).toBe(200);
    const { rows } = await pool().query("select * from projects where id = $1", [project.project_id]);
    expect(rows[0].api_key_hash).toBe(sha256Hex(newKey));
    expect(JSON.stringify(rows[0])).not.toContain(newKey);

    // The grace period ends: the old key is refused like any unknown key.
    await pool().query(
      "update projects set previous_api_key_expires_at = now() - interval '1 second' where id = $1",
      [project.project_id],
    );
    expectProblem(await client(api, project.api_key).list(), 401, "unauthorized");
    expect((await client(api, newKey).list()).status).toBe(200);
  });

  it("defaults to a 24 h grace without a body; grace 0 ends the old key at once", async () => {
    const { project } = await newProject(api);
    const rotated = await adminCall<{ previous_api_key_expires_at: string; api_key: string }>(
      api,
      "POST",
      `/admin/projects/${project.project_id}/api-keys`,
    );
    expect(rotated.status, rotated.text).toBe(201);
    const graceMs = Date.parse(rotated.body.previous_api_key_expires_at) - Date.now();
    expect(graceMs).toBeGreaterThan(86_300_000);
    expect(graceMs).toBeLessThanOrEqual(86_400_000);

    const again = await adminCall<{ api_key: string }>(
      api,
      "POST",
      `/admin/projects/${project.project_id}/api-keys`,
      {
        body: { grace_seconds: 0 },
      },
    );
    // A second rotation ends the first one's grace: only the newest two keys could work, and grace 0 leaves one.
    expectProblem(await client(api, project.api_key).list(), 401, "unauthorized");
    expectProblem(await client(api, rotated.body.api_key).list(), 401, "unauthorized");
    expect((await client(api, again.body.api_key).list()).status).toBe(200);
  });

  it("refuses a grace period out of range", async () => {
    const { project } = await newProject(api);
    for (const grace_seconds of [-1, 1.5, 31 * 86_400]) {
      const response = await adminCall(api, "POST", `/admin/projects/${project.project_id}/api-keys`, {
        body: { grace_seconds },
      });
      expect(expectProblem(response, 400, "validation_error").errors?.[0]?.path).toBe("grace_seconds");
    }
  });
});

describe("POST /admin/projects/:id/hmac-secret", () => {
  it("the collector signs with the new secret; the old one is kept for the grace period", async () => {
    const { project } = await newProject(api, { hmac_enabled: true });
    const response = await adminCall(api, "POST", `/admin/projects/${project.project_id}/hmac-secret`, {
      body: { grace_seconds: 600 },
    });
    expect(response.status, response.text).toBe(201);
    const rotated = RotateHmacSecretResponse.parse(response.body);
    expect(rotated.hmac_secret).not.toBe(project.hmac_secret);
    // What the collector loads for a deployment of the project: it signs with the new secret.
    const trigger = await client(api, project.api_key).trigger({ env: "production" });
    const target = await loadTarget(api.database.db, trigger.body.deployment_id);
    expect(target?.project).toMatchObject({
      hmacSecret: rotated.hmac_secret,
      previousHmacSecret: project.hmac_secret,
    });
    expect(target?.project.previousHmacSecretExpiresAt?.toISOString()).toBe(rotated.previous_hmac_expires_at);
    // Both secrets are encrypted at rest.
    const { rows } = await pool().query(
      "select hmac_secret, previous_hmac_secret from projects where id = $1",
      [project.project_id],
    );
    expect(JSON.stringify(rows[0])).not.toContain(rotated.hmac_secret);
    expect(JSON.stringify(rows[0])).not.toContain(project.hmac_secret);
    const listed = (await adminCall(api, "GET", "/admin/projects")).body as { items: ProjectSettings[] };
    const shown = listed.items.find((item) => item.project_id === project.project_id);
    expect(shown?.previous_hmac_expires_at).toBe(rotated.previous_hmac_expires_at);
    expect(JSON.stringify(listed)).not.toContain(rotated.hmac_secret);
  });
});

describe("disable, enable and delete", () => {
  it("a disabled project's keys get 403 project_disabled; enabling restores them; wrong keys still get 401", async () => {
    const { project, api: ci } = await newProject(api);
    const disabled = await adminCall(api, "POST", `/admin/projects/${project.project_id}/disable`);
    expect(disabled.status, disabled.text).toBe(200);
    const disabledAt = ProjectSettings.parse(disabled.body).disabled_at;
    expect(disabledAt).not.toBeNull();
    // Disabling again keeps the first time.
    const twice = await adminCall(api, "POST", `/admin/projects/${project.project_id}/disable`);
    expect(ProjectSettings.parse(twice.body).disabled_at).toBe(disabledAt);

    const refused = await ci.trigger({ env: "production" });
    expect(expectProblem(refused, 403, "project_disabled").detail).toContain(project.name);
    expect(await countDeployments(pool(), project.project_id)).toBe(0);
    expectProblem(await client(api, `${project.api_key.slice(0, -1)}x`).list(), 401, "unauthorized");

    const enabled = await adminCall(api, "POST", `/admin/projects/${project.project_id}/enable`);
    expect(ProjectSettings.parse(enabled.body).disabled_at).toBeNull();
    expect((await ci.trigger({ env: "production" })).status).toBe(201);
  });

  it("delete refuses while a deployment runs unless forced, and removes the project's data", async () => {
    const { project, api: ci } = await newProject(api);
    const running = await ci.trigger({ env: "production" }, { "idempotency-key": "doomed" });
    await ci.trigger({ env: "production" }, { "idempotency-key": "joined" });
    await pool().query(
      `insert into metric_samples (deployment_id, phase, sequence, collected_at, requests_per_sec, latency_p95, error_rate, cpu_usage, memory_usage)
       values ($1, 'baseline', 0, now(), 1, 1, 0, 0.1, 0.1)`,
      [running.body.deployment_id],
    );
    const refused = await adminCall(api, "DELETE", `/admin/projects/${project.project_id}`);
    expect(expectProblem(refused, 409, "project_busy").detail).toContain("force");
    expect(await countDeployments(pool(), project.project_id)).toBe(1);

    const deleted = await adminCall(api, "DELETE", `/admin/projects/${project.project_id}?force=true`);
    expect(deleted.status, deleted.text).toBe(200);
    expect(DeleteProjectResponse.parse(deleted.body)).toEqual({
      project_id: project.project_id,
      name: project.name,
      deleted_deployments: 1,
    });
    const { rows } = await pool().query(
      `select (select count(*) from projects where id = $1)::int as projects,
              (select count(*) from deployments where project_id = $1)::int as deployments,
              (select count(*) from deployment_keys where project_id = $1)::int as keys,
              (select count(*) from metric_samples where deployment_id = $2)::int as samples`,
      [project.project_id, running.body.deployment_id],
    );
    expect(rows[0]).toEqual({ projects: 0, deployments: 0, keys: 0, samples: 0 });
    expectProblem(await ci.list(), 401, "unauthorized");
    expectProblem(await adminCall(api, "DELETE", `/admin/projects/${project.project_id}`), 404, "not_found");
  });

  it("delete without running deployments needs no force; a bad force value is refused", async () => {
    const { project, api: ci } = await newProject(api);
    const trigger = await ci.trigger({ env: "production" });
    await ci.finish(trigger.body.deployment_id);
    expectProblem(
      await adminCall(api, "DELETE", `/admin/projects/${project.project_id}?force=yes`),
      400,
      "validation_error",
    );
    const deleted = await adminCall(api, "DELETE", `/admin/projects/${project.project_id}`);
    expect(deleted.body).toMatchObject({ deleted_deployments: 1 });
  });
});
