import * as core from "@actions/core";
import type { Toolkit } from "./toolkit.js";

/** The toolkit backed by `@actions/core`: the runner's workflow commands and files. */
export function coreToolkit(): Toolkit {
  return {
    getInput: (name) => core.getInput(name),
    setOutput: (name, value) => core.setOutput(name, value),
    saveState: (name, value) => core.saveState(name, value),
    getState: (name) => core.getState(name),
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    group: (name, run) => core.group(name, run),
    setSecret: (secret) => core.setSecret(secret),
    writeSummary: async (markdown) => {
      await core.summary.addRaw(markdown).write();
    },
  };
}
