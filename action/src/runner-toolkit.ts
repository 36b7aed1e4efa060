import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import { EOL } from "node:os";
import type { Env } from "./github-context.js";
import type { Toolkit } from "./toolkit.js";

/**
 * The toolkit backed by the runner itself: inputs and state from INPUT_* and STATE_* variables, workflow
 * commands (`::warning::…`) on stdout, outputs, state and the job summary appended to the files the runner
 * names in GITHUB_OUTPUT, GITHUB_STATE and GITHUB_STEP_SUMMARY. It follows `@actions/core`, which the
 * action used before: that package's HTTP client (undici) made up two thirds of the bundle and most of
 * its start time, for features (OIDC tokens, proxies) the action never used.
 */
export function runnerToolkit(env: Env = process.env, write: (text: string) => void = writeStdout): Toolkit {
  const command = (name: string, message: string, properties: Record<string, string> = {}) => {
    const listed = Object.entries(properties)
      .map(([key, value]) => `${key}=${escapeProperty(value)}`)
      .join(",");
    write(`::${name}${listed ? ` ${listed}` : ""}::${escapeData(message)}${EOL}`);
  };
  /** Outputs and state: a file command when the runner gives the file, the older stdout command otherwise. */
  const keyValue = (file: "GITHUB_OUTPUT" | "GITHUB_STATE", legacy: string, name: string, value: string) => {
    const path = env[file];
    if (path) appendFileSync(path, `${fileCommand(name, value)}${EOL}`, "utf8");
    else command(legacy, value, { name });
  };
  return {
    // The runner's naming: INPUT_ + the name uppercased, spaces as underscores, hyphens kept.
    getInput: (name) => (env[`INPUT_${name.replaceAll(" ", "_").toUpperCase()}`] ?? "").trim(),
    setOutput: (name, value) => keyValue("GITHUB_OUTPUT", "set-output", name, value),
    saveState: (name, value) => keyValue("GITHUB_STATE", "save-state", name, value),
    getState: (name) => env[`STATE_${name}`] ?? "",
    info: (message) => write(`${message}${EOL}`),
    warning: (message) => command("warning", message),
    group: async (name, run) => {
      command("group", name);
      try {
        return await run();
      } finally {
        command("endgroup", "");
      }
    },
    setSecret: (secret) => command("add-mask", secret),
    writeSummary: async (markdown) => {
      const path = env.GITHUB_STEP_SUMMARY;
      if (!path) {
        throw new Error(
          "Unable to find environment variable for $GITHUB_STEP_SUMMARY. Check if your runtime environment supports job summaries.",
        );
      }
      appendFileSync(path, markdown, "utf8");
    },
  };
}

/** Fails the step: exit code 1 once the step ends, and the message as an error annotation. */
export function setFailed(message: string, write: (text: string) => void = writeStdout): void {
  process.exitCode = 1;
  write(`::error::${escapeData(message)}${EOL}`);
}

function writeStdout(text: string): void {
  process.stdout.write(text);
}

/**
 * `name<<delimiter`, the value, the delimiter: the runner's format for values over several lines. The
 * delimiter is random, so a value cannot end the block early and smuggle in another output.
 */
function fileCommand(name: string, value: string): string {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}`;
}

function escapeData(text: string): string {
  return text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}
