import { appendFileSync } from "node:fs";
import { UsageError } from "./args.js";
import type { LogDialect } from "./ci.js";

export interface Streams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processStreams: Streams = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * What the CLI tells people and scripts. Progress and results for people go to stdout, or to stderr with
 * --json so that stdout holds the one JSON document and nothing else; warnings and errors go to stderr,
 * as the CI's own annotations where it has them (GitHub and Azure read them from either stream).
 */
export interface Reporter {
  info(text: string): void;
  warning(text: string): void;
  error(text: string): void;
  /** Runs `body` inside a collapsible section of the CI's log. */
  group<T>(title: string, body: () => Promise<T>): Promise<T>;
}

export function createReporter(
  dialect: LogDialect,
  json: boolean,
  streams: Streams,
  now = Date.now,
): Reporter {
  const human = json ? streams.stderr : streams.stdout;
  const lines = (text: string) => `${text.replace(/\n+$/, "")}\n`;
  let sections = 0;
  return {
    info: (text) => human(lines(text)),
    warning: (text) => streams.stderr(lines(annotate(dialect, "warning", text))),
    error: (text) => streams.stderr(lines(annotate(dialect, "error", text))),
    async group(title, body) {
      const name = `seqpulse_${++sections}`;
      const seconds = () => Math.floor(now() / 1000);
      switch (dialect) {
        case "github":
          human(`::group::${title}\n`);
          break;
        case "gitlab":
          human(`\x1b[0Ksection_start:${seconds()}:${name}[collapsed=false]\r\x1b[0K${title}\n`);
          break;
        case "azure":
          human(`##[group]${title}\n`);
          break;
        case "buildkite":
          human(`--- ${title}\n`);
          break;
        case "plain":
          human(`${title}\n`);
          break;
      }
      try {
        return await body();
      } finally {
        if (dialect === "github") human("::endgroup::\n");
        if (dialect === "gitlab") human(`\x1b[0Ksection_end:${seconds()}:${name}\r\x1b[0K\n`);
        if (dialect === "azure") human("##[endgroup]\n");
      }
    },
  };
}

function annotate(dialect: LogDialect, level: "warning" | "error", text: string): string {
  switch (dialect) {
    case "github":
      // Workflow command data: %, CR and LF are escaped so a multi-line message stays one annotation.
      return `::${level}::${text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A")}`;
    case "azure":
      return `##vso[task.logissue type=${level}]${text.replaceAll("%", "%AZP25").replaceAll("\r", "%0D").replaceAll("\n", "%0A")}`;
    case "gitlab":
      // GitLab has no annotations; its log shows ANSI colours.
      return `${level === "error" ? "\x1b[31;1mERROR" : "\x1b[33;1mWARNING"}:\x1b[0m ${text}`;
    default:
      return `${level === "error" ? "ERROR" : "WARNING"}: ${text}`;
  }
}

/**
 * Appends `NAME=value` lines to a dotenv file (a GitLab `artifacts: reports: dotenv`, `$GITHUB_ENV`,
 * a file a later shell step sources). Values are ids, numbers and enum words, never quoted.
 */
export function writeOutputEnv(file: string, values: Record<string, string | number | undefined>): void {
  const text = Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${value}\n`)
    .join("");
  try {
    appendFileSync(file, text);
  } catch (error) {
    throw new UsageError(
      `--output-env ${file} cannot be written (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}
