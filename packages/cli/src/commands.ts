import {
  type DeploymentDetail,
  type FinishResponse,
  type PipelineResult,
  SeqPulseApiError,
  type SeqPulseClient,
  SeqPulseError,
  SeqPulseUnavailableError,
  type TriggerRequest,
  type TriggerResponse,
  type Verdict,
  type VerdictValue,
} from "@seqpulse/client";
import type { CiContext } from "./ci.js";
import { type Reporter, writeOutputEnv } from "./output.js";
import type { PendingClient } from "./pending-client.js";
import { type FailOn, requireEnv, type Settings, type Target } from "./settings.js";

export const EXIT = {
  ok: 0,
  /** The gate failed (or, for `run`, the deploy command failed: its own status is used). */
  failed: 1,
  usage: 2,
  /** SeqPulse trouble with --fail-on-error. */
  seqpulse: 3,
} as const;

/** What --json prints: one document per command, whatever happened. */
export interface JsonResult {
  command: string;
  exit_code: number;
  deployment_id?: string;
  deployment_number?: number;
  env?: string;
  state?: string;
  idempotency_key?: string | null;
  /** trigger: `created`, or `existing` with `reason` (`idempotency_key`: a repeated try; `running`: joined). */
  trigger_status?: TriggerResponse["status"];
  reason?: TriggerResponse["reason"];
  /** trigger, run: whether SeqPulse took the baseline sample before the deploy went on. */
  baseline?: "taken" | "failed" | "not_yet" | "not_waited";
  /** finish: `accepted`, or `ignored` when the deployment was no longer running. */
  finish_status?: FinishResponse["status"];
  result?: PipelineResult;
  /** run: the deploy command's exit status (128 + n when ended by signal n). */
  command_exit_code?: number;
  verdict?: Pick<Verdict, "verdict" | "confidence" | "summary" | "reasons" | "dry_run"> | null;
  /** passed / failed: the verdict against --fail-on; not_run: no verdict to gate on. */
  gate?: "passed" | "failed" | "not_run";
  url?: string;
  error?: { name: string; message: string; status?: number; code?: string };
}

export interface CommandContext {
  settings: Settings;
  reporter: Reporter;
  client: SeqPulseClient;
  pending: PendingClient;
  ci: CiContext;
  output: JsonResult;
}

/** No deployment has the idempotency key: treated as SeqPulse trouble, as the trigger may have failed. */
export class DeploymentNotFoundError extends SeqPulseError {
  override name = "DeploymentNotFoundError";
}

/** A deployment that can no longer get a verdict (cancelled), seen while waiting. */
class NoVerdictPossible extends Error {
  constructor(readonly deployment: DeploymentDetail) {
    super(`deployment is ${deployment.state}`);
  }
}

const VERDICT_RANK: Record<VerdictValue, number> = { ok: 0, warning: 1, rollback_recommended: 2 };

export function verdictFails(verdict: Verdict, failOn: FailOn): boolean {
  return !verdict.dry_run && VERDICT_RANK[verdict.verdict] >= VERDICT_RANK[failOn];
}

/** Where people look at a deployment. */
export function deploymentLink(settings: Settings, deploymentId: string): string {
  return `${settings.publicUrl ?? settings.apiUrl}/deployments/${deploymentId}`;
}

/**
 * SeqPulse trouble (unreachable, refusing, answering nonsense, no such deployment) exits 3 with
 * --fail-on-error, and is a warning otherwise: the pipeline goes on without verification.
 */
export function seqpulseTrouble(ctx: CommandContext, error: unknown, consequence = ""): number {
  if (!(error instanceof SeqPulseError)) throw error;
  ctx.output.error = {
    name: error.name,
    message: error.message,
    ...(error instanceof SeqPulseApiError ? { status: error.status, code: error.code } : {}),
    ...(error instanceof SeqPulseUnavailableError && error.status !== undefined
      ? { status: error.status }
      : {}),
  };
  const text = `${error.message}${consequence ? `\n${consequence}` : ""}`;
  if (ctx.settings.failOnError) {
    ctx.reporter.error(`${text}\nExiting with 3 because --fail-on-error is on.`);
    return EXIT.seqpulse;
  }
  ctx.reporter.warning(`${text}\nThe job goes on because --fail-on-error is off.`);
  return EXIT.ok;
}

function recordDeployment(ctx: CommandContext, id: string, number?: number): void {
  ctx.output.deployment_id = id;
  if (number !== undefined) ctx.output.deployment_number = number;
  ctx.output.url = deploymentLink(ctx.settings, id);
}

function label(id: string, number: number | undefined): string {
  return number === undefined ? `deployment ${id}` : `deployment #${number}`;
}

