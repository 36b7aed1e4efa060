#!/usr/bin/env node
// Bundles the action with esbuild into action/dist/{main,post}: one CommonJS file each, readable (not
// minified, so the committed bundle can be reviewed), with a package.json saying "type": "commonjs"
// beside it. CommonJS because a step is a process that starts for a call or two: an ES module's
// `import "node:http"` makes Node 22+ build the module's namespace, which reads its lazy WebSocket
// exports and so loads Node's whole fetch implementation (tens of milliseconds), and the ES module
// loader costs a few more; `require` does neither. No source map: loading one costs start time in
// every job, and the unminified bundle reads as is.
//
//   node action/scripts/build.mjs              build into action/dist
//   node action/scripts/build.mjs --out DIR    build into DIR (DIR/main, DIR/post)
//   node action/scripts/build.mjs --check      build into a temporary folder and fail if action/dist differs
//
// The bundle holds only SeqPulse's own code: the build fails if anything from node_modules gets in
// (zod through a value import of @seqpulse/types, a toolkit package…), as that is what made the action
// slow to start.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build as esbuild } from "esbuild";

const actionDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const committedDist = join(actionDir, "dist");
const entries = { main: "src/index.ts", post: "src/post-index.ts" };

export async function build(outDir) {
  for (const [name, entry] of Object.entries(entries)) {
    const target = join(outDir, name);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    const result = await esbuild({
      absWorkingDir: actionDir,
      entryPoints: [entry],
      outfile: join(target, "index.js"),
      bundle: true,
      platform: "node",
      format: "cjs",
      // The runtime action.yml declares (runs.using: node24).
      target: "node24",
      // @seqpulse/types declares "sideEffects": false, so only the modules used (numbers.ts) come in.
      treeShaking: true,
      legalComments: "none",
      metafile: true,
      logLevel: "warning",
    });
    // What ended up in the bundle (metafile.inputs also lists modules read and then shaken off).
    const bundled = Object.values(result.metafile.outputs).flatMap((output) => Object.keys(output.inputs));
    const foreign = bundled.filter((input) => input.includes("node_modules"));
    if (foreign.length > 0) {
      throw new Error(
        `the ${name} bundle must hold only SeqPulse's own code, but includes:\n  ${foreign.join("\n  ")}`,
      );
    }
    writeFileSync(join(target, "package.json"), `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);
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
    await build(temp);
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
  await build(outIndex >= 0 ? resolve(args[outIndex + 1] ?? "") : committedDist);
}
