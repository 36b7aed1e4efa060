import {
  type DecisionValue,
  type DeliveryEvent,
  type VerdictReason,
  type VerdictValue,
  WEBHOOK_SCHEMA_VERSION,
  type WebhookPayload,
} from "@seqpulse/types";
import type {
  DeploymentDecisionRow,
  DeploymentRow,
  NotificationDestinationRow,
  Project,
  VerdictRow,
} from "../db/schema/index.js";
import { toDecision } from "../deployments/store.js";

/** The webhook body as frozen in the outbox: everything but the delivery id and links. */
export type StoredPayload = Omit<WebhookPayload, "delivery_id" | "deployment"> & {
  deployment: Omit<NonNullable<WebhookPayload["deployment"]>, "url"> | null;
};

const TOP_REASONS = 5;

/** The deployment page in the console; the same path serves the JSON to API clients. */
export function deploymentPagePath(deploymentId: string): string {
  return `/deployments/${deploymentId}`;
}

function ciText(ci: Record<string, unknown> | null, field: string): string | null {
  const value = ci?.[field];
  return typeof value === "string" && value !== "" ? value : null;
}

/** Critical reasons first, then in the engine's order. */
export function topReasons(reasons: readonly VerdictReason[], count = TOP_REASONS): VerdictReason[] {
  return reasons
    .map((reason, index) => ({ reason, index }))
    .sort((a, b) => rank(b.reason) - rank(a.reason) || a.index - b.index)
    .slice(0, count)
    .map(({ reason }) => reason);
}

const rank = (reason: VerdictReason) => (reason.severity === "critical" ? 1 : 0);

export function eventPayload({
  event,
  project,
  deployment,
  verdict,
  decision,
  occurredAt,
}: {
  event: DeliveryEvent;
  project: Pick<Project, "id" | "name">;
  deployment: DeploymentRow | null;
  verdict: VerdictRow | null;
  decision: DeploymentDecisionRow | null;
  occurredAt: Date;
}): StoredPayload {
  return {
    schema_version: WEBHOOK_SCHEMA_VERSION,
    event,
    occurred_at: occurredAt.toISOString(),
    message: deployment
      ? eventMessage(event, project, deployment, verdict, decision)
      : headline(event, verdict, decision),
    project: { id: project.id, name: project.name },
    deployment: deployment && {
      id: deployment.id,
      number: deployment.deploymentNumber,
      env: deployment.env,
      state: deployment.state,
      state_reason: deployment.stateReason,
      pipeline_result: deployment.pipelineResult,
      branch: deployment.branch,
      commit_sha: deployment.commitSha,
      repository: ciText(deployment.ci, "repository"),
      run_url: ciText(deployment.ci, "run_url"),
      started_at: deployment.startedAt.toISOString(),
      finished_at: deployment.finishedAt?.toISOString() ?? null,
    },
    verdict: verdict && {
      verdict: verdict.verdict,
      confidence: verdict.confidence,
      summary: verdict.summary,
      dry_run: verdict.dryRun,
      top_reasons: topReasons(verdict.reasons).map((reason) => ({
        metric: reason.metric,
        rule: reason.rule,
        severity: reason.severity,
        message: reason.message,
      })),
    },
    decision: decision && toDecision(decision),
  };
}

/** The body a generic webhook receives: the stored payload, its delivery id and the page link. */
export function webhookBody(
  stored: StoredPayload,
  deliveryId: string,
  publicUrl: string | undefined,
): WebhookPayload {
  const { schema_version, event, occurred_at, message, project, deployment, verdict, decision } = stored;
  return {
    schema_version,
    event,
    delivery_id: deliveryId,
    occurred_at,
    message,
    project,
    deployment: deployment && {
      ...deployment,
      url: publicUrl ? `${publicUrl}${deploymentPagePath(deployment.id)}` : null,
    },
    verdict,
    decision,
  };
}

export function testPayload(
  project: Pick<Project, "id" | "name">,
  destination: Pick<NotificationDestinationRow, "name">,
  occurredAt: Date,
): StoredPayload {
  return {
    schema_version: WEBHOOK_SCHEMA_VERSION,
    event: "test",
    occurred_at: occurredAt.toISOString(),
    message: `Test message from SeqPulse for destination "${destination.name}" of ${project.name}.`,
    project: { id: project.id, name: project.name },
    deployment: null,
    verdict: null,
    decision: null,
  };
}

export const verdictTitle: Record<VerdictValue, string> = {
  ok: "OK",
  warning: "Warning",
  rollback_recommended: "Rollback recommended",
};

export const decisionTitle: Record<DecisionValue, string> = {
  accepted: "Verdict accepted",
  rollback_done: "Rollback done",
};

/** What happened, in two or three words: "Rollback recommended", "Deployment abandoned". */
export function headline(
  event: DeliveryEvent,
  verdict: { verdict: VerdictValue } | null,
  decision: { decision: DecisionValue } | null,
): string {
  if (event === "verdict" && verdict) return verdictTitle[verdict.verdict];
  if (event === "verdict.decided" && decision) return decisionTitle[decision.decision];
  if (event === "deployment.abandoned") return "Deployment abandoned";
  return "SeqPulse test message";
}

function eventMessage(
  event: DeliveryEvent,
  project: Pick<Project, "name">,
  deployment: DeploymentRow,
  verdict: VerdictRow | null,
  decision: DeploymentDecisionRow | null,
): string {
  const commit = deployment.commitSha ? ` (${deployment.commitSha.slice(0, 7)})` : "";
  const what = `${project.name} ${deployment.env} #${deployment.deploymentNumber}${commit}`;
  const detail =
    event === "verdict.decided" && decision?.note
      ? `: ${decision.note}`
      : event === "verdict" && verdict
        ? `: ${verdict.summary}`
        : "";
  return `${headline(event, verdict, decision)}: ${what}${detail}`;
}
