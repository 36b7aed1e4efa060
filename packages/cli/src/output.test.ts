import { describe, expect, it } from "vitest";
import type { LogDialect } from "./ci.js";
import { createReporter } from "./output.js";

function capture(dialect: LogDialect, json = false) {
  const out: string[] = [];
  const err: string[] = [];
  const reporter = createReporter(
    dialect,
    json,
    { stdout: (text) => out.push(text), stderr: (text) => err.push(text) },
    () => 1_700_000_000_000,
  );
  return { reporter, out, err };
}

describe("createReporter", () => {
  it("GitHub: warnings and errors are workflow commands with the data escaped, groups ::group::", async () => {
    const { reporter, out, err } = capture("github");
    reporter.warning("50% slower\nsee the link");
    reporter.error("gate failed");
    await reporter.group("SeqPulse: wait", async () => reporter.info("polling"));
    expect(err).toEqual(["::warning::50%25 slower%0Asee the link\n", "::error::gate failed\n"]);
    expect(out).toEqual(["::group::SeqPulse: wait\n", "polling\n", "::endgroup::\n"]);
  });

  it("GitLab: collapsible sections with start and end markers, coloured warnings", async () => {
    const { reporter, out, err } = capture("gitlab");
    await reporter.group("SeqPulse: wait", async () => reporter.info("polling"));
    expect(out).toEqual([
      "\x1b[0Ksection_start:1700000000:seqpulse_1[collapsed=false]\r\x1b[0KSeqPulse: wait\n",
      "polling\n",
      "\x1b[0Ksection_end:1700000000:seqpulse_1\r\x1b[0K\n",
    ]);
    reporter.warning("slow");
    expect(err).toEqual(["\x1b[33;1mWARNING:\x1b[0m slow\n"]);
  });

  it("Azure: logissue commands with its own escapes, and ##[group]", async () => {
    const { reporter, out, err } = capture("azure");
    reporter.warning("100%\nnext");
    await reporter.group("wait", async () => {});
    expect(err).toEqual(["##vso[task.logissue type=warning]100%AZP25%0Anext\n"]);
    expect(out).toEqual(["##[group]wait\n", "##[endgroup]\n"]);
  });

  it("plain: WARNING/ERROR prefixes on stderr; with --json, progress goes to stderr too", () => {
    const { reporter, out, err } = capture("plain", true);
    reporter.info("triggering");
    reporter.warning("down");
    expect(out).toEqual([]);
    expect(err).toEqual(["triggering\n", "WARNING: down\n"]);
  });
});
