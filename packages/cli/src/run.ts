import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import type { PipelineResult } from "@seqpulse/client";
import { UsageError } from "./args.js";
import {
  type CommandContext,
  EXIT,
  finishDeployment,
  gate,
  shouldGate,
  triggerDeployment,
} from "./commands.js";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM"] as const;
type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

interface CommandOutcome {
  /** As a shell reports it: the exit code, or 128 + n when ended by signal n; 127 when it could not start. */
  exitCode: number;
  result: PipelineResult;
  /** Why, for messages: "exited with 3", "ended by SIGTERM". */
  description: string;
}

/**
 * From creation to `dispose()`, SIGINT and SIGTERM (a CI cancelling the job) do not end this process:
 * they are recorded and passed on to the deploy command while it runs, so that the deployment can
 * still be finished as cancelled.
 */
class SignalRelay {
  received: ForwardedSignal | undefined;
  private child: ChildProcess | undefined;
  private readonly handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      this.received = signal;
      const child = this.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });

  attach(child: ChildProcess | undefined): void {
    this.child = child;
  }

  dispose(): void {
    for (const remove of this.handlers) remove();
  }
}

function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** Runs the deploy command with this process's stdin, stdout and stderr, and says how it ended. */
function runDeployCommand(command: readonly string[], relay: SignalRelay): Promise<CommandOutcome> {
  const [file, ...args] = command as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: "inherit" });
    relay.attach(child);
    const done = (outcome: CommandOutcome) => {
      relay.attach(undefined);
      resolve(outcome);
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      done({
        exitCode: error.code === "ENOENT" ? 127 : 126,
        result: "failed",
        description: `could not be started (${error.code ?? error.message}: ${file})`,
      });
    });
    child.once("exit", (code, signal) => {
      if (signal) {
        const cancelled = signal === "SIGINT" || signal === "SIGTERM" || relay.received !== undefined;
        done({
          exitCode: signalExitCode(signal),
          result: cancelled ? "cancelled" : "failed",
          description: `was ended by ${signal}`,
        });
        return;
      }
      done({
        // A command that stops cleanly on SIGTERM still ends a cancelled job: not with 0.
        exitCode: relay.received && code === 0 ? signalExitCode(relay.received) : (code ?? 1),
        result: relay.received ? "cancelled" : code === 0 ? "success" : "failed",
        description: relay.received ? `exited with ${code} after ${relay.received}` : `exited with ${code}`,
      });
    });
  });
}

/**
 * trigger → deploy command → finish with its result → optionally wait and gate. Exits with the command's
 * status when it failed, else with the gate's (or 3 for SeqPulse trouble with --fail-on-error).
 */
export async function run(ctx: CommandContext, command: readonly string[] | undefined): Promise<number> {
  if (!command || command.length === 0) {
    throw new UsageError(
      "the deploy command is missing: put it after --, e.g. seqpulse run --env production -- ./deploy.sh",
    );
  }
  // Signals are held from the trigger to the finish; during the wait for the verdict that may follow,
  // the deployment is finished and a cancelled job may end this process at once.
  const relay = new SignalRelay();
  let outcome: number | { gateOn: string };
  try {
    outcome = await triggerRunFinish(ctx, command, relay);
  } finally {
    relay.dispose();
  }
  return typeof outcome === "number" ? outcome : gate(ctx, outcome.gateOn);
}

/** Resolves to the exit code, or to the deployment to gate on. */
async function triggerRunFinish(
  ctx: CommandContext,
  command: readonly string[],
  relay: SignalRelay,
): Promise<number | { gateOn: string }> {
  const { reporter, settings } = ctx;
  const triggered = await triggerDeployment(ctx);
  if ("exitCode" in triggered && triggered.exitCode !== EXIT.ok) {
    reporter.error("SeqPulse: the deploy command was not run because --fail-on-error is on.");
    return triggered.exitCode;
  }

  let outcome: CommandOutcome;
  if (relay.received) {
    // Cancelled while the trigger was under way: the deploy never starts.
    outcome = {
      exitCode: signalExitCode(relay.received),
      result: "cancelled",
      description: `was not started (${relay.received} received)`,
    };
  } else {
    // The command line may pass the key on (./deploy.sh "$SEQPULSE_API_KEY"): it is not echoed.
    reporter.info(`SeqPulse: running ${command.join(" ").replaceAll(settings.apiKey, "[redacted]")}`);
    outcome = await runDeployCommand(command, relay);
  }
  ctx.output.command_exit_code = outcome.exitCode;
  ctx.output.result = outcome.result;
  reporter.info(`SeqPulse: the deploy command ${outcome.description}: result ${outcome.result}`);
  if (!("data" in triggered)) return outcome.exitCode;
  if (triggered.data.state !== "running") {
    // A retried job: its key gave back the deployment of the first try, which is over.
    reporter.warning(
      `SeqPulse: deployment #${triggered.data.deployment_number} of this idempotency key was already ${triggered.data.state} before this run, so this deploy is not verified; run a new pipeline (or pass a new --idempotency-key) to verify it`,
    );
    return outcome.exitCode;
  }

  const finished = await finishDeployment(
    ctx,
    { by: "id", id: triggered.data.deployment_id },
    outcome.result,
  );
  if (outcome.exitCode !== EXIT.ok) return outcome.exitCode;
  if ("exitCode" in finished) return finished.exitCode;
  if (!settings.wait || !shouldGate(outcome.result)) return EXIT.ok;
  return { gateOn: finished.data.deployment_id };
}
