import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_DIR, runProcess } from "./support.js";

const run = promisify(execFile);

/**
 * The package as published: `pnpm pack` (which builds the bundle, prepack), then `npm install` of the
 * tarball into an empty project, as `npx @seqpulse/cli@1` would install it, and the `seqpulse` bin run.
 */
describe("the packed @seqpulse/cli", () => {
  let dir: string;
  let project: string;
  let tarball: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seqpulse-cli-pack-"));
    await run("pnpm", ["pack", "--pack-destination", dir], { cwd: CLI_DIR });
    const [name] = (await readdir(dir)).filter((file) => file.endsWith(".tgz"));
    tarball = join(dir, name as string);
    project = join(dir, "consumer");
    await run("mkdir", ["-p", project]);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    // No dependencies to fetch: the install works offline, from the tarball alone.
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: project });
  }, 180_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("holds the one bundle, the README and the manifest, and depends on nothing", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    expect(stdout.trim().split("\n").sort()).toEqual([
      "package/README.md",
      "package/dist/seqpulse.mjs",
      "package/package.json",
    ]);
    const manifest = JSON.parse(
      await readFile(join(project, "node_modules/@seqpulse/cli/package.json"), "utf8"),
    );
    expect(manifest).toMatchObject({ name: "@seqpulse/cli", bin: { seqpulse: "dist/seqpulse.mjs" } });
    expect(manifest.engines).toEqual({ node: ">=20" });
    expect(manifest.dependencies).toBeUndefined();
    expect(JSON.stringify(manifest)).not.toContain("workspace:");
  });

  it("installs a working seqpulse command", async () => {
    const bin = join(project, "node_modules/.bin/seqpulse");
    const manifest = JSON.parse(await readFile(join(CLI_DIR, "package.json"), "utf8"));
    const version = await runProcess(bin, ["--version"], { cwd: project });
    expect(version.stderr).toBe("");
    expect(version.stdout).toBe(`${manifest.version}\n`);
    expect(version.code).toBe(0);
    const usage = await runProcess(bin, ["trigger"], {
      cwd: project,
      env: { SEQPULSE_API_URL: "http://127.0.0.1:9" },
    });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--api-key is required");
  });
});
