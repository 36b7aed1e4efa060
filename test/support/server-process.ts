import { type ChildProcess, spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface ServerProcess {
  /** Base URL of the API; undefined for SEQPULSE_ROLE=worker. */
  url: string | undefined;
  child: ChildProcess;
  /** Everything the process printed so far (JSON log lines). */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
}

/**
 * Runs `server/src/index.ts` as its own process, as `pnpm start` does, on the given database (or
 * `node <args>` in `cwd`, such as a built server). Resolves once the process logs that it started
 * (API listening and workers running, per its role).
 */
export async function startServerProcess(
  env: Record<string, string>,
  { args = ["--import", "tsx", resolve(REPO_ROOT, "server/src/index.ts")], cwd = REPO_ROOT } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", SEQPULSE_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));

  const url = await new Promise<string | undefined>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${output}`)), 60_000);
    const check = () => {
      for (const line of output.split("\n")) {
        if (!line.startsWith("{") || !line.endsWith("}")) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "SeqPulse started") {
          clearTimeout(timer);
          child.stdout?.off("data", check);
          resolveUrl(entry.url);
          return;
        }
      }
    };
    child.stdout?.on("data", check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting:\n${output}`));
    });
  });

  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
