import {
  SeqPulseApiError,
  SeqPulseError,
  SeqPulseResponseError,
  SeqPulseUnavailableError,
} from "@seqpulse/client";
import { INPUT } from "./constants.js";
import { InputError } from "./inputs.js";
import type { StepOutcome, Toolkit } from "./toolkit.js";

/** The HTTP status an error came with, if any. */
export function errorStatus(error: unknown): number | undefined {
  if (
    error instanceof SeqPulseApiError ||
    error instanceof SeqPulseResponseError ||
    error instanceof SeqPulseUnavailableError
  ) {
    return error.status;
  }
  return undefined;
}

/**
 * SeqPulse trouble (unreachable, refusing, answering nonsense) fails the step only with
 * fail-on-error: true; otherwise it is a warning annotation and the job goes on. Anything else is rethrown.
 */
export function handleSeqPulseError(error: unknown, failOnError: boolean, toolkit: Toolkit): StepOutcome {
  if (!(error instanceof SeqPulseError)) throw error;
  if (failOnError) return { failure: error.message };
  toolkit.warning(`${error.message}\nThe job goes on because ${INPUT.failOnError} is false.`);
  return {};
}

/** What went wrong with a finish call, in a line for the job summary: not every failure is an outage. */
export function describeFinishFailure(error: unknown): string {
  if (error instanceof SeqPulseApiError) {
    return `⚠️ SeqPulse refused to finish this deployment (${error.status} ${error.code}); see the step log.`;
  }
  if (error instanceof SeqPulseResponseError) {
    return `⚠️ The answer to the finish call (HTTP ${error.status}) was not SeqPulse's: check ${INPUT.apiUrl}; see the step log.`;
  }
  if (error instanceof SeqPulseUnavailableError) {
    const what =
      error.status === undefined
        ? "SeqPulse could not be reached to finish this deployment"
        : `SeqPulse kept answering ${error.status} to the finish call`;
    return `⚠️ ${what}, so it may still be running (SeqPulse abandons it after its running timeout); see the step log.`;
  }
  return "⚠️ The deployment could not be finished; see the step log.";
}

/** Runs a step function; input mistakes and unexpected errors become a failure message. */
export async function runStep(step: () => Promise<StepOutcome>): Promise<StepOutcome> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof InputError) return { failure: error.message };
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return {
      failure: `SeqPulse action failed unexpectedly; please report this: ${detail}`,
    };
  }
}
