#!/usr/bin/env node
// Bundles the CLI with esbuild into one self-contained file, dist/seqpulse.mjs: ESM with a shebang, for
// Node 20 or later, readable (not minified). `npx @seqpulse/cli@1`, or download the file and run it
// with node: nothing else to install.
//
//   node packages/cli/scripts/build.mjs              build into packages/cli/dist
//   node packages/cli/scripts/build.mjs --out DIR    build into DIR
//
// The bundle is not committed: `pnpm pack` / `pnpm publish` build it (prepack), and the tests build
// their own. It must hold only SeqPulse's own code: the build fails if anything from node_modules
// gets in (zod through a value import of @seqpulse/types…), as that is what makes a CLI slow to start.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build as esbuild } from "esbuild";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE_NAME = "seqpulse.mjs";

export async function build(outDir) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, BUNDLE_NAME);
  rmSync(outfile, { force: true });
  const result = await esbuild({
    absWorkingDir: packageDir,
    entryPoints: ["src/main.ts"],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    // package.json engines: Node 20 or later.
    target: "node20",
    banner: { js: "#!/usr/bin/env node" },
    treeShaking: true,
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  });
  const bundled = Object.values(result.metafile.outputs).flatMap((output) => Object.keys(output.inputs));
  const foreign = bundled.filter((input) => input.includes("node_modules"));
  if (foreign.length > 0) {
    throw new Error(
      `the CLI bundle must hold only SeqPulse's own code, but includes:\n  ${foreign.join("\n  ")}`,
    );
  }
  chmodSync(outfile, 0o755);
  return outfile;
}

const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outfile = await build(outIndex >= 0 ? resolve(args[outIndex + 1] ?? "") : join(packageDir, "dist"));
console.log(`built ${outfile}`);
