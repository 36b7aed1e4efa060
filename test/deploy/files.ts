import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DockerfileParser, type Instruction, ModifiableInstruction } from "dockerfile-ast";
import { parse as parseYaml } from "yaml";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

export const readRepoFile = (path: string) => readFileSync(resolve(REPO_ROOT, path), "utf8");

export interface Stage {
  name: string;
  /** The image or earlier stage it starts from, with the Dockerfile's ARG defaults filled in. */
  base: string;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text = readRepoFile("Dockerfile")): ParsedDockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArguments().map((argument) => argument.getValue());
    if (keyword === "FROM") {
      const [image = "", as, name] = args;
      const base = image.replace(/\$\{(\w+)\}/g, (_, variable: string) => globalArgs.get(variable) ?? "");
      stages.push({
        name: as?.toUpperCase() === "AS" && name ? name : `#${stages.length}`,
        base,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (keyword === "ARG") {
        const [name = "", value = ""] = (args[0] ?? "").split(/=(.*)/s);
        globalArgs.set(name, value);
      }
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

export function stage(dockerfile: ParsedDockerfile, name: string): Stage {
  const found = dockerfile.stages.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`the Dockerfile has no stage "${name}"`);
  return found;
}

/** The stage and the stages it builds on, nearest first: what `docker build --target` gives. */
export function stageChain(dockerfile: ParsedDockerfile, name: string): Stage[] {
  const chain = [stage(dockerfile, name)];
  for (;;) {
    const parent = dockerfile.stages.find((candidate) => candidate.name === chain.at(-1)?.base);
    if (!parent) return chain;
    chain.push(parent);
  }
}

/** Instructions of a stage including those it inherits, in build order. */
export function effectiveInstructions(dockerfile: ParsedDockerfile, name: string): Instruction[] {
  return stageChain(dockerfile, name)
    .reverse()
    .flatMap((each) => each.instructions);
}

export const ofKeyword = (instructions: Instruction[], keyword: string) =>
  instructions.filter((instruction) => instruction.getKeyword() === keyword);

export const flagValue = (instruction: Instruction, flag: string): string | undefined =>
  instruction instanceof ModifiableInstruction
    ? (instruction
        .getFlags()
        .find((each) => each.getName() === flag)
        ?.getValue() ?? undefined)
    : undefined;

/** The JSON array of an exec-form instruction (CMD, ENTRYPOINT, HEALTHCHECK CMD). */
export function execForm(instruction: Instruction | undefined): string[] {
  if (!instruction) throw new Error("no such instruction");
  const raw = instruction.getRawArgumentsContent() ?? "";
  return JSON.parse(raw.slice(raw.indexOf("[")));
}

/** `key="value"` pairs of LABEL or ENV instructions. */
export function keyValues(instructions: Instruction[]): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const instruction of instructions) {
    const raw = (instruction.getRawArgumentsContent() ?? "").replace(/\\\n/g, " ");
    for (const match of raw.matchAll(/([\w.-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)) {
      pairs.set(match[1] ?? "", match[2] ?? match[3] ?? "");
    }
  }
  return pairs;
}

/**
 * Whether the build context leaves `path` out under .dockerignore's rules: `*` and `?` within a path
 * segment, `**` across segments, a match on a folder covers everything in it, and a later `!pattern`
 * takes a path back in.
 */
export function dockerIgnores(path: string, ignoreFile = readRepoFile(".dockerignore")): boolean {
  const rules = ignoreFile
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, "");
      return { negated, regex: globToRegex(pattern) };
    });
  const segments = path.replace(/^\.?\/+|\/+$/g, "").split("/");
  const ancestorsAndSelf = segments.map((_, index) => segments.slice(0, index + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    if (ancestorsAndSelf.some((candidate) => rule.regex.test(candidate))) ignored = !rule.negated;
  }
  return ignored;
}

function globToRegex(pattern: string): RegExp {
  let source = "";
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] ?? "";
    if (pattern.startsWith("**/", index)) {
      source += "(?:.*/)?";
      index += 2;
    } else if (pattern.startsWith("**", index)) {
      source += ".*";
      index += 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

export interface ComposeService {
  image?: string;
  build?: { context?: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  volumes?: string[];
  ports?: string[];
  restart?: string;
  stop_grace_period?: string;
  healthcheck?: { test?: string[]; disable?: boolean; start_period?: string; interval?: string };
  depends_on?: Record<string, { condition: string }>;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** compose.yaml with its anchors and `<<` merges resolved, as Compose reads it. */
export function readCompose(): ComposeFile {
  return parseYaml(readRepoFile("compose.yaml"), { merge: true });
}

export const envFilesOf = (service: ComposeService): string[] =>
  service.env_file === undefined ? [] : [service.env_file].flat();

/** KEY=value lines of an env file; comments and blank lines skipped. */
export function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1] ?? "", match[2] ?? "");
  }
  return values;
}

/** Seconds of a Compose duration such as `30s`, `1m30s`. */
export function durationSeconds(duration: string): number {
  let seconds = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+)(h|m|s)/g)) {
    seconds += Number(amount) * (unit === "h" ? 3600 : unit === "m" ? 60 : 1);
  }
  return seconds;
}
