import type { SeqPulseClient } from "@seqpulse/client";
import type { DeploymentDetail, PipelineResult } from "@seqpulse/types";
import { type Dependencies, makeClient, readTuning, type Tuning } from "./client-factory.js";
import { INPUT, STATE } from "./constants.js";
import { handleSeqPulseError } from "./failures.js";
import { readGitHubContext } from "./github-context.js";
import { readJobResult, readSettings, type Settings } from "./inputs.js";
import { renderSummary } from "./summary.js";
import type { StepOutcome, Toolkit } from "./toolkit.js";
import { waitAndGate } from "./verdict.js";

/**
 * The post step, run when the job ends (post-if: always()). After a trigger: finish the deployment with
 * the job's result, optionally wait for the verdict and gate on it, and write the job summary.
 * After an explicit finish: write the job summary.
 */
export async function runPost(toolkit: Toolkit, deps: Dependencies): Promise<StepOutcome> {
  const deploymentId = toolkit.getState(STATE.deploymentId);
  if (!deploymentId) {
    toolkit.info("SeqPulse: the main step handed over no deployment, so there is nothing to finish.");
    return {};
  }
  const mode = toolkit.getState(STATE.mode) === "finish" ? "finish" : "trigger";
  const settings = readSettings(toolkit, readGitHubContext(deps.env));
  const tuning = readTuning(deps.env, toolkit);
  const apiUrl = toolkit.getState(STATE.apiUrl) || settings.apiUrl;
  const client = makeClient({ apiUrl, apiKey: settings.apiKey }, tuning, deps, toolkit);
  const number = toolkit.getState(STATE.deploymentNumber);
  const label = number ? `deployment #${number}` : "the deployment";

  if (mode === "finish") {
    const deployment = await readForSummary(toolkit, client, deploymentId);
    await writeSummary(toolkit, client, deploymentId, deployment, undefined);
    return {};
  }

  if (!settings.autoFinish) {
    toolkit.info(
      `SeqPulse: auto-finish is false, so ${label} is left for an explicit finish step (mode: finish), which writes the job summary.`,
    );
    return {};
  }

  const result = readJobResult(toolkit);
  const finish = await toolkit.group(`SeqPulse: finish ${label}`, async () => {
    toolkit.info(
      `The job ended with status ${toolkit.getInput(INPUT.jobStatus)}: finishing ${label} with result ${result}`,
    );
    try {
      const { data } = await client.finish({ deployment_id: deploymentId, result });
      if (data.status === "accepted") {
        toolkit.info(`${capitalize(label)} finished with result ${result}.`);
        return { kind: "finished" as const };
      }
      if (data.state === "abandoned") {
        const message = `SeqPulse: ${label} was abandoned before the job ended (it ran longer than the server's running timeout), so it will not be analyzed.`;
        // Without a verdict the gate cannot run: that fails a gated job with fail-on-error.
        if (settings.waitForVerdict && settings.failOnError) {
          return { kind: "abandoned" as const, outcome: { failure: message } };
        }
        toolkit.warning(message);
        return { kind: "abandoned" as const, outcome: {} };
      }
      toolkit.info(`${capitalize(label)} is already ${data.state}: an explicit finish step finished it.`);
      return { kind: "already" as const };
    } catch (error) {
      return { kind: "error" as const, outcome: handleSeqPulseError(error, settings.failOnError, toolkit) };
    }
  });

  // An explicit finish step owns the verdict and the summary.
  if (finish.kind === "already") return {};
  if (finish.kind === "error") {
    await writeSummary(toolkit, client, deploymentId, undefined, result, {
      note: "⚠️ SeqPulse could not be reached to finish this deployment; see the step log.",
    });
    return finish.outcome;
  }

  let outcome: StepOutcome = finish.kind === "abandoned" ? finish.outcome : {};
  let deployment: DeploymentDetail | undefined;
  let note: string | undefined;
  if (settings.waitForVerdict && finish.kind === "finished") {
    if (result === "success") {
      const gate = await waitAndGate(toolkit, client, deploymentId, label, gateSettings(settings, tuning));
      outcome = gate.outcome;
      deployment = gate.deployment;
    } else {
      note = `The job's result is ${result}, so the action did not wait for a verdict.`;
      toolkit.info(`SeqPulse: ${note}`);
    }
  }
  deployment ??= await readForSummary(toolkit, client, deploymentId);
  await writeSummary(toolkit, client, deploymentId, deployment, result, { note });
  return outcome;
}

function gateSettings(settings: Settings, tuning: Tuning) {
  return {
    failOn: settings.failOn,
    verdictTimeoutSeconds: settings.verdictTimeoutSeconds,
    failOnError: settings.failOnError,
    pollIntervalMs: tuning.pollIntervalMs,
  };
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
