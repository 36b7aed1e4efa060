import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { triggerResponse } from "./test-support/fixtures.js";
import { problem, type ScriptedServer, startScriptedServer } from "./test-support/scripted-server.js";

const run = promisify(execFile);
const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/**
 * The package as published: packed by `pnpm pack` (which builds it), unpacked into a folder of its own
 * with nothing else installed, then used from plain Node and type-checked by a strict TypeScript project.
 */
describe("the packed @seqpulse/client", () => {
  let dir: string;
  let installed: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seqpulse-client-pack-"));
    await run("pnpm", ["pack", "--pack-destination", dir], { cwd: packageDir });
    const [tarball] = (await readdir(dir)).filter((name) => name.endsWith(".tgz"));
    installed = join(dir, "node_modules/@seqpulse/client");
    await mkdir(installed, { recursive: true });
    await run("tar", ["-xzf", join(dir, tarball as string), "-C", installed, "--strip-components=1"]);
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("holds JavaScript and declarations only, and depends on nothing", async () => {
    const files = (await readdir(installed, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => relative(installed, join(entry.parentPath, entry.name)));
    expect(files.filter((file) => !/^dist\/[\w-]+\.(js|d\.ts)$/.test(file)).sort()).toEqual([
      "README.md",
      "package.json",
    ]);
    expect(files).toContain("dist/contract.d.ts");
    const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8"));
    expect(manifest.exports).toEqual({ ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } });
    expect(manifest.dependencies).toBeUndefined();
    expect(JSON.stringify(manifest)).not.toContain("workspace:");
  });

  describe("used from plain Node", () => {
    let server: ScriptedServer;
    afterAll(async () => {
      await server?.close();
    });

    it("triggers a deployment, retrying a 503 with the same Idempotency-Key", async () => {
      server = await startScriptedServer([
        problem(503, "service_unavailable", "the database is unreachable"),
        { status: 201, json: triggerResponse() },
      ]);
      const script = join(dir, "consumer.mjs");
      await writeFile(
        script,
        `import { createSeqPulseClient, SeqPulseError } from "@seqpulse/client";
const client = createSeqPulseClient({
  apiUrl: process.argv[2],
  apiKey: "sp_test_key_0123456789",
  retry: { baseDelayMs: 1, maxDelayMs: 1 },
});
const { data, attempts } = await client.trigger({ env: "production" }, { idempotencyKey: "run-7-1" });
console.log(JSON.stringify({ number: data.deployment_number, attempts, errorClass: typeof SeqPulseError }));
`,
      );
      const { stdout } = await run(process.execPath, [script, server.url], { cwd: dir });
      expect(JSON.parse(stdout)).toEqual({ number: 12, attempts: 2, errorClass: "function" });
      expect(server.requests.map((request) => request.headers["idempotency-key"])).toEqual([
        "run-7-1",
        "run-7-1",
      ]);
    });
  });

  it("type-checks a strict TypeScript consumer without @seqpulse/types or zod", {
    timeout: 60_000,
  }, async () => {
    await writeFile(
      join(dir, "consumer.ts"),
      `import {
  createSeqPulseClient,
  type DeploymentDetail,
  type DeploymentState,
  SeqPulseApiError,
} from "@seqpulse/client";

const client = createSeqPulseClient({ apiUrl: "https://seqpulse.example.com", apiKey: "sp_key" });
export async function deploy(): Promise<number> {
  const { data } = await client.trigger({ env: "production", ci: { provider: "gitlab", run_id: 42 } });
  const state: DeploymentState = data.state;
  // @ts-expect-error: the answer is typed, not any
  data.deployment_numbr;
  const outcome = await client.waitForVerdict(data.deployment_id, { timeoutMs: 1000 });
  const detail: DeploymentDetail = outcome.deployment ?? (await client.getDeployment(data.deployment_id)).data;
  return state === "running" ? detail.samples.length : 0;
}
export const isRefusal = (error: unknown) => error instanceof SeqPulseApiError && error.status === 401;
`,
    );
    await writeFile(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2023",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
          typeRoots: [resolve(dirname(require.resolve("@types/node/package.json")), "..")],
        },
        files: ["consumer.ts"],
      }),
    );
    const tsc = require.resolve("typescript/bin/tsc");
    const result = await run(process.execPath, [tsc, "-p", dir]).catch((error: { stdout: string }) => error);
    expect(result.stdout).toBe("");
  });
});
