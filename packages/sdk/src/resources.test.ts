import { availableParallelism, totalmem } from "node:os";
import { describe, expect, it } from "vitest";
import { parseCpuMax, parseMemoryMax, parseSelfCgroup, readResourceLimits } from "./resources.js";
import { cgroupFixture } from "./test-support/support.js";

const GIB = 1024 ** 3;

describe("parseCpuMax", () => {
  it.each([
    ["max 100000\n", undefined],
    ["50000 100000\n", 0.5],
    ["200000 100000", 2],
    ["150000 50000", 3],
    ["", undefined],
    ["garbage 100000", undefined],
    ["0 100000", undefined],
  ])("%j -> %j cores", (content, cores) => {
    expect(parseCpuMax(content)).toBe(cores);
  });
});

describe("parseMemoryMax", () => {
  it.each([
    ["max\n", undefined],
    ["536870912\n", 536870912],
    ["", undefined],
    ["-1", undefined],
    ["12k", undefined],
  ])("%j -> %j bytes", (content, bytes) => {
    expect(parseMemoryMax(content)).toBe(bytes);
  });
});

describe("parseSelfCgroup", () => {
  it("reads the unified (0::) line, ignoring v1 controllers", () => {
    expect(parseSelfCgroup("12:pids:/x\n0::/system.slice/app.service\n")).toBe("/system.slice/app.service");
    expect(parseSelfCgroup("0::/\n")).toBe("/");
    expect(parseSelfCgroup("4:memory:/docker/abc\n")).toBeUndefined();
  });
});

describe("readResourceLimits", () => {
  it("takes a container's quota and memory limit", () => {
    expect(readResourceLimits(cgroupFixture("cgroup-container"))).toEqual({
      cores: 0.5,
      memoryBytes: 512 * 1024 * 1024,
    });
  });

  it("falls back to the machine when the cgroup is unlimited", () => {
    expect(readResourceLimits(cgroupFixture("cgroup-unlimited"))).toEqual({
      cores: availableParallelism(),
      memoryBytes: totalmem(),
    });
  });

  it("falls back to the machine without cgroup v2 files (cgroup v1, macOS)", () => {
    expect(readResourceLimits(cgroupFixture("cgroup-v1"))).toEqual({
      cores: availableParallelism(),
      memoryBytes: totalmem(),
    });
    expect(readResourceLimits({ root: "/nonexistent/cgroup", selfFile: "/nonexistent/self" })).toEqual({
      cores: availableParallelism(),
      memoryBytes: totalmem(),
    });
  });

  it("applies the tightest limit of the process's cgroup and its ancestors", () => {
    // app.service allows 1.5 cores and 2 GiB; its parent system.slice caps memory at 1 GiB.
    expect(readResourceLimits(cgroupFixture("cgroup-systemd"))).toEqual({
      cores: Math.min(1.5, availableParallelism()),
      memoryBytes: Math.min(GIB, totalmem()),
    });
  });
});