/** Registers the deploy; resolves to the answer, or undefined after SeqPulse trouble (already reported). */
export async function triggerDeployment(
  ctx: CommandContext,
): Promise<{ data: TriggerResponse } | { exitCode: number }> {
  const { settings, reporter, client, ci } = ctx;
  const env = requireEnv(settings);
  const key = settings.idempotencyKey;
  if (!key) {
    reporter.warning(
      `SeqPulse: no idempotency key (${ci.name}; no --idempotency-key): a retried job will create another deployment, and a finish in another job needs --deployment-id (use --output-env to keep it)`,
    );
  }
  const body: TriggerRequest = {
    env,
    ...(settings.branch ? { branch: settings.branch } : {}),
    ...(settings.commitSha ? { commit_sha: settings.commitSha } : {}),
    ...(settings.metricsEndpoint ? { metrics_endpoint: settings.metricsEndpoint } : {}),
    ...(ci.provider ? { ci: ci.metadata } : {}),
  };
  ctx.output.env = env;
  reporter.info(
    `SeqPulse: triggering a deployment in ${env} (branch ${settings.branch ?? "(none)"}, commit ${settings.commitSha ?? "(none)"}, idempotency key ${key ? `${key} from ${settings.keySource}` : "(none)"})`,
  );
  try {
    const { data, attempts } = await client.trigger(body, key ? { idempotencyKey: key } : {});
    recordDeployment(ctx, data.deployment_id, data.deployment_number);
    Object.assign(ctx.output, {
      state: data.state,
      idempotency_key: data.idempotency_key,
      trigger_status: data.status,
      ...(data.reason ? { reason: data.reason } : {}),
    });
    const how =
      data.status === "created"
        ? "created"
        : data.reason === "running"
          ? `already running in ${data.env}: joined it`
          : `already created for this idempotency key (a repeated try of this pipeline), now ${data.state}`;
    reporter.info(
      `SeqPulse: deployment #${data.deployment_number} ${how}${attempts > 1 ? ` after ${attempts} attempts` : ""}\n  ${deploymentLink(settings, data.deployment_id)}`,
    );
    if (settings.outputEnv) {
      writeOutputEnv(settings.outputEnv, {
        SEQPULSE_DEPLOYMENT_ID: data.deployment_id,
        SEQPULSE_DEPLOYMENT_NUMBER: data.deployment_number,
      });
    }
    ctx.output.baseline =
      data.state === "running" && settings.baselineTimeoutSeconds > 0
        ? await waitForBaseline(ctx, data.deployment_id)
        : "not_waited";
    return { data };
  } catch (error) {
    return { exitCode: seqpulseTrouble(ctx, error, "No deployment was registered.") };
  }
}

const BASELINE_POLL_MS = 300;

/**
 * Waits until SeqPulse has taken (or given up on) the baseline sample: it must be taken before the
 * deploy changes the application, and the command that follows a trigger is usually the deploy.
 * Best effort: after the timeout, or when SeqPulse cannot be read, it warns and the deploy goes on.
 */
async function waitForBaseline(ctx: CommandContext, deploymentId: string): Promise<JsonResult["baseline"]> {
  const { settings, reporter, client } = ctx;
  const deadline = Date.now() + settings.baselineTimeoutSeconds * 1000;
  try {
    for (;;) {
      const { data } = await client.getDeployment(deploymentId);
      if (data.samples.some((sample) => sample.phase === "baseline")) {
        reporter.info("SeqPulse: baseline sample taken");
        return "taken";
      }
      const failure = data.collection_failures.find((entry) => entry.phase === "baseline");
      if (failure) {
        reporter.warning(
          `SeqPulse could not take the baseline sample (${failure.kind}: ${failure.reason}); the verdict will lack a baseline. Check the metrics endpoint.`,
        );
        return "failed";
      }
      const left = deadline - Date.now();
      if (data.state !== "running" || left <= 0) break;
      await new Promise((done) => setTimeout(done, Math.min(BASELINE_POLL_MS, left)));
    }
  } catch (error) {
    if (!(error instanceof SeqPulseError)) throw error;
    reporter.warning(`${error.message}\nThe deploy goes on without waiting for the baseline sample.`);
    return "not_yet";
  }
  reporter.warning(
    `SeqPulse: no baseline sample after ${settings.baselineTimeoutSeconds} s; the deploy goes on, and the verdict may lack a baseline (--baseline-timeout waits longer)`,
  );
  return "not_yet";
}

export async function trigger(ctx: CommandContext): Promise<number> {
  const outcome = await triggerDeployment(ctx);
  return "exitCode" in outcome ? outcome.exitCode : EXIT.ok;
}

