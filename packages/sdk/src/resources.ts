import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";

/** What the process has used so far: CPU time (user + system) and resident memory. */
export interface ProcessStats {
  cpuMicros: number;
  rssBytes: number;
}

export function readProcessStats(): ProcessStats {
  const usage = process.cpuUsage();
  return { cpuMicros: usage.user + usage.system, rssBytes: process.memoryUsage.rss() };
}

/** Where the cgroup v2 limits are read; replaceable for tests. */
export interface CgroupLocation {
  /** Mount point of the cgroup v2 hierarchy. Default `/sys/fs/cgroup`. */
  root?: string;
  /** The file naming the process's cgroup (`0::/path`). Default `/proc/self/cgroup`. */
  selfFile?: string;
}

/** CPU and memory the process may use: the tightest cgroup v2 limits, else the machine's. */
export interface ResourceLimits {
  /** CPU cores, possibly fractional (`cpu.max` 50000 100000 is half a core). */
  cores: number;
  memoryBytes: number;
}

/**
 * `cpu.max` holds `<quota> <period>` in microseconds, or `max <period>` when unlimited.
 * Returns the cores it allows, or undefined when unlimited or unreadable.
 */
export function parseCpuMax(content: string): number | undefined {
  const [quota, period] = content.trim().split(/\s+/);
  if (quota === undefined || quota === "max") return undefined;
  const quotaMicros = Number(quota);
  const periodMicros = Number(period ?? "100000");
  if (!(quotaMicros > 0) || !(periodMicros > 0)) return undefined;
  return quotaMicros / periodMicros;
}

/** `memory.max` holds a byte count, or `max` when unlimited. */
export function parseMemoryMax(content: string): number | undefined {
  const value = content.trim();
  if (value === "max" || !/^\d+$/.test(value)) return undefined;
  const bytes = Number(value);
  return bytes > 0 ? bytes : undefined;
}

/** The process's cgroup v2 path from `/proc/self/cgroup` (`0::/system.slice/app.service`). */
export function parseSelfCgroup(content: string): string | undefined {
  for (const line of content.split("\n")) {
    if (line.startsWith("0::")) return line.slice(3).trim() || "/";
  }
  return undefined;
}

/**
 * A limit set on any ancestor applies too, so every directory from the process's cgroup up to the
 * root is read and the smallest limit wins. Inside a container with its own cgroup namespace the
 * process's cgroup is `/`, the root itself.
 */
export function readResourceLimits(location: CgroupLocation = {}): ResourceLimits {
  const root = (location.root ?? "/sys/fs/cgroup").replace(/\/+$/, "");
  const selfPath = parseSelfCgroup(readText(location.selfFile ?? "/proc/self/cgroup") ?? "") ?? "/";
  let cores = availableParallelism();
  let memoryBytes = totalmem();
  for (const directory of ancestors(root, selfPath)) {
    const cpuLimit = parseCpuMax(readText(`${directory}/cpu.max`) ?? "max");
    if (cpuLimit !== undefined) cores = Math.min(cores, cpuLimit);
    const memoryLimit = parseMemoryMax(readText(`${directory}/memory.max`) ?? "max");
    if (memoryLimit !== undefined) memoryBytes = Math.min(memoryBytes, memoryLimit);
  }
  return { cores, memoryBytes };
}

function ancestors(root: string, cgroupPath: string): string[] {
  const parts = cgroupPath.split("/").filter((part) => part !== "" && part !== "." && part !== "..");
  const directories = [root];
  for (let depth = 1; depth <= parts.length; depth++) {
    directories.push(`${root}/${parts.slice(0, depth).join("/")}`);
  }
  return directories;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
