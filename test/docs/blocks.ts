import { existsSync, readdirSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";

/**
 * Shell blocks of the README files and how they are marked. The convention, one HTML comment on the
 * line right before the fence (invisible on GitHub):
 *
 *   <!-- excerpt: why -->        not meant to run as written (a usage synopsis, part of a longer
 *                                script); no check.
 *   <!-- runnable: <name> -->    runs as written; test/docs/readme.test.ts also runs every such
 *                                block of README.md, in order, as one bash session against a server.
 *   (no comment)                 runs as written.
 *
 * A block that runs as written passes `bash -n`, carries no usage syntax (`[--flag]`, `a|b`
 * choices, `<placeholder>`, `…`), and defines every variable it reads first: in the block, in an
 * earlier block of the same file (a reader follows a file in one terminal), by refusing to run
 * without it (`${VAR:?set VAR to …}`), with a default (`${VAR:-…}`, `${VAR:+…}`), or as one of the
 * variables every shell has (SHELL_VARIABLES).
 */

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** README.md, action/README.md and packages/<each>/README.md. */
export const README_FILES = [
  "README.md",
  "action/README.md",
  ...readdirSync(resolve(REPO_ROOT, "packages"))
    .map((name) => `packages/${name}/README.md`)
    .filter((file) => existsSync(resolve(REPO_ROOT, file))),
];

const SHELL_LANGUAGES = new Set(["sh", "bash", "shell", "zsh", "console"]);

export interface ShellBlock {
  /** `README.md:31`: the file and the line of the opening fence. */
  where: string;
  code: string;
  /** `excerpt`, `runnable: <name>`, or undefined for an unmarked block. */
  marker: string | undefined;
}

export function shellBlocks(file: string): ShellBlock[] {
  const path = resolve(REPO_ROOT, file);
  const lines = readFileSync(path, "utf8").split("\n");
  const blocks: ShellBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[index] ?? "");
    if (!open) continue;
    const fence = open[1] ?? "```";
    const close = lines.findIndex((line, at) => at > index && line.trimEnd() === fence);
    const end = close === -1 ? lines.length : close;
    if (SHELL_LANGUAGES.has(open[2] ?? "")) {
      const comment = /^<!--\s*(excerpt|runnable:\s*[\w-]+)\b.*-->\s*$/.exec(lines[index - 1] ?? "");
      blocks.push({
        where: `${relative(REPO_ROOT, path)}:${index + 1}`,
        code: lines.slice(index + 1, end).join("\n"),
        marker: comment?.[1]?.replace(/\s+/g, " "),
      });
    }
    index = end;
  }
  return blocks;
}

/** Variables a block may read without defining them: every shell has them. */
export const SHELL_VARIABLES = new Set(["HOME", "PATH", "PWD"]);

/** The block's code without comments and single-quoted strings, which the shell does not expand. */
function expandedText(code: string): string {
  return code
    .split("\n")
    .map((line) => line.replace(/'[^']*'/g, "''").replace(/(^|\s)#.*$/, "$1"))
    .join("\n");
}

/** Names a block assigns: `NAME=`, `export NAME=`, `read NAME`, `for NAME in`, `${NAME:?…}`, `${NAME:=…}`. */
export function assignedNames(code: string): Set<string> {
  const text = expandedText(code);
  const names = new Set<string>();
  for (const [, name = ""] of text.matchAll(/(?:^|[\s;&|(]|export\s+|local\s+)([A-Za-z_]\w*)=/gm))
    names.add(name);
  for (const [, name = ""] of text.matchAll(/\b(?:read(?:\s+-\w+)*|for)\s+([A-Za-z_]\w*)/g)) names.add(name);
  for (const [, name = ""] of text.matchAll(/\$\{([A-Za-z_]\w*):?[?=]/g)) names.add(name);
  return names;
}

/** Problems that keep a block from running as written, in reading order; empty when there are none. */
export function lintProblems(code: string, definedBefore: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  // Inside `${NAME:+word}`, word's own $NAME is only expanded when NAME is set.
  const text = expandedText(code).replace(
    /\$\{([A-Za-z_]\w*)(:?\+)([^}]*)\}/g,
    (_, name: string, operator: string, word: string) =>
      `\${${name}${operator}${word.replace(new RegExp(`\\$\\{?${name}\\b\\}?`, "g"), "")}}`,
  );
  // Placeholders hide in quoted strings too (`"deployment_id": "…"`), so this looks at the quotes.
  const withoutComments = code.replace(/(^|\s)#.*$/gm, "$1");
  const usage = /\[--?[\w-]+[^\]]*\]|\s<[a-z][\w …|-]*>|…/.exec(withoutComments);
  if (usage) problems.push(`usage syntax or a placeholder: "${usage[0].trim()}"`);
  const defined = new Set(definedBefore);
  for (const [line, content] of text.split("\n").entries()) {
    for (const match of content.matchAll(/\$\{([A-Za-z_]\w*)(:?[-+?=])?|\$([A-Za-z_]\w*)/g)) {
      const name = match[1] ?? match[3] ?? "";
      const guarded = match[2] !== undefined;
      if (!guarded && !defined.has(name) && !SHELL_VARIABLES.has(name)) {
        problems.push(`line ${line + 1}: $${name} is used before it is defined`);
      }
      if (match[2] === "?" || match[2] === ":?" || match[2] === "=" || match[2] === ":=") defined.add(name);
    }
    for (const name of assignedNames(content)) defined.add(name);
  }
  return problems;
}