/** Finishes by id or by key; resolves to the answer, or to an exit code after SeqPulse trouble. */
export async function finishDeployment(
  ctx: CommandContext,
  target: Target,
  result: PipelineResult,
): Promise<{ data: FinishResponse } | { exitCode: number }> {
  const { reporter, client, settings } = ctx;
  ctx.output.result = result;
  const what =
    target.by === "id"
      ? `deployment ${target.id}`
      : `the deployment with idempotency key ${target.key} (from ${target.source}) in ${target.env}`;
  reporter.info(`SeqPulse: finishing ${what} with result ${result}`);
  try {
    const data =
      target.by === "id"
        ? (await client.finish({ deployment_id: target.id, result })).data
        : (await client.finish({ env: target.env, idempotency_key: target.key, result })).data;
    recordDeployment(ctx, data.deployment_id);
    ctx.output.finish_status = data.status;
    ctx.output.state = data.state;
    reporter.info(
      data.status === "accepted"
        ? `SeqPulse: deployment finished (${result}); SeqPulse now observes the window after the deploy\n  ${deploymentLink(settings, data.deployment_id)}`
        : `SeqPulse: finish ignored: the deployment is already ${data.state}\n  ${deploymentLink(settings, data.deployment_id)}`,
    );
    if (settings.outputEnv)
      writeOutputEnv(settings.outputEnv, { SEQPULSE_DEPLOYMENT_ID: data.deployment_id });
    return { data };
  } catch (error) {
    const hint =
      error instanceof SeqPulseApiError && error.status === 404 && target.by === "key"
        ? `No deployment has idempotency key ${target.key} in ${target.env}: did the trigger run in this pipeline, with the same --env? (it warned if SeqPulse was down)`
        : "The deployment was not finished; SeqPulse abandons it after its running timeout.";
    return { exitCode: seqpulseTrouble(ctx, error, hint) };
  }
}

/** Only a successful deploy is gated on: after a failed or cancelled one the job fails or stops anyway. */
export function shouldGate(result: PipelineResult): boolean {
  return result === "success";
}

export async function finish(ctx: CommandContext, target: Target): Promise<number> {
  const finished = await finishDeployment(ctx, target, ctx.settings.result);
  if ("exitCode" in finished) return finished.exitCode;
  if (!ctx.settings.wait) return EXIT.ok;
  if (!shouldGate(ctx.settings.result)) {
    ctx.reporter.info(`SeqPulse: not waiting for a verdict: the deploy's result is ${ctx.settings.result}`);
    ctx.output.gate = "not_run";
    return EXIT.ok;
  }
  return gate(ctx, finished.data.deployment_id);
}

/** The id of the target; by key, looked up in the deployment list. */
async function resolveId(ctx: CommandContext, target: Target): Promise<string> {
  if (target.by === "id") return target.id;
  const found = await ctx.pending.findDeploymentByKey(target.env, target.key);
  if (!found) {
    throw new DeploymentNotFoundError(
      `SeqPulse has no deployment with idempotency key ${target.key} (from ${target.source}) in ${target.env}: did the trigger run in this pipeline, with the same --env?`,
    );
  }
  return found.id;
}

export async function wait(ctx: CommandContext, target: Target): Promise<number> {
  let id: string;
  try {
    id = await resolveId(ctx, target);
  } catch (error) {
    return seqpulseTrouble(ctx, error, "The gate could not run.");
  }
  return gate(ctx, id);
}

function formatConfidence(confidence: number): string {
  return `${Math.round(confidence * 100)} %`;
}

export function describeVerdict(verdict: Verdict, name: string, link: string): string {
  return [
    `SeqPulse verdict for ${name}: ${verdict.verdict} (confidence ${formatConfidence(verdict.confidence)})${verdict.dry_run ? " [dry run: no gate fails on it]" : ""}`,
    verdict.summary,
    ...verdict.reasons.map(
      (reason) => `  - [${reason.severity}] ${reason.metric ?? "data"} ${reason.rule}: ${reason.message}`,
    ),
    `  ${link}`,
  ]
    .filter((line) => line.trim() !== "")
    .join("\n");
}

function recordVerdict(ctx: CommandContext, deployment: DeploymentDetail): void {
  recordDeployment(ctx, deployment.id, deployment.deployment_number);
  ctx.output.env = deployment.env;
  ctx.output.state = deployment.state;
  ctx.output.idempotency_key = deployment.idempotency_key;
  const { verdict } = deployment;
  ctx.output.verdict = verdict
    ? {
        verdict: verdict.verdict,
        confidence: verdict.confidence,
        summary: verdict.summary,
        reasons: verdict.reasons,
        ...(verdict.dry_run ? { dry_run: true } : {}),
      }
    : null;
}

