#!/usr/bin/env node
// Builds the published package into dist/: JavaScript and type declarations from src/ (tests and the
// test support left out), with the contract's types written out in dist/contract.d.ts.
//
// Inside the workspace the package is used as TypeScript source (package.json "exports"); `pnpm pack` and
// `pnpm publish` run this build (prepack) and publish dist/ ("publishConfig"). @seqpulse/types is not
// published: the client imports only types from it, so the JavaScript never loads it (nor zod), and the
// types it uses are expanded here from the zod schemas into plain declarations, so the package needs no
// dependency at all.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const CONTRACT_PACKAGE = "@seqpulse/types";
const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const distDir = join(packageDir, "dist");
const contractFile = join(distDir, "contract.d.ts");

function fail(message) {
  console.error(`@seqpulse/client build: ${message}`);
  process.exit(1);
}

function report(diagnostics) {
  if (diagnostics.length === 0) return;
  const host = {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => packageDir,
    getNewLine: () => "\n",
  };
  fail(`\n${ts.formatDiagnosticsWithColorAndContext(diagnostics, host)}`);
}

function listFiles(dir, suffix) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

rmSync(distDir, { recursive: true, force: true });
const config = ts.getParsedCommandLineOfConfigFile(
  join(packageDir, "tsconfig.build.json"),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => report([diagnostic]),
  },
);
report(config.errors);
const program = ts.createProgram(config.fileNames, config.options);
report(ts.getPreEmitDiagnostics(program));
report(program.emit().diagnostics);

// The contract's types the client names, expanded: `{ deployment_id: string; … }` instead of
// `z.infer<typeof TriggerResponse>`.
const checker = program.getTypeChecker();
const contract = new Map();
for (const source of program.getSourceFiles()) {
  if (!config.fileNames.includes(source.fileName)) continue;
  for (const statement of source.statements) {
    const isContract =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier) &&
      statement.moduleSpecifier.text === CONTRACT_PACKAGE;
    if (!isContract) continue;
    const typeOnly = ts.isImportDeclaration(statement)
      ? statement.importClause?.isTypeOnly
      : statement.isTypeOnly;
    if (!typeOnly) {
      fail(
        `${relative(packageDir, source.fileName)} must use \`import type\` / \`export type\` from ${CONTRACT_PACKAGE}: its values (zod schemas) are not published`,
      );
    }
    const moduleSymbol = checker.getSymbolAtLocation(statement.moduleSpecifier);
    const elements = ts.isImportDeclaration(statement)
      ? (statement.importClause?.namedBindings?.elements ?? [])
      : (statement.exportClause?.elements ?? []);
    for (const element of elements) {
      const name = (element.propertyName ?? element.name).text;
      const exported = checker.getExportsOfModule(moduleSymbol).find((symbol) => symbol.name === name);
      if (!exported) fail(`${CONTRACT_PACKAGE} has no export ${name}`);
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      contract.set(name, checker.getDeclaredTypeOfSymbol(symbol));
    }
  }
}

const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
const scratch = ts.createSourceFile("contract.d.ts", "", ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
const flags =
  ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias | ts.NodeBuilderFlags.IgnoreErrors;
const declarations = [...contract.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([name, type]) => {
    const node = checker.typeToTypeNode(type, undefined, flags);
    // The node builder marks object types single-line; one member per line reads better.
    const multiline = (child) => {
      ts.setEmitFlags(child, ts.EmitFlags.None);
      ts.forEachChild(child, multiline);
    };
    multiline(node);
    return `export type ${name} = ${printer.printNode(ts.EmitHint.Unspecified, node, scratch)};`;
  });
writeFileSync(
  contractFile,
  [
    `// The SeqPulse REST contract's types, written out by scripts/build.mjs from ${CONTRACT_PACKAGE} (zod schemas).`,
    ...declarations,
    "",
  ].join("\n"),
);

for (const file of listFiles(distDir, ".d.ts")) {
  if (file === contractFile) continue;
  let specifier = relative(dirname(file), contractFile).replace(/\.d\.ts$/, ".js");
  if (!specifier.startsWith(".")) specifier = `./${specifier}`;
  const text = readFileSync(file, "utf8");
  writeFileSync(file, text.replaceAll(`from "${CONTRACT_PACKAGE}"`, `from "${specifier}"`));
}

// What is published must stand alone: no import of the unpublished contract package or of zod.
const foreignImport = /\bfrom\s*["'](?:zod|@seqpulse\/types)(?:\/[^"']*)?["']|\bimport\(\s*["'](?!node:)/;
for (const file of [...listFiles(distDir, ".js"), ...listFiles(distDir, ".d.ts")]) {
  const found = foreignImport.exec(readFileSync(file, "utf8"));
  if (found) fail(`${relative(packageDir, file)} still imports a package that is not published: ${found[0]}`);
}
const declarationsOnly = ts.createProgram([join(distDir, "index.d.ts")], {
  ...config.options,
  noEmit: true,
  skipLibCheck: false,
});
report(ts.getPreEmitDiagnostics(declarationsOnly));
