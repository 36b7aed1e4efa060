import type { SeqPulseClient } from "@seqpulse/client";
import {
  type Dependencies,
  deploymentUrl,
  makeClient,
  readTuning,
  type Tuning,
  warnOnPlainHttp,
} from "./client-factory.js";
import { INPUT, OUTPUT, STATE } from "./constants.js";
import { errorStatus, handleSeqPulseError } from "./failures.js";
import { ciMetadata, type GitHubContext, readGitHubContext } from "./github-context.js";
import { readSettings, type Settings } from "./inputs.js";
import type { StepOutcome, Toolkit } from "./toolkit.js";
import { gateSettings, notGatedNote, shouldGate, waitAndGate } from "./verdict.js";

/** The main step: trigger a deployment (mode: trigger) or finish one (mode: finish). */
export async function runMain(toolkit: Toolkit, deps: Dependencies): Promise<StepOutcome> {
  const context = readGitHubContext(deps.env);
  const settings = readSettings(toolkit, context);
  const tuning = readTuning(deps.env, toolkit);
  warnOnPlainHttp(settings.apiUrl, toolkit);
  const client = makeClient(settings, tuning, deps, toolkit);
  return settings.mode === "trigger"
    ? trigger(toolkit, client, settings, context)
    : finishExplicitly(toolkit, client, settings, tuning);
}

async function trigger(
  toolkit: Toolkit,
  client: SeqPulseClient,
  settings: Settings,
  context: GitHubContext,
): Promise<StepOutcome> {
  if (settings.waitForVerdict && !settings.autoFinish) {
    toolkit.warning(
      `SeqPulse: ${INPUT.waitForVerdict} has no effect on a trigger step with ${INPUT.autoFinish}: false, as this step's post step does not finish the deployment; set ${INPUT.waitForVerdict} on the ${INPUT.mode}: finish step instead.`,
    );
  }
  return toolkit.group(`SeqPulse: trigger a deployment in ${settings.env}`, async () => {
    toolkit.info(`API: ${client.apiUrl}`);
    toolkit.info(
      `Environment ${settings.env}, branch ${settings.branch ?? "(none)"}, commit ${settings.commitSha ?? "(none)"}, idempotency key ${settings.idempotencyKey ?? "(none: one is made for this step)"}`,
    );
    if (!settings.idempotencyKey) {
      toolkit.warning(
        `SeqPulse: no ${INPUT.idempotencyKey} and no GITHUB_RUN_ID; a re-run of this step will create another deployment`,
      );
    }
    try {
      const { data, status, attempts } = await client.trigger(
        {
          env: settings.env,
          ...(settings.branch ? { branch: settings.branch } : {}),
          ...(settings.commitSha ? { commit_sha: settings.commitSha } : {}),
          ...(settings.metricsEndpoint ? { metrics_endpoint: settings.metricsEndpoint } : {}),
          ci: ciMetadata(context),
        },
        settings.idempotencyKey ? { idempotencyKey: settings.idempotencyKey } : {},
      );
      toolkit.setOutput(OUTPUT.deploymentId, data.deployment_id);
      toolkit.setOutput(OUTPUT.deploymentNumber, String(data.deployment_number));
      toolkit.setOutput(OUTPUT.status, data.status);
      toolkit.setOutput(OUTPUT.httpStatus, String(status));
      toolkit.saveState(STATE.deploymentId, data.deployment_id);
      toolkit.saveState(STATE.deploymentNumber, String(data.deployment_number));
      toolkit.saveState(STATE.apiUrl, client.apiUrl);
      toolkit.saveState(STATE.publicUrl, settings.publicUrl ?? "");
      toolkit.saveState(STATE.env, data.env);
      toolkit.saveState(STATE.branch, settings.branch ?? "");
      toolkit.saveState(STATE.commitSha, settings.commitSha ?? "");
      toolkit.saveState(STATE.mode, "trigger");
      toolkit.saveState(STATE.autoFinish, String(settings.autoFinish));

      const url = deploymentUrl(client.apiUrl, data.deployment_id);
      const how =
        data.status === "created"
          ? "created"
          : data.reason === "running"
            ? `already running in ${data.env}; joined it`
            : `already created for idempotency key ${data.idempotency_key} (a repeated try of this run attempt)`;
      toolkit.info(
        `Deployment #${data.deployment_number} ${how}${attempts > 1 ? ` after ${attempts} attempts` : ""} (API: GET ${url})`,
      );
      toolkit.info(
        `Open it in SeqPulse: ${deploymentUrl(settings.publicUrl ?? client.apiUrl, data.deployment_id)}`,
      );
      if (data.state !== "running") {
        toolkit.info(
          `Deployment #${data.deployment_number} is already ${data.state}; the post step will not change it.`,
        );
      }
      return {};
    } catch (error) {
      const status = errorStatus(error);
      if (status !== undefined) toolkit.setOutput(OUTPUT.httpStatus, String(status));
      return handleSeqPulseError(error, settings.failOnError, toolkit);
    }
  });
}

async function finishExplicitly(
  toolkit: Toolkit,
  client: SeqPulseClient,
  settings: Settings,
  tuning: Tuning,
): Promise<StepOutcome> {
  const deploymentId = settings.deploymentId as string;
  const result = settings.result as NonNullable<Settings["result"]>;
  const url = deploymentUrl(client.apiUrl, deploymentId);
  const finished = await toolkit.group("SeqPulse: finish the deployment", async () => {
    toolkit.info(`Finishing deployment ${deploymentId} with result ${result} (API: GET ${url})`);
    try {
      const { data, status } = await client.finish({ deployment_id: deploymentId, result });
      toolkit.setOutput(OUTPUT.deploymentId, deploymentId);
      toolkit.setOutput(OUTPUT.httpStatus, String(status));
      toolkit.info(
        data.status === "accepted"
          ? `Deployment finished with result ${result}; SeqPulse now observes the post-deploy window.`
          : `Finish ignored: the deployment is already ${data.state}.`,
      );
      // Only a finished deployment is handed to the post step; after a failure, the trigger step's
      // auto-finish is still there to retry.
      toolkit.saveState(STATE.deploymentId, deploymentId);
      toolkit.saveState(STATE.apiUrl, client.apiUrl);
      toolkit.saveState(STATE.publicUrl, settings.publicUrl ?? "");
      toolkit.saveState(STATE.mode, "finish");
      return { ok: true as const };
    } catch (error) {
      const status = errorStatus(error);
      if (status !== undefined) toolkit.setOutput(OUTPUT.httpStatus, String(status));
      return { ok: false as const, outcome: handleSeqPulseError(error, settings.failOnError, toolkit) };
    }
  });
  if (!finished.ok) return finished.outcome;
  if (!settings.waitForVerdict) return {};
  if (!shouldGate(result)) {
    toolkit.info(`SeqPulse: ${notGatedNote(result)}`);
    return {};
  }

  const gate = await waitAndGate(
    toolkit,
    client,
    deploymentId,
    "the deployment",
    gateSettings(settings, tuning),
  );
  if (gate.deployment) {
    toolkit.setOutput(OUTPUT.deploymentNumber, String(gate.deployment.deployment_number));
  }
  return gate.outcome;
}
