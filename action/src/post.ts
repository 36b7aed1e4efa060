import { createSeqPulseClient } from "@seqpulse/client";
import { runStep } from "./failures.js";
import { runPost } from "./run-post.js";
import { runnerToolkit, setFailed } from "./runner-toolkit.js";

/** The action's post step, run when the job ends. */
export async function post(): Promise<void> {
  const outcome = await runStep(() =>
    runPost(runnerToolkit(), { env: process.env, createClient: createSeqPulseClient }),
  );
  if (outcome.failure) setFailed(outcome.failure);
}
