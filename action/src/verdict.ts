import type { SeqPulseClient } from "@seqpulse/client";
import type { DeploymentDetail, PipelineResult, Verdict, VerdictValue } from "@seqpulse/types";
import { deploymentUrl, type Tuning } from "./client-factory.js";
import { INPUT, OUTPUT } from "./constants.js";
import { handleSeqPulseError } from "./failures.js";
import type { FailOn, GateInputs } from "./inputs.js";
import type { StepOutcome, Toolkit } from "./toolkit.js";

const VERDICT_RANK: Record<VerdictValue, number> = { ok: 0, warning: 1, rollback_recommended: 2 };

/** ok < warning < rollback_recommended: a verdict at or above fail-on fails the job. */
export function verdictFails(verdict: VerdictValue, failOn: FailOn): boolean {
  return VERDICT_RANK[verdict] >= VERDICT_RANK[failOn];
}

export function formatConfidence(confidence: number): string {
  return `${Math.round(confidence * 100)} %`;
}

/**
 * Whether a deployment with this pipeline result is worth gating on: only a successful one. After a
 * failed or cancelled pipeline the job fails (or stops) anyway, and a verdict on a deploy that did not
 * finish says little. One rule for the post step and for mode: finish.
 */
export function shouldGate(result: PipelineResult): boolean {
  return result === "success";
}

/** Said (log and summary) when wait-for-verdict is on but the result is not gated on. */
export function notGatedNote(result: PipelineResult): string {
  return `The pipeline result is ${result}, so the action did not wait for a verdict (it only gates successful deploys).`;
}

/** The verdict in a few lines: headline, summary, then each reason. */
export function describeVerdict(verdict: Verdict, deploymentNumber: number, url: string): string {
  const lines = [
    `SeqPulse verdict for deployment #${deploymentNumber}: ${verdict.verdict} (confidence ${formatConfidence(verdict.confidence)})`,
    verdict.summary,
    ...verdict.reasons.map(
      (reason) => `  - [${reason.severity}] ${reason.metric ?? "data"} ${reason.rule}: ${reason.message}`,
    ),
    `API: GET ${url}`,
  ];
  return lines.filter((line) => line.trim() !== "").join("\n");
}

export interface GateSettings {
  failOn: FailOn;
  verdictTimeoutSeconds: number;
  failOnError: boolean;
  pollIntervalMs: number;
}

export function gateSettings(inputs: GateInputs, tuning: Tuning): GateSettings {
  return {
    failOn: inputs.failOn,
    verdictTimeoutSeconds: inputs.verdictTimeoutSeconds,
    failOnError: inputs.failOnError,
    pollIntervalMs: tuning.pollIntervalMs,
  };
}

export interface GateResult {
  outcome: StepOutcome;
  /** The last deployment read, for the summary. */
  deployment: DeploymentDetail | undefined;
}

/**
 * Waits for the verdict and applies fail-on. A verdict at or above fail-on fails the step; an abandoned
 * deployment, a timeout or SeqPulse trouble is a warning (a failure with fail-on-error).
 */
export async function waitAndGate(
  toolkit: Toolkit,
  client: SeqPulseClient,
  deploymentId: string,
  label: string,
  settings: GateSettings,
): Promise<GateResult> {
  const url = deploymentUrl(client.apiUrl, deploymentId);
  return toolkit.group(`SeqPulse: wait for the verdict on ${label}`, async () => {
    toolkit.info(
      `Waiting up to ${settings.verdictTimeoutSeconds} s for the verdict on ${label} (${INPUT.failOn}: ${settings.failOn}); API: GET ${url}`,
    );
    let lastProgress = "";
    try {
      const result = await client.waitForVerdict(deploymentId, {
        timeoutMs: settings.verdictTimeoutSeconds * 1000,
        pollIntervalMs: settings.pollIntervalMs,
        onPoll: (deployment) => {
          const baseline = deployment.samples.filter((sample) => sample.phase === "baseline").length;
          const post = deployment.samples.length - baseline;
          const progress = `state ${deployment.state}, ${baseline} baseline and ${post} post samples`;
          if (progress !== lastProgress) toolkit.info(`  ${progress}`);
          lastProgress = progress;
        },
      });
      if (result.outcome === "verdict") {
        const { verdict, deployment } = result;
        toolkit.setOutput(OUTPUT.verdict, verdict.verdict);
        toolkit.setOutput(OUTPUT.confidence, String(verdict.confidence));
        const text = describeVerdict(verdict, deployment.deployment_number, url);
        const wouldFail = verdictFails(verdict.verdict, settings.failOn);
        // A dry-run project trials its gate: say what would have happened, never fail on it.
        if (verdict.dry_run && wouldFail) {
          toolkit.warning(
            `${text}\nDry run: the project records verdicts without gating, so the job goes on; without dry run it would fail because ${INPUT.failOn} is ${settings.failOn}.`,
          );
          return { outcome: {}, deployment };
        }
        if (wouldFail) {
          toolkit.info(text);
          return {
            outcome: { failure: `${text}\nThe job fails because ${INPUT.failOn} is ${settings.failOn}.` },
            deployment,
          };
        }
        if (verdict.verdict === "ok") toolkit.info(text);
        else toolkit.warning(text);
        return { outcome: {}, deployment };
      }
      const problem =
        result.outcome === "abandoned"
          ? `SeqPulse: ${label} was abandoned${result.deployment.state_reason ? ` (${result.deployment.state_reason})` : ""} before a verdict, so the gate could not run (API: GET ${url})`
          : result.outcome === "cancelled"
            ? `SeqPulse: ${label} was cancelled${result.deployment.cancel_reason ? ` (${result.deployment.cancel_reason})` : ""}, so it gets no verdict and the gate could not run (API: GET ${url})`
            : `SeqPulse: no verdict for ${label} after ${settings.verdictTimeoutSeconds} s (state: ${result.deployment?.state ?? "unknown"}), so the gate could not run; raise ${INPUT.verdictTimeoutSeconds} above the project's observation window (API: GET ${url})`;
      if (settings.failOnError) return { outcome: { failure: problem }, deployment: result.deployment };
      toolkit.warning(problem);
      return { outcome: {}, deployment: result.deployment };
    } catch (error) {
      return { outcome: handleSeqPulseError(error, settings.failOnError, toolkit), deployment: undefined };
    }
  });
}
