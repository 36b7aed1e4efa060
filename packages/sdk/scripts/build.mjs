// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with its own type declarations.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(join(packageDir, "dist"), { recursive: true, force: true });
for (const config of ["tsconfig.build.json", "tsconfig.build-cjs.json"]) {
  execFileSync(process.execPath, [tsc, "-p", join(packageDir, config)], { stdio: "inherit" });
}
// The package is "type": "module"; this marks the CommonJS half as such, for Node and for TypeScript.
mkdirSync(join(packageDir, "dist/cjs"), { recursive: true });
writeFileSync(join(packageDir, "dist/cjs/package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);
