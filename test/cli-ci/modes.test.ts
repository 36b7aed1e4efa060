import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { values } from "../support/metrics-app.js";
import {
  buildCli,
  type CliRun,
  type CliWorld,
  leaksKey,
  runCli,
  seqpulseEnv,
  startWorld,
} from "./support.js";

/**
 * Every mode of the bundled `seqpulse` CLI, each call a separate process with only the variables a
 * pipeline would set, against a real server (API and workers) and a scripted metrics endpoint with
 * 3-second observation windows.
 */
describe("seqpulse CLI, bundled, against a real server", { timeout: 120_000 }, () => {
  let world: CliWorld;
  let bundle: string;
  let disposeBundle: () => Promise<void>;
  let temp: string;
  /** Every output of every run, to check that no API key ever shows. */
  const runs: { run: CliRun; apiKey: string }[] = [];

  beforeAll(async () => {
    const [built, started] = await Promise.all([buildCli(), startWorld()]);
    bundle = built.bundle;
    disposeBundle = built.dispose;
    world = started;
    temp = await mkdtemp(join(tmpdir(), "seqpulse-cli-modes-"));
  });
  afterAll(async () => {
    await world?.close();
    await disposeBundle?.();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  async function cli(
    project: CreateProjectResponse,
    args: string[],
    extra: Record<string, string> = {},
    options: Parameters<typeof runCli>[2] = {},
  ): Promise<CliRun> {
    const run = await runCli(bundle, args, {
      ...options,
      env: seqpulseEnv(world.apiUrl, project.api_key, { SEQPULSE_ENV: "production", ...extra }),
    });
    runs.push({ run, apiKey: project.api_key });
    return run;
  }

  /** A node one-liner as the deploy command. */
  const deploy = (script: string) => [process.execPath, "-e", script];

  describe.concurrent("modes", () => {
    it("trigger, finish and wait as three processes; status shows the verdict", async ({ expect }) => {
      const project = await world.project();
      const envFile = join(temp, "trigger.env");
      const key = `shell-${project.project_id}`;

      const triggered = await cli(project, ["trigger", "--idempotency-key", key, "--output-env", envFile]);
      expect(triggered.code, triggered.stderr).toBe(0);
      const id = /^SEQPULSE_DEPLOYMENT_ID=(\S+)$/m.exec(await readFile(envFile, "utf8"))?.[1] ?? "";
      expect(await readFile(envFile, "utf8")).toBe(
        `SEQPULSE_DEPLOYMENT_ID=${id}\nSEQPULSE_DEPLOYMENT_NUMBER=1\n`,
      );
      expect(triggered.stdout).toContain("deployment #1 created");
      expect(triggered.stdout).toContain("SeqPulse: baseline sample taken");
      expect(triggered.stdout).toContain(`${world.apiUrl}/deployments/${id}`);
      expect(await world.deployment(project, id)).toMatchObject({ state: "running", idempotency_key: key });

      const finished = await cli(project, ["finish", "--idempotency-key", key]);
      expect(finished.code, finished.stderr).toBe(0);
      expect(finished.stdout).toContain("deployment finished (success)");
      expect(await world.deployment(project, id)).toMatchObject({
        state: "finished",
        pipeline_result: "success",
      });

      const waited = await cli(project, ["wait", "--deployment-id", id, "--verdict-timeout", "30"]);
      expect(waited.code, waited.stderr).toBe(0);
      expect(waited.stdout).toContain("SeqPulse verdict for deployment #1: ok");
      expect(waited.stdout).toMatch(/OK: \d+ post samples/);

      const shown = await cli(project, ["status", "--idempotency-key", key, "--json"]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        command: "status",
        exit_code: 0,
        deployment_id: id,
        deployment_number: 1,
        state: "analyzed",
        result: "success",
        verdict: { verdict: "ok" },
        url: `${world.apiUrl}/deployments/${id}`,
      });
    });

    it("a pipeline that joined a running deployment finishes it, and finds it, by its own key", async ({
      expect,
    }) => {
      const project = await world.project();
      const first = await cli(project, ["trigger", "--idempotency-key", "pipeline-a", "--json"]);
      const joined = await cli(project, ["trigger", "--idempotency-key", "pipeline-b", "--json"]);
      const id = JSON.parse(first.stdout).deployment_id;
      expect(JSON.parse(joined.stdout)).toMatchObject({
        deployment_id: id,
        trigger_status: "existing",
        reason: "running",
      });
      expect(joined.stderr).toContain("already running in production: joined it");

      const finished = await cli(project, ["finish", "--idempotency-key", "pipeline-b", "--json"]);
      expect(JSON.parse(finished.stdout)).toMatchObject({ deployment_id: id, finish_status: "accepted" });
      const shown = await cli(project, ["status", "--idempotency-key", "pipeline-b", "--json"]);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        deployment_id: id,
        state: expect.stringMatching(/finished|analyzed/),
      });
      expect(await world.deployments(project)).toHaveLength(1);
    });

    it("trigger --json prints one JSON document on stdout and its messages on stderr", async ({ expect }) => {
      const project = await world.project();
      const run = await cli(project, [
        "trigger",
        "--json",
        "--idempotency-key",
        "json-1",
        "--branch",
        "main",
      ]);
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result).toEqual({
        command: "trigger",
        exit_code: 0,
        env: "production",
        deployment_id: expect.any(String),
        deployment_number: 1,
        url: `${world.apiUrl}/deployments/${result.deployment_id}`,
        state: "running",
        idempotency_key: "json-1",
        trigger_status: "created",
        baseline: "taken",
      });
      expect(run.stderr).toContain("deployment #1 created");

      // The same key again: the same deployment, said to be a repeated try.
      const again = await cli(project, [
        "trigger",
        "--json",
        "--idempotency-key",
        "json-1",
        "--branch",
        "main",
      ]);
      expect(JSON.parse(again.stdout)).toMatchObject({
        deployment_id: result.deployment_id,
        trigger_status: "existing",
        reason: "idempotency_key",
      });
      expect((await world.deployments(project)).length).toBe(1);
    });

    it("run -- <command that succeeds> --wait: streams its output, finishes success, gates on ok", async ({
      expect,
    }) => {
      const project = await world.project();
      const run = await cli(project, [
        "run",
        "--wait",
        "--verdict-timeout",
        "30",
        "--json",
        "--",
        ...deploy("console.log('deploying v2'); console.error('a deploy warning')"),
      ]);
      expect(run.code, run.stderr).toBe(0);
      // The command's own streams, untouched: stdout stays its stdout.
      expect(run.stdout).toContain("deploying v2\n");
      expect(run.stderr).toContain("a deploy warning\n");
      const result = JSON.parse(run.stdout.slice(run.stdout.indexOf("{\n")));
      expect(result).toMatchObject({
        command: "run",
        exit_code: 0,
        command_exit_code: 0,
        result: "success",
        finish_status: "accepted",
        gate: "passed",
        verdict: { verdict: "ok" },
      });
      expect(await world.deployment(project, result.deployment_id)).toMatchObject({
        state: "analyzed",
        pipeline_result: "success",
      });
    });

    it("run in a retried job: the key's deployment is over, so the deploy runs unverified, not gated on the old verdict", async ({
      expect,
    }) => {
      const project = await world.project();
      const args = [
        "run",
        "--idempotency-key",
        "retried-1",
        "--wait",
        "--",
        ...deploy("console.log('deploying')"),
      ];
      expect((await cli(project, args)).code).toBe(0);
      const retry = await cli(project, args);
      expect(retry.code).toBe(0);
      expect(retry.stdout).toContain("deploying");
      expect(retry.stderr).toContain("was already analyzed before this run, so this deploy is not verified");
      expect(retry.stdout).not.toContain("waiting for the verdict");
      expect(await world.deployments(project)).toHaveLength(1);
    });

    it("run -- <command that exits 3>: finishes failed, skips the gate and exits 3", async ({ expect }) => {
      const project = await world.project();
      // A key on the command line is not echoed (what the command prints is its own business).
      const run = await cli(project, [
        "run",
        "--wait",
        "--",
        ...deploy("console.log('boom'); process.exit(3)"),
        project.api_key,
      ]);
      expect(run.stdout).toContain("process.exit(3) [redacted]");
      expect(run.code).toBe(3);
      expect(run.stdout).toContain("boom");
      expect(run.stdout).toContain("the deploy command exited with 3: result failed");
      expect(run.stdout).not.toContain("waiting for the verdict");
      const [deployment] = await world.deployments(project);
      expect(deployment).toMatchObject({ state: "finished", pipeline_result: "failed" });
    });

    it.each([
      { signal: "SIGTERM", code: 143 },
      { signal: "SIGINT", code: 130 },
    ] as const)(
      "run -- <command>, the job cancelled with $signal: the command gets it, finish cancelled, exit $code",
      async ({ signal, code }) => {
        const project = await world.project();
        const run = await cli(
          project,
          [
            "run",
            "--",
            ...deploy(
              `process.on('${signal}', () => { console.log('child got ${signal}'); process.exit(0); }); console.log(['deploy', 'started'].join(' ')); setInterval(() => {}, 1000);`,
            ),
          ],
          {},
          {
            onSpawn: (child, output) => {
              // The command's own output (the CLI echoes the command line, which does not hold it).
              const poll = setInterval(() => {
                if (output().includes("deploy started")) {
                  clearInterval(poll);
                  child.kill(signal);
                }
              }, 20);
            },
          },
        );
        expect(run.stdout).toContain(`child got ${signal}`);
        // The command stopped cleanly (exit 0), but the job was cancelled: not 0.
        expect(run.code).toBe(code);
        expect(run.stdout).toContain(`exited with 0 after ${signal}: result cancelled`);
        const [deployment] = await world.deployments(project);
        expect(deployment).toMatchObject({ state: "finished", pipeline_result: "cancelled" });
      },
    );

    it("run -- <command that dies of SIGTERM itself>: finish cancelled, exit 143", async ({ expect }) => {
      const project = await world.project();
      const run = await cli(project, ["run", "--", ...deploy("process.kill(process.pid, 'SIGTERM')")]);
      expect(run.code).toBe(143);
      expect(run.stdout).toContain("was ended by SIGTERM: result cancelled");
      const [deployment] = await world.deployments(project);
      expect(deployment).toMatchObject({ pipeline_result: "cancelled" });
    });

    it("run -- <command killed by SIGKILL>: finish failed, exit 137", async ({ expect }) => {
      const project = await world.project();
      const run = await cli(project, ["run", "--", ...deploy("process.kill(process.pid, 'SIGKILL')")]);
      expect(run.code).toBe(137);
      const [deployment] = await world.deployments(project);
      expect(deployment).toMatchObject({ state: "finished", pipeline_result: "failed" });
    });

    it("run -- <missing command>: finish failed, exit 127", async ({ expect }) => {
      const project = await world.project();
      const run = await cli(project, ["run", "--", "./no-such-deploy-script.sh"]);
      expect(run.code).toBe(127);
      expect(run.stdout).toContain("could not be started (ENOENT");
      const [deployment] = await world.deployments(project);
      expect(deployment).toMatchObject({ state: "finished", pipeline_result: "failed" });
    });

    it("finish --wait on a rollback_recommended verdict exits 1 with the reasons", async ({ expect }) => {
      const project = await world.project([values(), values({ error_rate: 0.05 })]);
      const key = "rollback-1";
      expect((await cli(project, ["trigger", "--idempotency-key", key])).code).toBe(0);
      const run = await cli(project, [
        "finish",
        "--idempotency-key",
        key,
        "--wait",
        "--verdict-timeout",
        "30",
      ]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stdout).toContain("rollback_recommended");
      expect(run.stdout).toMatch(/- \[critical\] error_rate/);
      expect(run.stderr).toContain("The gate fails because --fail-on is rollback_recommended.");
    });

    it("wait --fail-on warning fails on a warning verdict; the default fail-on lets it pass", async ({
      expect,
    }) => {
      const project = await world.project([values({ latency_p95: 50 }), values({ latency_p95: 250 })]);
      const key = "warning-1";
      expect((await cli(project, ["trigger", "--idempotency-key", key])).code).toBe(0);
      expect((await cli(project, ["finish", "--idempotency-key", key])).code).toBe(0);
      const strict = await cli(project, ["wait", "--idempotency-key", key, "--fail-on", "warning", "--json"]);
      expect(JSON.parse(strict.stdout)).toMatchObject({ gate: "failed", verdict: { verdict: "warning" } });
      expect(strict.code).toBe(1);
      const lenient = await cli(project, ["wait", "--idempotency-key", key]);
      expect(lenient.code).toBe(0);
      expect(lenient.stderr).toContain("WARNING: SeqPulse verdict for deployment #1: warning");
    });

    it("wait that times out warns and exits 0, or exits 3 with --fail-on-error", async ({ expect }) => {
      const project = await world.project();
      expect((await cli(project, ["trigger", "--idempotency-key", "slow-1"])).code).toBe(0);
      // Still running: no verdict can come.
      const lenient = await cli(project, ["wait", "--idempotency-key", "slow-1", "--verdict-timeout", "1"]);
      expect(lenient.code).toBe(0);
      expect(lenient.stderr).toContain("no verdict after 1 s (state running)");
      const strict = await cli(project, [
        "wait",
        "--idempotency-key",
        "slow-1",
        "--verdict-timeout",
        "1",
        "--fail-on-error",
      ]);
      expect(strict.code).toBe(3);
    });

    it("wait on a cancelled deployment stops at once: no verdict can come", async ({ expect }) => {
      const project = await world.project();
      expect((await cli(project, ["trigger", "--idempotency-key", "stray-1"])).code).toBe(0);
      const [stray] = await world.deployments(project);
      const cancelled = await fetch(`${world.apiUrl}/deployments/${stray?.id}/cancel`, {
        method: "POST",
        headers: { "x-api-key": project.api_key, "content-type": "application/json" },
        body: JSON.stringify({ reason: "stray", by: "test" }),
      });
      expect(cancelled.status).toBe(200);
      const started = Date.now();
      const lenient = await cli(project, ["wait", "--idempotency-key", "stray-1", "--verdict-timeout", "60"]);
      expect(lenient.code).toBe(0);
      expect(lenient.stderr).toContain("the deployment was cancelled, so it gets no verdict");
      expect(Date.now() - started).toBeLessThan(20_000);
      const strict = await cli(project, ["wait", "--idempotency-key", "stray-1", "--fail-on-error"]);
      expect(strict.code).toBe(3);
    });

    it("finish by a key no trigger used: warns and exits 0, or 3 with --fail-on-error", async ({
      expect,
    }) => {
      const project = await world.project();
      const lenient = await cli(project, ["finish", "--idempotency-key", "never-triggered"]);
      expect(lenient.code).toBe(0);
      expect(lenient.stderr).toContain("No deployment has idempotency key never-triggered in production");
      const strict = await cli(project, [
        "finish",
        "--idempotency-key",
        "never-triggered",
        "--fail-on-error",
      ]);
      expect(strict.code).toBe(3);
      expect(await world.deployments(project)).toEqual([]);
    });

    it("a wrong API key is a warning (exit 0) or exit 3, and is not printed", async ({ expect }) => {
      const project = await world.project();
      const wrong = { ...project, api_key: `${project.api_key.slice(0, -4)}zzzz` };
      const lenient = await cli(wrong, ["trigger"]);
      expect(lenient.code).toBe(0);
      expect(lenient.stderr).toContain("401");
      const strict = await cli(wrong, ["trigger", "--fail-on-error", "--json"]);
      expect(strict.code).toBe(3);
      expect(JSON.parse(strict.stdout)).toMatchObject({ exit_code: 3, error: { status: 401 } });
    });
  });

  it("retries a lost answer, a 502 and a 429 with Retry-After with the same key: one deployment", async () => {
    const project = await world.project();
    // In front of the real server: the first trigger reaches it but its answer is lost (502), the
    // second is refused with 429 and Retry-After: 1, the third goes through.
    const keys: (string | undefined)[] = [];
    const attemptTimes: number[] = [];
    const proxy = createHttpServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const forward = () =>
        fetch(`${world.apiUrl}${req.url}`, {
          method: req.method ?? "GET",
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(
              ([name]) => !["host", "connection", "content-length"].includes(name),
            ),
          ) as Record<string, string>,
          ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
        });
      if (req.url === "/deployments/trigger") {
        keys.push(req.headers["idempotency-key"] as string | undefined);
        attemptTimes.push(Date.now());
        if (keys.length === 1) {
          await forward();
          res.writeHead(502).end("bad gateway");
          return;
        }
        if (keys.length === 2) {
          res.writeHead(429, { "retry-after": "1", "content-type": "application/problem+json" });
          res.end(
            JSON.stringify({
              type: "about:blank",
              title: "Too Many Requests",
              status: 429,
              code: "rate_limited",
              detail: "slow down",
            }),
          );
          return;
        }
      }
      const answer = await forward();
      res
        .writeHead(answer.status, Object.fromEntries(answer.headers))
        .end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((done) => proxy.listen(0, "127.0.0.1", done));
    try {
      const { port } = proxy.address() as { port: number };
      const run = await runCli(bundle, ["trigger", "--json"], {
        env: {
          ...seqpulseEnv(`http://127.0.0.1:${port}`, project.api_key, {
            SEQPULSE_ENV: "production",
            SEQPULSE_RETRY_ATTEMPTS: "4",
          }),
          GITLAB_CI: "true",
          CI_PIPELINE_ID: "9001",
        },
      });
      runs.push({ run, apiKey: project.api_key });
      expect(run.code, run.stderr).toBe(0);
      expect(keys).toEqual(["gitlab-9001-production", "gitlab-9001-production", "gitlab-9001-production"]);
      expect(run.stderr).toContain("failed (502 (bad gateway)); retrying in");
      expect(run.stderr).toContain("failed (429 rate_limited: slow down); retrying in");
      expect((attemptTimes[2] ?? 0) - (attemptTimes[1] ?? 0)).toBeGreaterThanOrEqual(950);
      // The third attempt found the deployment the first one created.
      expect(JSON.parse(run.stdout)).toMatchObject({ trigger_status: "existing", reason: "idempotency_key" });
      expect(await world.deployments(project)).toHaveLength(1);
    } finally {
      await new Promise((done) => proxy.close(done));
    }
  });

  describe.concurrent("SeqPulse down", () => {
    let downUrl: string;
    beforeAll(async () => {
      // A port that was free a moment ago: connections to it are refused.
      const probe = createServer();
      await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
      const { port } = probe.address() as { port: number };
      await new Promise((done) => probe.close(done));
      downUrl = `http://127.0.0.1:${port}`;
    });
    const down = (args: string[], extra: Record<string, string> = {}) =>
      runCli(bundle, args, {
        env: seqpulseEnv(downUrl, "sp_down00000000_secretsecretsecret", {
          SEQPULSE_ENV: "production",
          ...extra,
        }),
      });

    it("trigger warns after its retries and exits 0; with --fail-on-error it exits 3", async ({ expect }) => {
      const lenient = await down(["trigger", "--idempotency-key", "down-1"]);
      expect(lenient.code).toBe(0);
      expect(lenient.stdout).toContain("retrying in");
      expect(lenient.stderr).toContain("could not be reached");
      expect(lenient.stderr).toContain("ECONNREFUSED");
      expect(lenient.stderr).toContain("The job goes on because --fail-on-error is off.");
      const strict = await down(["trigger", "--idempotency-key", "down-1", "--fail-on-error"]);
      expect(strict.code).toBe(3);
      expect(strict.stderr).toContain("Exiting with 3 because --fail-on-error is on.");
    });

    it("finish, wait and status warn and exit 0, or 3 with SEQPULSE_FAIL_ON_ERROR=true", async ({
      expect,
    }) => {
      const calls = [
        ["finish", "--idempotency-key", "down-2"],
        ["wait", "--idempotency-key", "down-2", "--verdict-timeout", "1"],
        ["status", "--idempotency-key", "down-2"],
      ];
      for (const args of calls) {
        expect((await down(args)).code, args[0]).toBe(0);
        expect((await down(args, { SEQPULSE_FAIL_ON_ERROR: "true" })).code, args[0]).toBe(3);
      }
    });

    it("warns in the CI's own annotations: GitHub ::warning:: / ::error::, Azure ##vso[task.logissue]", async ({
      expect,
    }) => {
      const github = { GITHUB_ACTIONS: "true", GITHUB_RUN_ID: "31", GITHUB_RUN_ATTEMPT: "1" };
      const lenient = await down(["trigger"], github);
      expect(lenient.stderr).toMatch(
        /^::warning::SeqPulse at http:\/\/127\.0\.0\.1:\d+ could not be reached/m,
      );
      // One annotation: its line breaks are escaped.
      expect(lenient.stderr).toContain("%0AThe job goes on because --fail-on-error is off.");
      const strict = await down(["trigger", "--fail-on-error"], github);
      expect(strict.stderr).toMatch(/^::error::SeqPulse at/m);
      const azure = await down(["trigger"], { TF_BUILD: "True", BUILD_BUILDID: "12" });
      expect(azure.stderr).toMatch(/^##vso\[task\.logissue type=warning\]SeqPulse at/m);
    });

    it("run still deploys, and exits with the command's status", async ({ expect }) => {
      const ok = await down(["run", "--", ...deploy("console.log('deployed anyway')")]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain("deployed anyway");
      const failed = await down(["run", "--", ...deploy("process.exit(4)")]);
      expect(failed.code).toBe(4);
    });

    it("run --fail-on-error does not deploy unverified: exit 3, the command not run", async ({ expect }) => {
      const run = await down(["run", "--fail-on-error", "--", ...deploy("console.log('deployed anyway')")]);
      expect(run.code).toBe(3);
      expect(run.stdout).not.toContain("deployed anyway");
      expect(run.stderr).toContain("the deploy command was not run");
    });
  });

  it("never prints an API key, in any mode", () => {
    expect(runs.length).toBeGreaterThan(10);
    for (const { run, apiKey } of runs) {
      expect(leaksKey(run.stdout + run.stderr, apiKey)).toBe(false);
    }
  });
});
