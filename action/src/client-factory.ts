import type { SeqPulseClient, SeqPulseClientOptions } from "@seqpulse/client";
// Bundled by ncc at build time: the version lives in action/package.json only.
import actionPackage from "../package.json" with { type: "json" };
import { INPUT, TUNING_ENV } from "./constants.js";
import type { Env } from "./github-context.js";
import type { Toolkit } from "./toolkit.js";

/** What the step functions need from outside: the environment and a way to make a client. */
export interface Dependencies {
  env: Env;
  createClient: (options: SeqPulseClientOptions) => SeqPulseClient;
  /** Waits between verdict polls; the client's retries use it too. Real timers when absent. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Retries in a CI job can afford to wait longer than an interactive client. */
export const ACTION_RETRY = { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 15_000 };
export const ACTION_TIMEOUT_MS = 15_000;
export const ACTION_POLL_INTERVAL_MS = 5_000;

export interface Tuning {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
  pollIntervalMs: number;
}

/** Reads the SEQPULSE_* tuning variables; a malformed one is ignored with a warning. */
export function readTuning(env: Env, toolkit: Toolkit): Tuning {
  const read = (name: string, fallback: number, min: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      toolkit.warning(`SeqPulse: ignoring ${name}="${raw}": expected a whole number ≥ ${min}`);
      return fallback;
    }
    return value;
  };
  return {
    attempts: read(TUNING_ENV.attempts, ACTION_RETRY.attempts, 1),
    baseDelayMs: read(TUNING_ENV.baseDelayMs, ACTION_RETRY.baseDelayMs, 0),
    maxDelayMs: read(TUNING_ENV.maxDelayMs, ACTION_RETRY.maxDelayMs, 0),
    timeoutMs: read(TUNING_ENV.timeoutMs, ACTION_TIMEOUT_MS, 1),
    pollIntervalMs: read(TUNING_ENV.pollIntervalMs, ACTION_POLL_INTERVAL_MS, 1),
  };
}

export function makeClient(
  connection: { apiUrl: string; apiKey: string },
  tuning: Tuning,
  deps: Dependencies,
  toolkit: Toolkit,
): SeqPulseClient {
  return deps.createClient({
    apiUrl: connection.apiUrl,
    apiKey: connection.apiKey,
    timeoutMs: tuning.timeoutMs,
    retry: { attempts: tuning.attempts, baseDelayMs: tuning.baseDelayMs, maxDelayMs: tuning.maxDelayMs },
    userAgent: `seqpulse-github-action/${actionPackage.version} node/${process.version}`,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    onRetry: (event) =>
      toolkit.info(
        `SeqPulse: ${event.method} ${event.path} failed (${event.reason}); retrying in ${formatDelay(event.delayMs)} (attempt ${event.attempt + 1} of ${event.attempts})`,
      ),
  });
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Plain http:// sends the API key in clear text; fine on loopback, worth a warning elsewhere. */
export function warnOnPlainHttp(apiUrl: string, toolkit: Toolkit): void {
  const url = new URL(apiUrl);
  const loopback =
    ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || url.hostname.startsWith("127.");
  if (url.protocol === "http:" && !loopback) {
    toolkit.warning(
      `SeqPulse: ${INPUT.apiUrl} ${url.origin} uses plain http://, so the API key travels unencrypted; use https://`,
    );
  }
}

/**
 * The deployment's address under a SeqPulse base URL. Under the API URL it answers JSON to a request
 * with the API key (messages show it as `GET <url>`); under the public URL (the server's
 * SEQPULSE_PUBLIC_URL, the API URL when unset) a browser gets its console page.
 */
export function deploymentUrl(baseUrl: string, deploymentId: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/deployments/${deploymentId}`;
}
