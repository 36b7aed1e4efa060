/** A mistake in how the command was called: exit code 2, with a message that names the flag. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface FlagSpec {
  /** Without the leading dashes: `env` for `--env`. */
  name: string;
  /** `value`: takes a value (`--env production` or `--env=production`); `switch`: takes none. */
  kind: "value" | "switch";
  /** What the value is, for help and messages: "an environment name". */
  expects?: string;
  /** Read when the flag is not given. */
  env?: string;
  description: string;
}

export interface ParsedArgs {
  /** Flag name → its value (`true` for a switch). The last occurrence wins. */
  flags: Map<string, string | true>;
  /** Everything after `--`, untouched; undefined when there was no `--`. */
  rest: string[] | undefined;
}

/**
 * Parses `--name value`, `--name=value` and switches. Anything else (a positional argument, an unknown
 * flag, a switch given a value, a value flag without one) is a UsageError that says what to do.
 */
export function parseArgs(command: string, argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const flags = new Map<string, string | true>();
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (arg === "--") return { flags, rest: argv.slice(index + 1) };
    if (!arg.startsWith("--") || arg === "--=") {
      throw new UsageError(
        `unexpected argument ${JSON.stringify(arg)}; flags start with --${command === "run" ? ", and the deploy command comes after --: seqpulse run [flags] -- ./deploy.sh" : ""}`,
      );
    }
    const equals = arg.indexOf("=");
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const inline = equals === -1 ? undefined : arg.slice(equals + 1);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(unknownFlagMessage(command, name, specs));
    if (spec.kind === "switch") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value (got --${name}=${inline})`);
      flags.set(name, true);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[index + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new UsageError(`--${name} needs a value: ${spec.expects ?? "a value"}`);
      }
      value = next;
      index++;
    }
    flags.set(name, value);
  }
  return { flags, rest: undefined };
}

function unknownFlagMessage(command: string, name: string, specs: readonly FlagSpec[]): string {
  const nearest = closest(
    name,
    specs.map((spec) => spec.name),
  );
  return `unknown flag --${name}${nearest ? `; did you mean --${nearest}?` : ""} (seqpulse ${command} --help lists the flags)`;
}

/** The candidate nearest to `input` by edit distance, when it is near enough to be a likely typo. */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(input, candidate);
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  if (!best) return undefined;
  // Two edits, or a third of the word for long ones: "--evn" → "--env", "--fail-on-eror" → "--fail-on-error".
  const allowed = Math.max(2, Math.floor(best.candidate.length / 3));
  return best.distance <= allowed ? best.candidate : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, at(i - 2, j - 2) + 1);
      }
      (d[i] as number[])[j] = value;
    }
  }
  return at(a.length, b.length);
}
