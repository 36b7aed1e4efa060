import { describe, expect, it } from "vitest";
import { closest, editDistance, parseArgs } from "./args.js";

describe("editDistance", () => {
  it.each([
    ["env", "env", 0],
    ["evn", "env", 1],
    ["fail-on-eror", "fail-on-error", 1],
    ["", "wait", 4],
    ["status", "stats", 1],
  ])("%s → %s: %i", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe("closest", () => {
  const flags = ["env", "api-url", "api-key", "fail-on", "fail-on-error", "deployment-id", "json"];
  it("suggests the nearest flag for a typo, and nothing for a word far from all", () => {
    expect(closest("evn", flags)).toBe("env");
    expect(closest("apikey", flags)).toBe("api-key");
    expect(closest("failonerror", flags)).toBe("fail-on-error");
    expect(closest("deploymentid", flags)).toBe("deployment-id");
    expect(closest("xyzzy", flags)).toBeUndefined();
    expect(closest("anything", [])).toBeUndefined();
  });
});

describe("parseArgs", () => {
  const specs = [
    { name: "env", kind: "value", description: "", expects: "an environment name" },
    { name: "json", kind: "switch", description: "" },
  ] as const;

  it("reads --flag value, --flag=value and switches; the last one wins; -- ends the flags", () => {
    const parsed = parseArgs(
      "run",
      ["--env", "staging", "--json", "--env=production", "--", "deploy", "--env", "x"],
      specs,
    );
    expect(Object.fromEntries(parsed.flags)).toEqual({ env: "production", json: true });
    expect(parsed.rest).toEqual(["deploy", "--env", "x"]);
  });

  it("keeps a value with = in it whole", () => {
    expect(parseArgs("trigger", ["--env=a=b"], specs).flags.get("env")).toBe("a=b");
  });
});
