import type { SeqPulseClient } from "@seqpulse/client";
import type { DeploymentDetail, DeploymentState, PipelineResult } from "@seqpulse/types";
import { type Dependencies, makeClient, readTuning } from "./client-factory.js";
import { DEFAULTS, INPUT, STATE } from "./constants.js";
import { describeFinishFailure, handleSeqPulseError } from "./failures.js";
import { type PostInputs, readJobResult, readPostInputs } from "./inputs.js";
import { renderSummary } from "./summary.js";
import type { StepOutcome, Toolkit } from "./toolkit.js";
import { gateSettings, notGatedNote, shouldGate, waitAndGate } from "./verdict.js";

type FinishCall =
  /** This step finished the deployment. */
  | { kind: "finished" }
  /**
   * Already finished or analyzed. `ours`: the answer came after a retry, so this step's own earlier
   * attempt most likely finished it and its answer was lost.
   */
  | { kind: "already"; state: DeploymentState; ours: boolean }
  | { kind: "abandoned"; outcome: StepOutcome }
  | { kind: "error"; error: unknown; outcome: StepOutcome };

/**
 * The post step, run when the job ends (post-if: always()). After a trigger: finish the deployment with
 * the job's result, optionally wait for the verdict and gate on it, and write the job summary.
 * After an explicit finish: write the job summary.
 *
 * It reads only the inputs it needs (the key, job-status and the gate inputs); the rest comes from the
 * main step's state, so no other input can keep it from finishing the deployment.
 */
export async function runPost(toolkit: Toolkit, deps: Dependencies): Promise<StepOutcome> {
  const deploymentId = toolkit.getState(STATE.deploymentId);
  if (!deploymentId) {
    toolkit.info("SeqPulse: the main step handed over no deployment, so there is nothing to finish.");
    return {};
  }
  const mode = toolkit.getState(STATE.mode) === "finish" ? "finish" : "trigger";
  const number = toolkit.getState(STATE.deploymentNumber);
  const label = number ? `deployment #${number}` : "the deployment";

  if (mode === "trigger" && toolkit.getState(STATE.autoFinish) === "false") {
    toolkit.info(
      `SeqPulse: ${INPUT.autoFinish} is false, so ${label} is left for an explicit finish step (${INPUT.mode}: finish), which writes the job summary.`,
    );
    return {};
  }

  const inputs = readPostInputs(toolkit);
  const tuning = readTuning(deps.env, toolkit);
  const apiUrl = toolkit.getState(STATE.apiUrl) || DEFAULTS.apiUrl;
  const client = makeClient({ apiUrl, apiKey: inputs.apiKey }, tuning, deps, toolkit);

  if (mode === "finish") {
    const deployment = await readForSummary(toolkit, client, deploymentId);
    await writeSummary(toolkit, client, deploymentId, deployment, undefined);
    return {};
  }

  const result = jobResult(toolkit, label);
  const { gate } = inputs;
  const finish = await finishDeployment(toolkit, client, deploymentId, label, result, inputs);

  if (finish.kind === "error") {
    await writeSummary(toolkit, client, deploymentId, undefined, result, {
      note: describeFinishFailure(finish.error),
    });
    return finish.outcome;
  }

  // A gate input the post step cannot read stops the gate, never the finish above.
  const gating = gate.waitForVerdict && shouldGate(result) && !inputs.gateProblem;
  if (finish.kind === "already" && !finish.ours && !gating) {
    // Finished before this step called: by a mode: finish step (its post step writes the summary) or
    // by another job sharing the deployment.
    toolkit.info(
      `SeqPulse: ${label} was already ${finish.state} when the job ended (finished by a ${INPUT.mode}: finish step, whose post step writes the job summary, or by another job), so this step leaves it there.`,
    );
    return inputs.gateProblem ? { failure: inputs.gateProblem.message } : {};
  }

  let outcome: StepOutcome = finish.kind === "abandoned" ? finish.outcome : {};
  let deployment: DeploymentDetail | undefined;
  let note: string | undefined;
  if (gate.waitForVerdict && finish.kind !== "abandoned") {
    if (gating) {
      const gated = await waitAndGate(toolkit, client, deploymentId, label, gateSettings(gate, tuning));
      outcome = gated.outcome;
      deployment = gated.deployment;
    } else if (!shouldGate(result)) {
      note = notGatedNote(result);
      toolkit.info(`SeqPulse: ${note}`);
    }
  }
  deployment ??= await readForSummary(toolkit, client, deploymentId);
  await writeSummary(toolkit, client, deploymentId, deployment, result, { note });
  if (inputs.gateProblem) return { failure: inputs.gateProblem.message };
  return outcome;
}

