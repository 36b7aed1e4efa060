import { createSeqPulseClient } from "@seqpulse/client";
import { runStep } from "./failures.js";
import { runMain } from "./run-main.js";
import { runnerToolkit, setFailed } from "./runner-toolkit.js";

/** The action's main step. */
export async function run(): Promise<void> {
  const outcome = await runStep(() =>
    runMain(runnerToolkit(), { env: process.env, createClient: createSeqPulseClient }),
  );
  if (outcome.failure) setFailed(outcome.failure);
}
