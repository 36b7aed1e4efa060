import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DEFAULTS, INPUT, OUTPUT } from "../src/constants.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface ActionYml {
  inputs: Record<string, { required?: boolean; default?: string; description: string }>;
  outputs: Record<string, { description: string }>;
  runs: Record<string, string>;
  branding: Record<string, string>;
}

const actionYml = parse(readFileSync(resolve(repoRoot, "action.yml"), "utf8")) as ActionYml;

describe("action.yml", () => {
  it("declares exactly the inputs and outputs of the constants module", () => {
    expect(Object.keys(actionYml.inputs).sort()).toEqual(Object.values(INPUT).sort());
    expect(Object.keys(actionYml.outputs).sort()).toEqual(Object.values(OUTPUT).sort());
    for (const [name, input] of Object.entries(actionYml.inputs)) {
      expect(input.description, name).toBeTruthy();
      expect(input.description, `${name}: no expressions in descriptions`).not.toContain("${{");
    }
  });

  it("shows the defaults the code applies", () => {
    const defaults = Object.fromEntries(
      Object.entries(actionYml.inputs).map(([name, input]) => [name, input.default]),
    );
    expect(defaults).toMatchObject({
      [INPUT.apiUrl]: DEFAULTS.apiUrl,
      [INPUT.env]: DEFAULTS.env,
      [INPUT.mode]: DEFAULTS.mode,
      [INPUT.autoFinish]: String(DEFAULTS.autoFinish),
      [INPUT.waitForVerdict]: String(DEFAULTS.waitForVerdict),
      [INPUT.failOn]: DEFAULTS.failOn,
      [INPUT.verdictTimeoutSeconds]: String(DEFAULTS.verdictTimeoutSeconds),
      [INPUT.failOnError]: String(DEFAULTS.failOnError),
      // Evaluated again for the post step: the job's status when it ends.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JS template
      [INPUT.jobStatus]: "${{ job.status }}",
    });
    expect(actionYml.inputs[INPUT.apiKey]?.required).toBe(true);
  });

  it("runs the bundles on node24 with an always-run post step", () => {
    expect(actionYml.runs).toEqual({
      using: "node24",
      main: "action/dist/main/index.js",
      post: "action/dist/post/index.js",
      "post-if": "always()",
    });
    expect(actionYml.branding).toMatchObject({ icon: expect.any(String), color: expect.any(String) });
  });
});
