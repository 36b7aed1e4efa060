import type { WebhookPayload } from "@seqpulse/types";
import { headline } from "./payload.js";

/** The Block Kit subset SeqPulse sends; Slack's limits are kept by `slackMessage`. */
export type SlackText =
  | { type: "plain_text"; text: string; emoji?: boolean }
  | { type: "mrkdwn"; text: string };
export type SlackBlock =
  | { type: "header"; text: { type: "plain_text"; text: string; emoji?: boolean } }
  | { type: "section"; text?: SlackText; fields?: SlackText[] }
  | { type: "context"; elements: SlackText[] }
  | {
      type: "actions";
      elements: Array<{
        type: "button";
        text: { type: "plain_text"; text: string };
        url: string;
        style?: "primary" | "danger";
      }>;
    };

export interface SlackMessage {
  /** Shown in notifications and by clients that cannot draw blocks. */
  text: string;
  blocks: SlackBlock[];
}

// Slack's documented limits: header 150, section text 3000, field 2000, 10 fields, button text 75.
const HEADER_MAX = 150;
const TEXT_MAX = 3000;
const FIELD_MAX = 2000;

const verdictIcon: Record<string, string> = {
  ok: ":white_check_mark:",
  warning: ":warning:",
  rollback_recommended: ":rotating_light:",
};

/** Slack mrkdwn treats &, < and > as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const field = (label: string, value: string): SlackText => ({
  type: "mrkdwn",
  text: clip(`*${label}*\n${escapeMrkdwn(value)}`, FIELD_MAX),
});

function icon(payload: WebhookPayload): string {
  if (payload.event === "verdict" && payload.verdict) return verdictIcon[payload.verdict.verdict] ?? "";
  if (payload.event === "deployment.abandoned") return ":double_vertical_bar:";
  if (payload.event === "verdict.decided") return ":memo:";
  return ":wave:";
}

/** The Slack incoming-webhook message for one delivery. */
export function slackMessage(payload: WebhookPayload): SlackMessage {
  const { deployment, verdict, decision } = payload;
  const blocks: SlackBlock[] = [];
  const title = deployment
    ? `${headline(payload.event, verdict, decision)} · ${payload.project.name} ${deployment.env} #${deployment.number}`
    : headline(payload.event, verdict, decision);
  blocks.push({ type: "header", text: { type: "plain_text", text: clip(title, HEADER_MAX), emoji: true } });

  if (verdict && payload.event === "verdict") {
    const dryRun = verdict.dry_run ? " _(dry run: no gate fails on it)_" : "";
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: clip(`${icon(payload)} ${escapeMrkdwn(verdict.summary)}${dryRun}`, TEXT_MAX),
      },
    });
  } else {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: clip(`${icon(payload)} ${escapeMrkdwn(payload.message)}`, TEXT_MAX) },
    });
  }

  if (deployment) {
    const fields = [
      field("Environment", deployment.env),
      field("Commit", deployment.commit_sha ? deployment.commit_sha.slice(0, 12) : "—"),
      field("Branch", deployment.branch ?? "—"),
    ];
    if (verdict) {
      fields.push(
        field("Verdict", verdict.verdict),
        field("Confidence", `${Math.round(verdict.confidence * 100)} %`),
      );
    }
    if (deployment.repository) fields.push(field("Repository", deployment.repository));
    if (deployment.state_reason && payload.event === "deployment.abandoned") {
      fields.push(field("Why", deployment.state_reason.replaceAll("_", " ")));
    }
    blocks.push({ type: "section", fields: fields.slice(0, 10) });
  }

  if (verdict && verdict.top_reasons.length > 0 && payload.event === "verdict") {
    const lines = verdict.top_reasons
      .slice(0, 3)
      .map(
        (reason) =>
          `• ${reason.severity === "critical" ? "*critical*" : "warning"}: ${escapeMrkdwn(reason.message)}`,
      );
    blocks.push({ type: "section", text: { type: "mrkdwn", text: clip(lines.join("\n"), TEXT_MAX) } });
  }

  if (decision && payload.event === "verdict.decided") {
    const note = decision.note ? `\n>${escapeMrkdwn(decision.note).replaceAll("\n", "\n>")}` : "";
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: clip(`Decided by ${escapeMrkdwn(decision.decided_by)}${note}`, TEXT_MAX),
      },
    });
  }

  if (deployment?.url) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Open deployment" },
          url: deployment.url,
          ...(verdict?.verdict === "rollback_recommended" && payload.event === "verdict"
            ? { style: "danger" as const }
            : {}),
        },
      ],
    });
  }
  blocks.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: `SeqPulse · ${payload.event} · delivery ${payload.delivery_id}` }],
  });
  return { text: clip(payload.message, TEXT_MAX), blocks };
}
