#!/usr/bin/env node
// Bundles the action with ncc into action/dist/{main,post}: one ESM file each (ncc writes a
// package.json with "type": "module" beside it), a source map and the bundled packages' licenses.
//
//   node action/scripts/build.mjs              build into action/dist
//   node action/scripts/build.mjs --out DIR    build into DIR (DIR/main, DIR/post)
//   node action/scripts/build.mjs --check      build into a temporary folder and fail if action/dist differs
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const actionDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const committedDist = join(actionDir, "dist");
const entries = { main: "src/index.ts", post: "src/post-index.ts" };
const nccCli = join(
  dirname(createRequire(import.meta.url).resolve("@vercel/ncc/package.json")),
  "dist/ncc/cli.js",
);

export function build(outDir) {
  for (const [name, entry] of Object.entries(entries)) {
    const target = join(outDir, name);
    rmSync(target, { recursive: true, force: true });
    // --no-cache: a warm cache must not make a build differ from a cold one.
    execFileSync(
      process.execPath,
      [
        nccCli,
        "build",
        entry,
        "-o",
        target,
        "--source-map",
        "--license",
        "licenses.txt",
        "--no-cache",
        "--quiet",
      ],
      {
        cwd: actionDir,
        stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, NODE_ENV: "production" },
      },
    );
  }
}

function listFiles(dir) {
  const files = [];
  const walk = (current) => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(relative(dir, path));
    }
  };
  walk(dir);
  return files;
}

/** Names of the files that differ between two builds, byte for byte; [] when identical. */
export function compareBuilds(expectedDir, actualDir) {
  const expected = listFiles(expectedDir);
  const actual = listFiles(actualDir);
  const differences = [];
  for (const file of new Set([...expected, ...actual])) {
    if (!expected.includes(file)) differences.push(`${file} (only in the new build)`);
    else if (!actual.includes(file))
      differences.push(`${file} (only in ${relative(process.cwd(), expectedDir)})`);
    else if (!readFileSync(join(expectedDir, file)).equals(readFileSync(join(actualDir, file))))
      differences.push(`${file} (content differs)`);
  }
  return differences;
}

const args = process.argv.slice(2);
if (args.includes("--check")) {
  const temp = mkdtempSync(join(tmpdir(), "seqpulse-action-dist-"));
  try {
    build(temp);
    const differences = statSync(committedDist, { throwIfNoEntry: false })
      ? compareBuilds(committedDist, temp)
      : ["action/dist is missing"];
    if (differences.length > 0) {
      console.error(
        `action/dist is not the build of the current sources:\n  ${differences.join("\n  ")}\nRun \`pnpm --filter @seqpulse/action build\` and commit action/dist.`,
      );
      process.exitCode = 1;
    } else {
      console.log("action/dist matches a fresh build.");
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
} else {
  const outIndex = args.indexOf("--out");
  build(outIndex >= 0 ? resolve(args[outIndex + 1] ?? "") : committedDist);
}
