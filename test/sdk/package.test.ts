import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repository = resolve(import.meta.dirname, "../..");
const sdkDirectory = join(repository, "packages/sdk");

let workDirectory: string;
let appDirectory: string;
let packedFiles: string[];

/**
 * `npm pack` (which builds through `prepack`), then a fresh application installs the tarball the
 * way a team would: npm fetches the one dependency, and plain node runs it.
 */
beforeAll(async () => {
  workDirectory = await mkdtemp(join(tmpdir(), "seqpulse-sdk-pack-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", workDirectory], {
    cwd: sdkDirectory,
  });
  const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  packedFiles = packed.files.map((file) => file.path);
  appDirectory = join(workDirectory, "app");
  await mkdir(appDirectory);
  await writeFile(
    join(appDirectory, "package.json"),
    JSON.stringify({ name: "sdk-consumer", private: true }),
  );
  await run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", join(workDirectory, packed.filename)],
    { cwd: appDirectory },
  );
}, 180_000);

afterAll(async () => {
  if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
});

/** Serves hello on node:http through the SDK, sends 3 requests and a scrape, prints the payload. */
const appBody = (imports: string) => `${imports}
const seqpulse = createSeqPulse({ isError: (status) => status >= 400 });
const server = http.createServer(withSeqPulse((req, res) => {
  res.writeHead(req.url === "/missing" ? 404 : 200).end("hi");
}, { collector: seqpulse }));
server.listen(0, "127.0.0.1", async () => {
  const origin = "http://127.0.0.1:" + server.address().port;
  for (const path of ["/a", "/b", "/missing"]) await (await fetch(origin + path)).text();
  await new Promise((done) => setTimeout(done, 50));
  const payload = await (await fetch(origin + "/seqpulse-metrics")).json();
  const adapters = [typeof seqpulseExpress, typeof seqpulseFastify, typeof seqpulseHono];
  console.log(JSON.stringify({ payload, adapters }));
  server.closeAllConnections();
  server.close();
});
`;

async function runApp(file: string, source: string) {
  await writeFile(join(appDirectory, file), source);
  const { stdout } = await run(process.execPath, [file], { cwd: appDirectory, timeout: 30_000 });
  return JSON.parse(stdout) as {
    payload: { metrics: Record<string, number>; counters: Record<string, number>; history: unknown[] };
    adapters: string[];
  };
}

describe("the published package", () => {
  it("holds the built code, its declarations and the README, not the sources or tests", () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        "README.md",
        "package.json",
        "dist/esm/index.js",
        "dist/esm/index.d.ts",
        "dist/cjs/index.js",
        "dist/cjs/index.d.ts",
        "dist/cjs/package.json",
        "dist/esm/express.js",
        "dist/cjs/fastify.js",
        "dist/esm/hono.d.ts",
      ]),
    );
    expect(packedFiles.filter((path) => !path.startsWith("dist/"))).toEqual(["README.md", "package.json"]);
    expect(packedFiles.some((path) => path.includes("test"))).toBe(false);
  });

  it("installs with hdr-histogram-js as its only direct dependency, no framework", async () => {
    const installed = await readdir(join(appDirectory, "node_modules"));
    expect(installed).toContain("hdr-histogram-js");
    for (const framework of ["express", "fastify", "hono"]) expect(installed).not.toContain(framework);
  });

  it("runs as an ES module with plain node", async () => {
    const { payload, adapters } = await runApp(
      "app.mjs",
      appBody(`import http from "node:http";
import { createSeqPulse, withSeqPulse } from "@seqpulse/sdk";
import { seqpulseExpress } from "@seqpulse/sdk/express";
import { seqpulseFastify } from "@seqpulse/sdk/fastify";
import { seqpulseHono } from "@seqpulse/sdk/hono";`),
    );
    expect(payload.counters).toEqual({ requests_total: 3, errors_total: 1 });
    expect(payload.metrics.error_rate).toBeCloseTo(1 / 3, 10);
    expect(adapters).toEqual(["function", "function", "function"]);
  });

  it("runs as CommonJS with plain node", async () => {
    const { payload, adapters } = await runApp(
      "app.cjs",
      appBody(`const http = require("node:http");
const { createSeqPulse, withSeqPulse } = require("@seqpulse/sdk");
const { seqpulseExpress } = require("@seqpulse/sdk/express");
const { seqpulseFastify } = require("@seqpulse/sdk/fastify");
const { seqpulseHono } = require("@seqpulse/sdk/hono");`),
    );
    expect(payload.counters).toEqual({ requests_total: 3, errors_total: 1 });
    expect(adapters).toEqual(["function", "function", "function"]);
  });

  it("type-checks for TypeScript consumers of both formats", async () => {
    const consumer = (importLine: string) => `${importLine}
const seqpulse = createSeqPulse({ hmacSecret: ["new", "old"], path: "/metrics" });
const payload: MetricsPayload = seqpulse.snapshot();
const p95: number | undefined = payload.metrics.latency_p95;
const total: number = payload.counters.requests_total;
export { p95, total };
`;
    await writeFile(
      join(appDirectory, "consumer.mts"),
      consumer('import { createSeqPulse, type MetricsPayload } from "@seqpulse/sdk";'),
    );
    await writeFile(
      join(appDirectory, "consumer.cts"),
      consumer('import { createSeqPulse, type MetricsPayload } from "@seqpulse/sdk";'),
    );
    await writeFile(
      join(appDirectory, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          typeRoots: [join(repository, "node_modules/@types")],
          types: ["node"],
        },
        files: ["consumer.mts", "consumer.cts"],
      }),
    );
    const tsc = join(repository, "node_modules/typescript/bin/tsc");
    await expect(run(process.execPath, [tsc, "-p", appDirectory])).resolves.toBeDefined();
  });
});
