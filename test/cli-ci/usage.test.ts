import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, runCli } from "./support.js";

/**
 * Mistakes in how the bundled CLI is called: exit 2 and a message naming the flag and what it expects,
 * before anything is sent (the API URL points at a port nothing listens on, so a call would show).
 */
describe("seqpulse usage errors", () => {
  let bundle: string;
  let dispose: () => Promise<void>;
  let temp: string;
  const KEY = "sp_usage000000_thisisthesecretpartofthekey";
  const BASE = { SEQPULSE_API_URL: "http://127.0.0.1:9", SEQPULSE_API_KEY: KEY, SEQPULSE_ENV: "production" };

  beforeAll(async () => {
    ({ bundle, dispose } = await buildCli());
    temp = await mkdtemp(join(tmpdir(), "seqpulse-cli-usage-"));
  });
  afterAll(async () => {
    await dispose?.();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  const cli = (args: string[], env: Record<string, string> = BASE) => runCli(bundle, args, { env });

  it.concurrent.each([
    {
      args: ["trigger"],
      env: { ...BASE, SEQPULSE_ENV: "" },
      message: "--env is required (or set SEQPULSE_ENV)",
    },
    {
      args: ["trigger"],
      env: { ...BASE, SEQPULSE_API_URL: "" },
      message: "--api-url is required (or set SEQPULSE_API_URL)",
    },
    {
      args: ["trigger"],
      env: { ...BASE, SEQPULSE_API_KEY: "" },
      message: "--api-key is required (or set SEQPULSE_API_KEY)",
    },
    {
      args: ["trigger", "--evn", "staging"],
      message: "seqpulse trigger: unknown flag --evn; did you mean --env?",
    },
    {
      args: ["finish", "--fail-on-eror"],
      message: "seqpulse finish: unknown flag --fail-on-eror; did you mean --fail-on-error?",
    },
    { args: ["wait", "--deploymentid", "x"], message: "did you mean --deployment-id?" },
    {
      args: ["trigger", "--xyzzy"],
      message: "seqpulse trigger: unknown flag --xyzzy (seqpulse trigger --help lists the flags)",
    },
    { args: ["trigger", "--wait"], message: "seqpulse trigger: unknown flag --wait" },
    { args: ["trigger", "--env"], message: "--env needs a value: an environment name, e.g. production" },
    { args: ["trigger", "--env", "prod env"], message: '--env "prod env" is not an environment name' },
    { args: ["trigger", "--json=yes"], message: "--json takes no value" },
    {
      args: ["trigger", "production"],
      message: 'seqpulse trigger: unexpected argument "production"; flags start with --',
    },
    { args: ["trigger", "--commit-sha", "main"], message: '--commit-sha "main" must be a commit hash' },
    {
      args: ["trigger", "--metrics-endpoint", "ftp://x"],
      message: '--metrics-endpoint "ftp://x" must be an http:// or https:// URL',
    },
    {
      args: ["finish", "--result", "ok", "--idempotency-key", "k"],
      message: '--result "ok" must be success, failed or cancelled',
    },
    {
      args: ["wait", "--fail-on", "ok", "--idempotency-key", "k"],
      message: '--fail-on "ok" must be warning or rollback_recommended',
    },
    {
      args: ["wait", "--verdict-timeout", "10m", "--idempotency-key", "k"],
      message: '--verdict-timeout "10m" must be a whole number of seconds from 1 to 21600',
    },
    {
      args: ["run", "--baseline-timeout", "-1", "--", "true"],
      message: '--baseline-timeout "-1" must be a whole number of seconds from 0 to 21600',
    },
    {
      args: ["finish", "--deployment-id", "42"],
      message: '--deployment-id "42" must be a deployment id (UUID)',
    },
    {
      args: ["finish"],
      message: "--idempotency-key or --deployment-id is required: no CI pipeline id was found",
    },
    {
      args: ["status"],
      env: { ...BASE, SEQPULSE_ENV: "" },
      message: "--env is required (or set SEQPULSE_ENV) to find the deployment",
    },
    { args: ["run"], message: "seqpulse run: the deploy command is missing: put it after --" },
    {
      args: ["run", "./deploy.sh"],
      message: "the deploy command comes after --: seqpulse run [flags] -- ./deploy.sh",
    },
    {
      args: ["trigger", "--", "./deploy.sh"],
      message: "seqpulse trigger: takes no command after --; did you mean seqpulse run?",
    },
    {
      args: ["trigger"],
      env: { ...BASE, SEQPULSE_API_URL: "https://user:pw@seqpulse.example.com" },
      message: "must not contain a user name or password",
    },
    {
      args: ["trigger"],
      env: { ...BASE, SEQPULSE_FAIL_ON_ERROR: "yes" },
      message: "SEQPULSE_FAIL_ON_ERROR=yes must be true or false",
    },
    {
      args: ["trigger"],
      env: { ...BASE, SEQPULSE_RETRY_ATTEMPTS: "0" },
      message: "SEQPULSE_RETRY_ATTEMPTS=0 must be a whole number ≥ 1",
    },
    {
      args: ["trigger", "--output-env", "/nonexistent-dir/x.env"],
      message: "--output-env /nonexistent-dir/x.env cannot be written",
    },
  ])("seqpulse $args.0 … → exit 2: $message", async ({ args, env, message }) => {
    const run = await cli(args, env);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
    // Nothing was attempted: no retry, no SeqPulse error.
    expect(run.stdout + run.stderr).not.toContain("retrying");
    expect(run.stdout + run.stderr).not.toContain("could not be reached");
  });

  it("an unknown command says so and suggests the nearest", async () => {
    const run = await cli(["trgger"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "trgger"; did you mean trigger? Commands: trigger, finish');
    expect(run.stderr).toContain("Commands: trigger, finish, wait, status, run");
    const far = await cli(["deploy-everything"]);
    expect(far.stderr).toContain('unknown command "deploy-everything". Commands:');
  });

  it("an API key with a line break is refused without being printed", async () => {
    const run = await cli(["trigger"], { ...BASE, SEQPULSE_API_KEY: `${KEY}\nsecond-line` });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("SEQPULSE_API_KEY contains a space, a line break or another character");
    expect(run.stdout + run.stderr).not.toContain("thisisthesecretpartofthekey");
  });

  it("a usage error with --json still prints one JSON document", async () => {
    const run = await cli(["trigger", "--json"], { ...BASE, SEQPULSE_ENV: "" });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      command: "trigger",
      exit_code: 2,
      error: {
        name: "UsageError",
        message: "--env is required (or set SEQPULSE_ENV): an environment name, e.g. production",
      },
    });
  });

  it("--help and --version exit 0; no arguments prints the help and exits 2", async () => {
    const help = await cli(["run", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: seqpulse run --env production [--wait] [flags] -- ./deploy.sh");
    expect(help.stdout).toContain("--fail-on-error");
    expect(help.stdout).toContain("[SEQPULSE_API_KEY]");
    expect(help.stdout).toContain("3  SeqPulse unreachable");
    const version = await cli(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("Usage: seqpulse <command> [flags]");
  });
});
