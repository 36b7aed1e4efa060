import type { InputName, OutputName, StateName } from "./constants.js";

/**
 * The small part of the runner's toolkit the action uses. The logic modules take it as a parameter,
 * so they never import `@actions/core`; tests pass a recording fixture.
 */
export interface Toolkit {
  /** The input's value, trimmed; "" when not set. */
  getInput(name: InputName): string;
  setOutput(name: OutputName, value: string): void;
  saveState(name: StateName, value: string): void;
  /** "" when not saved. */
  getState(name: StateName): string;
  info(message: string): void;
  /** A warning annotation. */
  warning(message: string): void;
  group<T>(name: string, run: () => Promise<T>): Promise<T>;
  setSecret(secret: string): void;
  /** Appends Markdown to the job summary; throws when the runner has no summary file. */
  writeSummary(markdown: string): Promise<void>;
}

/** What a step ends with: `failure` set means the step must fail with that message. */
export interface StepOutcome {
  failure?: string;
}
