import { createSeqPulseClient, type RetryEvent, type SeqPulseClient } from "@seqpulse/client";
import cliPackage from "../package.json" with { type: "json" };
import { closest, parseArgs, UsageError } from "./args.js";
import { detectCi, type Env } from "./ci.js";
import { type CommandContext, EXIT, finish, type JsonResult, status, trigger, wait } from "./commands.js";
import { COMMAND_NAMES, type CommandName, commandHelp, flagSpecs, generalHelp } from "./flags.js";
import { createReporter, type Streams } from "./output.js";
import { createPendingClient } from "./pending-client.js";
import { run } from "./run.js";
import { readSettings, readTarget } from "./settings.js";

export const CLI_VERSION: string = cliPackage.version;

function isCommand(name: string): name is CommandName {
  return (COMMAND_NAMES as string[]).includes(name);
}

/** Runs one `seqpulse …` invocation; resolves to the exit code. */
export async function main(argv: readonly string[], env: Env, streams: Streams): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    streams.stderr(generalHelp(CLI_VERSION));
    return EXIT.usage;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    const topic = rest[0];
    streams.stdout(topic && isCommand(topic) ? commandHelp(topic) : generalHelp(CLI_VERSION));
    return EXIT.ok;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    streams.stdout(`${CLI_VERSION}\n`);
    return EXIT.ok;
  }
  if (!isCommand(first)) {
    const nearest = closest(first, COMMAND_NAMES);
    streams.stderr(
      `seqpulse: unknown command ${JSON.stringify(first)}${nearest ? `; did you mean ${nearest}?` : "."} Commands: ${COMMAND_NAMES.join(", ")} (seqpulse --help)\n`,
    );
    return EXIT.usage;
  }
  return runCommand(first, rest, env, streams);
}

async function runCommand(
  command: CommandName,
  argv: readonly string[],
  env: Env,
  streams: Streams,
): Promise<number> {
  const ci = detectCi(env);
  let json = false;
  const output: JsonResult = { command, exit_code: EXIT.ok };
  try {
    const args = parseArgs(command, argv, flagSpecs(command));
    if (args.flags.has("help")) {
      streams.stdout(commandHelp(command));
      return EXIT.ok;
    }
    if (args.rest !== undefined && command !== "run") {
      throw new UsageError("takes no command after --; did you mean seqpulse run?");
    }
    json = args.flags.get("json") === true;
    const settings = readSettings(args, env, ci);
    json = settings.json;
    const reporter = createReporter(ci.dialect, settings.json, streams);
    const retry = {
      attempts: settings.tuning.attempts,
      baseDelayMs: settings.tuning.baseDelayMs,
      maxDelayMs: settings.tuning.maxDelayMs,
    };
    const userAgent = `seqpulse-cli/${CLI_VERSION} node/${process.version}`;
    const onRetry = (event: RetryEvent) =>
      reporter.info(
        `SeqPulse: ${event.method} ${event.path} failed (${event.reason}); retrying in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt + 1} of ${event.attempts})`,
      );
    let client: SeqPulseClient;
    try {
      client = createSeqPulseClient({
        apiUrl: settings.apiUrl,
        apiKey: settings.apiKey,
        timeoutMs: settings.tuning.timeoutMs,
        retry,
        userAgent,
        onRetry,
      });
    } catch (error) {
      // The client's own checks of the URL and key; its messages never quote the key.
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    warnOnPlainHttp(client.apiUrl, reporter.warning);
    const pending = createPendingClient({
      apiUrl: client.apiUrl,
      apiKey: settings.apiKey,
      timeoutMs: settings.tuning.timeoutMs,
      retry,
      userAgent,
      onRetry,
    });
    const ctx: CommandContext = { settings, reporter, client, pending, ci, output };
    output.exit_code = await dispatch(command, ctx, args, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    streams.stderr(`seqpulse ${command}: ${error.message}\n`);
    output.exit_code = EXIT.usage;
    output.error = { name: "UsageError", message: error.message };
  }
  if (json) streams.stdout(`${JSON.stringify(output, null, 2)}\n`);
  return output.exit_code;
}

function dispatch(
  command: CommandName,
  ctx: CommandContext,
  args: ReturnType<typeof parseArgs>,
  env: Env,
): Promise<number> {
  switch (command) {
    case "trigger":
      return trigger(ctx);
    case "run":
      return run(ctx, args.rest);
    case "finish":
      return finish(ctx, readTarget(args, env, ctx.settings));
    case "wait":
      return wait(ctx, readTarget(args, env, ctx.settings));
    case "status":
      return status(ctx, readTarget(args, env, ctx.settings));
  }
}

/** Plain http:// sends the API key in clear text: fine on loopback, worth a warning elsewhere. */
function warnOnPlainHttp(apiUrl: string, warn: (text: string) => void): void {
  const url = new URL(apiUrl);
  const loopback =
    url.hostname === "localhost" || url.hostname === "[::1]" || url.hostname.startsWith("127.");
  if (url.protocol === "http:" && !loopback) {
    warn(
      `SeqPulse: the API URL ${url.origin} uses plain http://, so the API key travels unencrypted; use https://`,
    );
  }
}
