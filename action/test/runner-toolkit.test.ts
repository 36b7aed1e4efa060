import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { INPUT, OUTPUT, STATE } from "../src/constants.js";
import { runnerToolkit, setFailed } from "../src/runner-toolkit.js";

/** The runner's protocol, as GitHub documents it and `@actions/core` writes it. */
describe("runner toolkit", () => {
  let dir: string;
  let printed: string;
  const write = (text: string) => {
    printed += text;
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "seqpulse-toolkit-"));
    printed = "";
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function files() {
    const paths = {
      GITHUB_OUTPUT: join(dir, "output"),
      GITHUB_STATE: join(dir, "state"),
      GITHUB_STEP_SUMMARY: join(dir, "summary"),
    };
    await Promise.all(Object.values(paths).map((path) => writeFile(path, "")));
    return paths;
  }

  it("reads inputs by the runner's names, trimmed, and state saved by the main step", () => {
    const toolkit = runnerToolkit(
      { "INPUT_API-URL": "  https://seqpulse.example.com \n", "STATE_deployment-id": "abc" },
      write,
    );
    expect(toolkit.getInput(INPUT.apiUrl)).toBe("https://seqpulse.example.com");
    expect(toolkit.getInput(INPUT.env)).toBe("");
    expect(toolkit.getState(STATE.deploymentId)).toBe("abc");
    expect(toolkit.getState(STATE.env)).toBe("");
  });

  it("writes outputs and state as delimited blocks, so a value cannot smuggle in another output", async () => {
    const paths = await files();
    const toolkit = runnerToolkit(paths, write);
    toolkit.setOutput(OUTPUT.deploymentId, "7f8a3c1e");
    toolkit.setOutput(OUTPUT.status, "created\nhttp-status=500");
    toolkit.saveState(STATE.env, "production");

    const output = await readFile(paths.GITHUB_OUTPUT, "utf8");
    const blocks = [...output.matchAll(/^([^\n<]+)<<(ghadelimiter_[0-9a-f-]{36})\n([\s\S]*?)\n\2$/gm)];
    expect(blocks.map(([, name, , value]) => [name, value])).toEqual([
      ["deployment-id", "7f8a3c1e"],
      ["status", "created\nhttp-status=500"],
    ]);
    // Each block has its own random delimiter.
    expect(new Set(blocks.map(([, , delimiter]) => delimiter)).size).toBe(2);
    expect(await readFile(paths.GITHUB_STATE, "utf8")).toMatch(/^env<<(ghadelimiter_\S+)\nproduction\n\1\n$/);
    expect(printed).toBe("");
  });

  it("falls back to the stdout commands when the runner gives no files", () => {
    const toolkit = runnerToolkit({}, write);
    toolkit.setOutput(OUTPUT.verdict, "ok\n100%");
    toolkit.saveState(STATE.mode, "trigger");
    expect(printed).toBe("::set-output name=verdict::ok%0A100%25\n::save-state name=mode::trigger\n");
  });

  it("prints annotations, masks and groups as workflow commands, escaped to one line each", async () => {
    const toolkit = runnerToolkit({}, write);
    toolkit.setSecret("sp_secret\r\nkey");
    toolkit.info("plain line: 100 %");
    const failed = toolkit.group("SeqPulse: trigger", async () => {
      toolkit.warning("SeqPulse: first line\nsecond line");
      throw new Error("boom");
    });
    await expect(failed).rejects.toThrow("boom");
    expect(printed.split("\n")).toEqual([
      "::add-mask::sp_secret%0D%0Akey",
      "plain line: 100 %",
      "::group::SeqPulse: trigger",
      "::warning::SeqPulse: first line%0Asecond line",
      // The group is closed even when its work throws.
      "::endgroup::",
      "",
    ]);
  });

  it("appends to the job summary, and says so when the runner has none", async () => {
    const paths = await files();
    await runnerToolkit(paths, write).writeSummary("## one\n");
    await runnerToolkit(paths, write).writeSummary("## two\n");
    expect(await readFile(paths.GITHUB_STEP_SUMMARY, "utf8")).toBe("## one\n## two\n");
    await expect(runnerToolkit({}, write).writeSummary("x")).rejects.toThrow(
      "Unable to find environment variable for $GITHUB_STEP_SUMMARY",
    );
  });

  it("fails the step with exit code 1 and an error annotation", () => {
    const before = process.exitCode;
    try {
      setFailed("SeqPulse: invalid inputs:\n  - env", write);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = before;
    }
    expect(printed).toBe("::error::SeqPulse: invalid inputs:%0A  - env\n");
  });
});
