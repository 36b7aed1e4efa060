// pnpm bench:sdk — the SDK's cost per request and its effect on a hello-world server's throughput.
// Loopback only, bounded in count and time (under a minute in all).
import { fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import autocannon from "autocannon";
import { median as medianOrUndefined } from "../../types/src/numbers.js";
import { createSeqPulse, withSeqPulse } from "../src/index.js";

const RECORDS = 2_000_000;
const REQUESTS = 500_000;
const THROUGHPUT_SECONDS = 2;
const THROUGHPUT_ROUNDS = 8;
const CONNECTIONS = 10;

const median = (values: number[]) => medianOrUndefined(values) ?? Number.NaN;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc (pnpm bench:sdk does)");

interface Cost {
  nsPerOp: number;
  bytesPerOp: number;
  gcs: number;
}

/** Time and heap allocated by `run(count)`: the heap growth plus what every GC meanwhile freed. */
function measure(count: number, run: (count: number) => void): Cost {
  run(Math.min(count, 100_000)); // warm-up: optimised code, histograms' first allocations
  gc?.();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = process.hrtime.bigint();
  run(count);
  const elapsed = Number(process.hrtime.bigint() - started);
  const heapAfter = process.memoryUsage().heapUsed;
  const { statistics } = profiler.stop();
  const freed = statistics.reduce(
    (sum, event) =>
      sum + event.beforeGC.heapStatistics.usedHeapSize - event.afterGC.heapStatistics.usedHeapSize,
    0,
  );
  return {
    nsPerOp: elapsed / count,
    bytesPerOp: (heapAfter - heapBefore + freed) / count,
    gcs: statistics.length,
  };
}

function recordCost(): Cost {
  const collector = createSeqPulse();
  const cost = measure(RECORDS, (count) => {
    for (let i = 0; i < count; i++) collector.record(i % 50 === 0 ? 503 : 200, (i & 1023) / 10);
  });
  collector.close();
  return cost;
}

/**
 * The node:http wrapper around a listener, on stand-ins for IncomingMessage and ServerResponse that
 * behave as Node's do where the wrapper looks (url, method, statusCode, a `finish` listener of
 * Node's own already attached). The same loop without the wrapper is subtracted.
 */
function wrapperCost(): Cost {
  const listener = (_request: IncomingMessage, response: ServerResponse) => {
    response.statusCode = 200;
  };
  const nodeOwnListener = () => {};
  const request = { url: "/hello", method: "GET", headers: {} } as unknown as IncomingMessage;
  const loop = (handle: (request: IncomingMessage, response: ServerResponse) => void) => (count: number) => {
    for (let i = 0; i < count; i++) {
      const response = new EventEmitter() as unknown as ServerResponse;
      response.on("finish", nodeOwnListener);
      handle(request, response);
      response.emit("finish");
    }
  };
  const wrapped = withSeqPulse(listener);
  const bare = measure(REQUESTS, loop(listener));
  const instrumented = measure(REQUESTS, loop(wrapped));
  wrapped.collector.close();
  return {
    nsPerOp: instrumented.nsPerOp - bare.nsPerOp,
    bytesPerOp: instrumented.bytesPerOp - bare.bytesPerOp,
    gcs: instrumented.gcs,
  };
}

interface Round {
  requestsPerSec: number;
  /** Server CPU time per request: what sets the throughput of a saturated core. */
  cpuMicrosPerRequest: number;
}

interface HelloServer {
  url: string;
  /** One load run of THROUGHPUT_SECONDS. */
  load(): Promise<Round>;
  stop(): void;
  /** Lets the server exit by itself (it then writes its CPU profile, if asked to). */
  disconnect(): void;
  exited(): Promise<void>;
}

async function startHelloServer(
  mode: "plain" | "seqpulse",
  nodeOptions: string[] = [],
): Promise<HelloServer> {
  const child = fork(fileURLToPath(new URL("./hello-server.ts", import.meta.url)), [mode], {
    execArgv: ["--import", "tsx", ...nodeOptions],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let exitError: Error | undefined;
  child.once("exit", (code) => {
    exitError = new Error(`hello server exited with ${code}`);
    child.emit("message", undefined);
  });
  const nextMessage = <T>() =>
    new Promise<T>((resolve, reject) => {
      child.once("message", (message) => (exitError ? reject(exitError) : resolve(message as T)));
    });
  const usage = async () => {
    const answer = nextMessage<{ cpuMicros: number; served: number }>();
    child.send("usage");
    return answer;
  };
  const { port } = await nextMessage<{ port: number }>();
  const url = `http://127.0.0.1:${port}/hello`;
  await autocannon({ url, connections: CONNECTIONS, duration: 1 }); // warm-up
  return {
    url,
    async load() {
      const before = await usage();
      const result = await autocannon({ url, connections: CONNECTIONS, duration: THROUGHPUT_SECONDS });
      const after = await usage();
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`${mode}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
      }
      return {
        requestsPerSec: result.requests.average,
        cpuMicrosPerRequest: (after.cpuMicros - before.cpuMicros) / (after.served - before.served),
      };
    },
    stop: () => child.kill(),
    exited: () =>
      new Promise<void>((resolve) => (exitError ? resolve() : child.once("exit", () => resolve()))),
    disconnect: () => child.disconnect(),
  };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

/**
 * The share of the instrumented server's busy CPU time spent in the SDK and its histogram, from a
 * CPU profile of one load run. Both sides are measured in the same process at the same time, so
 * other load on the machine hardly moves it; the extra GC and listener bookkeeping are not in it.
 */
async function sdkShareOfServerCpu(): Promise<number> {
  const directory = await mkdtemp(join(tmpdir(), "seqpulse-bench-"));
  try {
    const server = await startHelloServer("seqpulse", [
      "--cpu-prof",
      "--cpu-prof-interval=100",
      `--cpu-prof-dir=${directory}`,
    ]);
    await server.load();
    server.disconnect();
    await server.exited();
    let best = { busy: 0, sdk: 0 };
    // One profile per thread (tsx adds a loader thread): the busiest is the server's.
    for (const file of await readdir(directory)) {
      const profile = JSON.parse(await readFile(join(directory, file), "utf8")) as {
        nodes: ProfileNode[];
        samples: number[];
        timeDeltas: number[];
      };
      const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
      let busy = 0;
      let sdk = 0;
      profile.samples.forEach((id, index) => {
        const frame = (nodes.get(id) as ProfileNode).callFrame;
        const delta = profile.timeDeltas[index] ?? 0;
        if (frame.functionName === "(idle)") return;
        busy += delta;
        if (/packages\/sdk\/src\/|hdr-histogram-js/.test(frame.url)) sdk += delta;
      });
      if (busy > best.busy) best = { busy, sdk };
    }
    return (best.sdk / best.busy) * 100;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const record = recordCost();
console.log(
  `collector.record():        ${record.nsPerOp.toFixed(0)} ns/request, ${record.bytesPerOp.toFixed(1)} bytes/request allocated (${record.gcs} GCs over ${RECORDS.toLocaleString("en")})`,
);
const wrapper = wrapperCost();
console.log(
  `node:http wrapper + record: ${wrapper.nsPerOp.toFixed(0)} ns/request, ${wrapper.bytesPerOp.toFixed(1)} bytes/request allocated over the bare listener`,
);

// Both servers stay up; each round loads one then the other (in alternating order), so that the
// other load on a shared machine falls on both alike, and the ratios within rounds are compared.
const plainServer = await startHelloServer("plain");
const instrumentedServer = await startHelloServer("seqpulse");
const plain: Round[] = [];
const instrumented: Round[] = [];
try {
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    if (round % 2 === 0) {
      plain.push(await plainServer.load());
      instrumented.push(await instrumentedServer.load());
    } else {
      instrumented.push(await instrumentedServer.load());
      plain.push(await plainServer.load());
    }
  }
} finally {
  plainServer.stop();
  instrumentedServer.stop();
}
const pairs = plain.map((without, round) => ({ without, with: instrumented[round] as Round }));
const rateLoss =
  median(pairs.map((pair) => 1 - pair.with.requestsPerSec / pair.without.requestsPerSec)) * 100;
const cpuLoss =
  median(pairs.map((pair) => 1 - pair.without.cpuMicrosPerRequest / pair.with.cpuMicrosPerRequest)) * 100;
const summary = (rounds: Round[]) =>
  `${median(rounds.map((r) => r.requestsPerSec)).toFixed(0)} req/s, ` +
  `${median(rounds.map((r) => r.cpuMicrosPerRequest)).toFixed(1)} µs server CPU/request ` +
  `(rounds ${rounds.map((r) => r.requestsPerSec.toFixed(0)).join(", ")})`;
console.log(
  `hello world, ${CONNECTIONS} connections, ${THROUGHPUT_ROUNDS} rounds of ${THROUGHPUT_SECONDS} s per server (medians):`,
);
console.log(`  without the middleware: ${summary(plain)}`);
console.log(`  with the middleware:    ${summary(instrumented)}`);
console.log(
  `  throughput loss: ${rateLoss.toFixed(1)} % (median of the rounds' ratios); ` +
    `${cpuLoss.toFixed(1)} % from the server CPU per request`,
);
const sdkShare = await sdkShareOfServerCpu();
console.log(
  `  the SDK's share of the instrumented server's busy CPU (CPU profile): ${sdkShare.toFixed(1)} %`,
);
console.log(
  `goals: ${wrapper.nsPerOp < 2000 ? "met" : "NOT met"} (< 2 µs per request); ` +
    `${rateLoss < 5 ? "met" : "NOT met"} (< 5 % throughput loss, measured), ` +
    `${sdkShare < 5 ? "met" : "NOT met"} (< 5 %, CPU profile)`,
);