/** The job's result; a job-status that is not one finishes the deployment as failed, with a warning. */
function jobResult(toolkit: Toolkit, label: string): PipelineResult {
  const { raw, result } = readJobResult(toolkit);
  if (result) return result;
  toolkit.warning(
    `SeqPulse: ${INPUT.jobStatus} "${raw}" is not a job status (success, failure or cancelled), so ${label} is finished as failed; leave ${INPUT.jobStatus} unset so it defaults to \${{ job.status }}.`,
  );
  return "failed";
}

async function finishDeployment(
  toolkit: Toolkit,
  client: SeqPulseClient,
  deploymentId: string,
  label: string,
  result: PipelineResult,
  inputs: PostInputs,
): Promise<FinishCall> {
  return toolkit.group(`SeqPulse: finish ${label}`, async (): Promise<FinishCall> => {
    toolkit.info(
      `The job ended with status ${toolkit.getInput(INPUT.jobStatus) || "(none)"}: finishing ${label} with result ${result}`,
    );
    try {
      const { data, attempts } = await client.finish({ deployment_id: deploymentId, result });
      if (data.status === "accepted") {
        toolkit.info(`${capitalize(label)} finished with result ${result}.`);
        return { kind: "finished" };
      }
      if (data.state === "abandoned") {
        const message = `SeqPulse: ${label} was abandoned before the job ended (it ran longer than the server's running timeout), so it will not be analyzed.`;
        // Without a verdict the gate cannot run: that fails a gated job with fail-on-error.
        if (inputs.gate.waitForVerdict && inputs.gate.failOnError) {
          return { kind: "abandoned", outcome: { failure: message } };
        }
        toolkit.warning(message);
        return { kind: "abandoned", outcome: {} };
      }
      const ours = attempts > 1;
      toolkit.info(
        ours
          ? `${capitalize(label)} is already ${data.state}: this step's earlier attempt most likely finished it, and its answer was lost.`
          : `${capitalize(label)} is already ${data.state}.`,
      );
      return { kind: "already", state: data.state, ours };
    } catch (error) {
      return { kind: "error", error, outcome: handleSeqPulseError(error, inputs.gate.failOnError, toolkit) };
    }
  });
}

/** One read for the summary; trouble here is only a warning, whatever fail-on-error says. */
async function readForSummary(
  toolkit: Toolkit,
  client: SeqPulseClient,
  deploymentId: string,
): Promise<DeploymentDetail | undefined> {
  try {
    return (await client.getDeployment(deploymentId)).data;
  } catch (error) {
    toolkit.warning(
      `SeqPulse: could not read the deployment for the job summary: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
}

async function writeSummary(
  toolkit: Toolkit,
  client: SeqPulseClient,
  deploymentId: string,
  deployment: DeploymentDetail | undefined,
  pipelineResult: PipelineResult | undefined,
  extra: { note?: string | undefined } = {},
): Promise<void> {
  const markdown = renderSummary({
    apiUrl: client.apiUrl,
    publicUrl: toolkit.getState(STATE.publicUrl) || undefined,
    deploymentId,
    deployment,
    known: {
      number: toolkit.getState(STATE.deploymentNumber) || undefined,
      env: toolkit.getState(STATE.env) || undefined,
      branch: toolkit.getState(STATE.branch) || undefined,
      commitSha: toolkit.getState(STATE.commitSha) || undefined,
    },
    pipelineResult,
    note: extra.note,
  });
  try {
    await toolkit.writeSummary(markdown);
  } catch (error) {
    toolkit.warning(
      `SeqPulse: could not write the job summary: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
