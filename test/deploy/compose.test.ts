import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/env.js";
import { createTestDatabase } from "../support/database.js";
import { startServerProcess } from "../support/server-process.js";
import { serverEnv, workerUrlOf } from "../worker/helpers.js";
import {
  type ComposeService,
  durationSeconds,
  effectiveInstructions,
  envFilesOf,
  execForm,
  ofKeyword,
  parseDockerfile,
  parseEnvFile,
  REPO_ROOT,
  readCompose,
  readRepoFile,
} from "./files.js";

const run = promisify(execFile);
const compose = readCompose();
const services = compose.services;
const SEQPULSE_SERVICES = ["migrate", "api", "worker"];
const service = (name: string): ComposeService => {
  const found = services[name];
  if (!found) throw new Error(`compose.yaml has no service "${name}"`);
  return found;
};

describe("compose.yaml", () => {
  it("runs the official PostgreSQL image, pinned to a major version, with its data in a named volume", () => {
    const postgres = service("postgres");
    const [, major] = /^postgres:(\d+)(?:[.-]|$)/.exec(postgres.image ?? "") ?? [];
    expect(major, postgres.image).toBeDefined();
    // Version 18 images keep PGDATA under /var/lib/postgresql/<major>/docker: mount the parent.
    const [volume, mountPoint] = (postgres.volumes?.[0] ?? "").split(":");
    expect(mountPoint).toBe("/var/lib/postgresql");
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
  });

  it("checks PostgreSQL with pg_isready as the user and database the server connects with", () => {
    const postgres = service("postgres");
    expect(postgres.healthcheck?.test?.slice(0, 2)).toEqual(["CMD", "pg_isready"]);
    expect(postgres.healthcheck?.test).toContain(`--username=${postgres.environment?.POSTGRES_USER}`);
    expect(postgres.healthcheck?.test).toContain(`--dbname=${postgres.environment?.POSTGRES_DB}`);
    expect(durationSeconds(postgres.healthcheck?.start_period ?? "")).toBeGreaterThan(0);
  });

  it("runs the production image for a migration, one API and one worker, each in its role", () => {
    const stages = parseDockerfile().stages.map((each) => each.name);
    for (const name of SEQPULSE_SERVICES) {
      expect(service(name).build).toEqual({ context: ".", target: "production" });
      expect(stages).toContain(service(name).build?.target);
      expect(service(name).image).toBe(service("api").image);
    }
    expect(service("api").environment?.SEQPULSE_ROLE).toBe("api");
    expect(service("worker").environment?.SEQPULSE_ROLE).toBe("worker");
    expect(service("migrate").command).toEqual(["node", "server/dist/bin/migrate.js"]);
    expect(service("api").ports).toEqual(["8080:8080"]);
  });

  it("starts PostgreSQL, then the migration, then the API and the worker", () => {
    expect(service("migrate").depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    for (const name of ["api", "worker"]) {
      expect(service(name).depends_on).toEqual({ migrate: { condition: "service_completed_successfully" } });
    }
  });

  it("has every one-shot service awaited by a long-running one, so `docker compose up --wait` succeeds", () => {
    const oneShots = Object.entries(services).filter(([, each]) => each.restart === "no");
    expect(oneShots.map(([name]) => name)).toEqual(["migrate"]);
    for (const [name] of oneShots) {
      const adopters = Object.values(services).filter(
        (each) =>
          each.restart !== "no" && each.depends_on?.[name]?.condition === "service_completed_successfully",
      );
      expect(adopters.length, name).toBeGreaterThan(0);
    }
  });

  it("health-checks the API and the worker with the image's /readyz check, and not the one-shot migration", () => {
    expect(service("api").healthcheck).toBeUndefined();
    expect(service("worker").healthcheck).toBeUndefined();
    expect(service("migrate").healthcheck).toEqual({ disable: true });
  });

  it("finds a worker healthy with the image's HEALTHCHECK command while it runs, and unhealthy once stopped", async () => {
    const production = effectiveInstructions(parseDockerfile(), "production");
    const [program = "", ...args] = execForm(ofKeyword(production, "HEALTHCHECK").at(-1));
    const database = await createTestDatabase();
    const worker = await startServerProcess(serverEnv(database.url, service("worker").environment));
    try {
      const port = new URL(workerUrlOf(worker)).port;
      const check = () =>
        run(program === "node" ? process.execPath : program, args, { env: { ...process.env, PORT: port } });
      await expect(check()).resolves.toBeDefined();
      expect(await worker.stop()).toBe(0);
      await expect(check()).rejects.toMatchObject({ code: 1 });
    } finally {
      await worker.stop();
      await database.close();
    }
  });

  it("gives the server the time it takes to drain after docker stop's SIGTERM", () => {
    const deadlineMs = Number(
      /SHUTDOWN_DEADLINE_MS = ([\d_]+)/.exec(readRepoFile("server/src/index.ts"))?.[1]?.replace(/_/g, ""),
    );
    expect(deadlineMs).toBeGreaterThan(0);
    for (const name of ["api", "worker"]) {
      expect(durationSeconds(service(name).stop_grace_period ?? "10s") * 1000).toBeGreaterThan(deadlineMs);
    }
  });

  it("passes secrets through git-ignored env files that have a committed example, never inline", () => {
    for (const [name, each] of Object.entries(services)) {
      const files = envFilesOf(each);
      expect(files.length, `${name} has an env file`).toBeGreaterThan(0);
      for (const file of files) {
        expect(existsSync(resolve(REPO_ROOT, `${file}.example`)), `${file}.example`).toBe(true);
      }
      for (const key of Object.keys(each.environment ?? {}))
        expect(key).not.toMatch(/PASSWORD|TOKEN|SECRET|KEY|URL/);
    }
    const ignored = readRepoFile("deploy/.gitignore");
    expect(ignored).toMatch(/^\*\.env$/m);
  });

  it("leaves the secrets of the examples empty, so that an unedited copy fails at start instead of running", () => {
    const postgresExample = parseEnvFile(readRepoFile("deploy/postgres.env.example"));
    const seqpulseExample = parseEnvFile(readRepoFile("deploy/seqpulse.env.example"));
    expect(postgresExample.get("POSTGRES_PASSWORD")).toBe("");
    expect(seqpulseExample.get("DATABASE_URL")).toBe("");
    expect(seqpulseExample.get("SEQPULSE_ADMIN_TOKEN")).toBe("");
  });
});

describe("deploy/init-env.sh", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const copyDeployFolder = () => {
    dir = mkdtempSync(join(tmpdir(), "seqpulse-init-env-"));
    cpSync(resolve(REPO_ROOT, "deploy"), join(dir, "deploy"), {
      recursive: true,
      filter: (source) => !/\.env$/.test(source),
    });
    return join(dir, "deploy");
  };

  it("writes both env files with one new password, an admin token, and values the server accepts", async () => {
    const deploy = copyDeployFolder();
    const { stdout } = await run("sh", [join(deploy, "init-env.sh")]);
    expect(stdout).toContain("wrote deploy/postgres.env and deploy/seqpulse.env");
    const postgresEnv = parseEnvFile(readFileSync(join(deploy, "postgres.env"), "utf8"));
    const seqpulseEnv = parseEnvFile(readFileSync(join(deploy, "seqpulse.env"), "utf8"));
    const password = postgresEnv.get("POSTGRES_PASSWORD") ?? "";
    expect(password).toMatch(/^[0-9a-f]{48}$/);

    const postgres = service("postgres").environment ?? {};
    const url = new URL(seqpulseEnv.get("DATABASE_URL") ?? "");
    expect({
      user: url.username,
      password: url.password,
      host: url.hostname,
      database: url.pathname,
    }).toEqual({
      user: postgres.POSTGRES_USER,
      password,
      host: "postgres",
      database: `/${postgres.POSTGRES_DB}`,
    });
    expect(seqpulseEnv.get("SEQPULSE_ADMIN_TOKEN")).toMatch(/^[0-9a-f]{48}$/);
    expect(seqpulseEnv.get("SEQPULSE_ADMIN_TOKEN")).not.toBe(password);
    for (const file of ["postgres.env", "seqpulse.env"]) {
      expect(statSync(join(deploy, file)).mode & 0o077, `${file} is readable by its owner only`).toBe(0);
    }
    for (const name of SEQPULSE_SERVICES) {
      const config = loadConfig({ ...Object.fromEntries(seqpulseEnv), ...service(name).environment });
      expect(config.DATABASE_URL).toBe(seqpulseEnv.get("DATABASE_URL"));
    }
  });

  it("keeps existing env files on a second run", async () => {
    const deploy = copyDeployFolder();
    await run("sh", [join(deploy, "init-env.sh")]);
    const first = readFileSync(join(deploy, "seqpulse.env"), "utf8");
    const { stdout } = await run("sh", [join(deploy, "init-env.sh")]);
    expect(stdout).toContain("kept as they are");
    expect(readFileSync(join(deploy, "seqpulse.env"), "utf8")).toBe(first);
  });

  it("refuses to write one file beside an existing other, whose password it cannot know", async () => {
    const deploy = copyDeployFolder();
    writeFileSync(join(deploy, "postgres.env"), "POSTGRES_PASSWORD=chosen-by-hand\n");
    const failure = await run("sh", [join(deploy, "init-env.sh")]).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringContaining("the password must match") });
    expect(existsSync(join(deploy, "seqpulse.env"))).toBe(false);
    expect(readFileSync(join(deploy, "postgres.env"), "utf8")).toBe("POSTGRES_PASSWORD=chosen-by-hand\n");
  });
});
