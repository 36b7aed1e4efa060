import { createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { ProcessStats } from "../resources.js";

/** A cgroup fixture: `<name>/root` is the v2 mount, `<name>/self` stands for /proc/self/cgroup. */
export function cgroupFixture(name: string) {
  const directory = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return { root: `${directory}/root`, selfFile: `${directory}/self` };
}

/** Half a core and 512 MiB (fixtures/cgroup-container). */
export const HALF_CORE_512_MIB = cgroupFixture("cgroup-container");

export function fakeClock(startIso: string) {
  let now = Date.parse(startIso);
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(iso: string) {
      now = Date.parse(iso);
    },
  };
}

/** Process CPU time and RSS that a test moves by hand. */
export function fakeProcess(initial: ProcessStats = { cpuMicros: 0, rssBytes: 0 }) {
  const stats = { ...initial };
  return { stats, read: (): ProcessStats => ({ ...stats }) };
}

/** SeqPulse's HMAC v2 headers, lower-case, signed the way the collector signs. */
export function signedHeaders(input: {
  secret: string;
  path: string;
  timestamp: string;
  nonce: string;
  method?: string;
}): Record<string, string> {
  const method = input.method ?? "GET";
  const digest = createHmac("sha256", input.secret)
    .update(`${input.timestamp}|${method}|${input.path}|${input.nonce}`)
    .digest("hex");
  return {
    "x-seqpulse-timestamp": input.timestamp,
    "x-seqpulse-nonce": input.nonce,
    "x-seqpulse-signature": `sha256=${digest}`,
    "x-seqpulse-signature-version": "v2",
    "x-seqpulse-canonical-path": input.path,
    "x-seqpulse-method": method,
  };
}

export function headerReader(headers: Record<string, string>) {
  return (name: string): string | undefined => headers[name];
}