/** Waits for the verdict and applies --fail-on. */
export async function gate(ctx: CommandContext, deploymentId: string): Promise<number> {
  const { settings, reporter, client } = ctx;
  const link = deploymentLink(settings, deploymentId);
  ctx.output.gate = "not_run";
  recordDeployment(ctx, deploymentId);
  return reporter.group(`SeqPulse: waiting for the verdict on deployment ${deploymentId}`, async () => {
    reporter.info(
      `Waiting up to ${settings.verdictTimeoutSeconds} s for the verdict (--fail-on ${settings.failOn})\n  ${link}`,
    );
    let progress = "";
    try {
      const outcome = await client.waitForVerdict(deploymentId, {
        timeoutMs: settings.verdictTimeoutSeconds * 1000,
        pollIntervalMs: settings.tuning.pollIntervalMs,
        onPoll: (deployment) => {
          const baseline = deployment.samples.filter((sample) => sample.phase === "baseline").length;
          const line = `  state ${deployment.state}, ${baseline} baseline and ${deployment.samples.length - baseline} post samples`;
          if (line !== progress) reporter.info(line);
          progress = line;
          // The client waits on for any state but abandoned; a cancelled deployment gets no verdict either.
          if (!deployment.verdict && (deployment.state as string) === "cancelled") {
            throw new NoVerdictPossible(deployment);
          }
        },
      });
      if (outcome.outcome === "verdict") {
        recordVerdict(ctx, outcome.deployment);
        const { verdict, deployment } = outcome;
        const text = describeVerdict(verdict, label(deployment.id, deployment.deployment_number), link);
        if (settings.outputEnv) writeOutputEnv(settings.outputEnv, { SEQPULSE_VERDICT: verdict.verdict });
        if (verdictFails(verdict, settings.failOn)) {
          ctx.output.gate = "failed";
          reporter.info(text);
          reporter.error(
            `SeqPulse: ${verdict.summary || verdict.verdict}\nThe gate fails because --fail-on is ${settings.failOn}.`,
          );
          return EXIT.failed;
        }
        ctx.output.gate = "passed";
        if (verdict.verdict === "ok") reporter.info(text);
        else reporter.warning(text);
        return EXIT.ok;
      }
      if (outcome.deployment) recordVerdict(ctx, outcome.deployment);
      const problem =
        outcome.outcome === "abandoned"
          ? `SeqPulse: the deployment was abandoned${outcome.deployment.state_reason ? ` (${outcome.deployment.state_reason})` : ""} before a verdict, so the gate could not run`
          : `SeqPulse: no verdict after ${settings.verdictTimeoutSeconds} s (state ${outcome.deployment?.state ?? "unknown"}), so the gate could not run; raise --verdict-timeout above the project's warm-up plus observation window`;
      return noVerdict(ctx, problem);
    } catch (error) {
      if (error instanceof NoVerdictPossible) {
        recordVerdict(ctx, error.deployment);
        return noVerdict(
          ctx,
          "SeqPulse: the deployment was cancelled, so it gets no verdict and the gate could not run",
        );
      }
      return seqpulseTrouble(ctx, error, "The gate could not run.");
    }
  });
}

function noVerdict(ctx: CommandContext, problem: string): number {
  ctx.output.error = { name: "NoVerdict", message: problem };
  if (ctx.settings.failOnError) {
    ctx.reporter.error(`${problem}\nExiting with 3 because --fail-on-error is on.`);
    return EXIT.seqpulse;
  }
  ctx.reporter.warning(`${problem}\nThe job goes on because --fail-on-error is off.`);
  return EXIT.ok;
}

export async function status(ctx: CommandContext, target: Target): Promise<number> {
  const { reporter, client, settings } = ctx;
  try {
    const id = await resolveId(ctx, target);
    const { data } = await client.getDeployment(id);
    recordVerdict(ctx, data);
    ctx.output.result = data.pipeline_result ?? undefined;
    const link = deploymentLink(settings, data.id);
    const lines = [
      `SeqPulse: deployment #${data.deployment_number} in ${data.env}: ${data.state}${data.state_reason ? ` (${data.state_reason})` : ""}`,
      `  started ${data.started_at}${data.finished_at ? `, finished ${data.finished_at} (${data.pipeline_result})` : ""}`,
      `  branch ${data.branch ?? "(none)"}, commit ${data.commit_sha ?? "(none)"}, idempotency key ${data.idempotency_key ?? "(none)"}`,
    ];
    reporter.info(lines.join("\n"));
    reporter.info(
      data.verdict
        ? describeVerdict(data.verdict, `deployment #${data.deployment_number}`, link)
        : `  no verdict yet\n  ${link}`,
    );
    if (settings.outputEnv) {
      writeOutputEnv(settings.outputEnv, {
        SEQPULSE_DEPLOYMENT_ID: data.id,
        SEQPULSE_DEPLOYMENT_NUMBER: data.deployment_number,
        SEQPULSE_VERDICT: data.verdict?.verdict,
      });
    }
    return EXIT.ok;
  } catch (error) {
    return seqpulseTrouble(ctx, error);
  }
}
