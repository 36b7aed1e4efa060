import * as core from "@actions/core";
import { createSeqPulseClient } from "@seqpulse/client";
import { coreToolkit } from "./core-toolkit.js";
import { runStep } from "./failures.js";
import { runPost } from "./run-post.js";

/** The action's post step, run when the job ends. */
export async function post(): Promise<void> {
  const outcome = await runStep(() =>
    runPost(coreToolkit(), { env: process.env, createClient: createSeqPulseClient }),
  );
  if (outcome.failure) core.setFailed(outcome.failure);
}
