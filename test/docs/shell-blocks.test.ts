import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { assignedNames, lintProblems, README_FILES, shellBlocks } from "./blocks.js";

/**
 * Every shell block of the README files runs as pasted, or says it is an excerpt: the convention is
 * described at the top of test/docs/blocks.ts.
 */

const run = promisify(execFile);

async function bashSyntaxError(code: string): Promise<string | undefined> {
  try {
    await run("bash", ["-n", "-c", code]);
    return undefined;
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error).trim();
  }
}

describe.each(README_FILES)("shell blocks of %s", (file) => {
  const blocks = shellBlocks(file);

  it("each run as written or are marked as an excerpt", async () => {
    const defined = new Set<string>();
    const problems: string[] = [];
    for (const block of blocks) {
      if (block.marker === "excerpt") continue;
      const syntax = await bashSyntaxError(block.code);
      if (syntax) problems.push(`${block.where}: bash -n: ${syntax}`);
      for (const problem of lintProblems(block.code, defined)) problems.push(`${block.where}: ${problem}`);
      for (const name of assignedNames(block.code)) defined.add(name);
    }
    expect(problems).toEqual([]);
  });
});

describe("the shell block check", () => {
  it("finds the blocks of README.md and their markers", () => {
    const blocks = shellBlocks("README.md");
    expect(blocks.length).toBeGreaterThan(5);
    expect(blocks.some((block) => block.marker === "runnable: quick-start")).toBe(true);
  });

  it.each([
    ["a usage line", "pnpm seqpulse projects list [--json]", /usage syntax/],
    ["a choice", "seqpulse finish [--result success|failed]", /usage syntax/],
    ["an angle-bracket placeholder", "curl -H 'X: y' <url>", /usage syntax/],
    ["an ellipsis", 'curl -d \'{"deployment_id": "…"}\' "$HOME"', /usage syntax/],
    ["an undefined variable", 'curl "$SEQPULSE_URL/deployments"', /\$SEQPULSE_URL is used before/],
    ["a variable used before its line", 'echo "$KEY"\nKEY=1', /\$KEY is used before/],
  ])("refuses %s", (_, code, problem) => {
    expect(lintProblems(code, new Set()).join("\n")).toMatch(problem);
  });

  it.each([
    ["a variable defined above", 'KEY=$(cat key)\ncurl -H "X-API-Key: $KEY" "$HOME"'],
    ["a variable of an earlier block", 'curl "$SEQPULSE_URL/healthz"', new Set(["SEQPULSE_URL"])],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    ["a refusing placeholder", 'curl "${SEQPULSE_URL:?set SEQPULSE_URL}/healthz" "$SEQPULSE_URL"'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    ["a default and an optional flag", 'curl "${URL:-http://localhost:8080}" ${TOKEN:+-H "A: $TOKEN"}'],
    ["single quotes, which do not expand", "awk '{ print $1, $NAME }' file"],
    ["a test expression", 'if [ -n "$HOME" ]; then echo ok; fi'],
  ])("accepts %s", (_, code, defined = new Set<string>()) => {
    expect(lintProblems(code, defined)).toEqual([]);
  });
});
