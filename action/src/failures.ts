import {
  SeqPulseApiError,
  SeqPulseError,
  SeqPulseResponseError,
  SeqPulseUnavailableError,
} from "@seqpulse/client";
import { InputError } from "./inputs.js";
import type { StepOutcome, Toolkit } from "./toolkit.js";

/** The HTTP status an error came with, if any. */
export function errorStatus(error: unknown): number | undefined {
  if (error instanceof SeqPulseApiError || error instanceof SeqPulseResponseError) return error.status;
  if (error instanceof SeqPulseUnavailableError) return error.status;
  return undefined;
}

/**
 * SeqPulse trouble (unreachable, refusing, answering nonsense) fails the step only with
 * fail-on-error: true; otherwise it is a warning annotation and the job goes on. Anything else is rethrown.
 */
export function handleSeqPulseError(error: unknown, failOnError: boolean, toolkit: Toolkit): StepOutcome {
  if (!(error instanceof SeqPulseError)) throw error;
  if (failOnError) return { failure: error.message };
  toolkit.warning(`${error.message}\nThe job goes on because fail-on-error is false.`);
  return {};
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
