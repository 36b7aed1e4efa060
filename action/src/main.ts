import * as core from "@actions/core";
import { createSeqPulseClient } from "@seqpulse/client";
import { coreToolkit } from "./core-toolkit.js";
import { runStep } from "./failures.js";
import { runMain } from "./run-main.js";

/** The action's main step. */
export async function run(): Promise<void> {
  const outcome = await runStep(() =>
    runMain(coreToolkit(), { env: process.env, createClient: createSeqPulseClient }),
  );
  if (outcome.failure) core.setFailed(outcome.failure);
}
