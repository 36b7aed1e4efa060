import { createHmac, randomBytes } from "node:crypto";

export const SIGNATURE_HEADER = "X-SeqPulse-Webhook-Signature";
export const TIMESTAMP_HEADER = "X-SeqPulse-Webhook-Timestamp";

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

/**
 * `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the timestamp in Unix seconds, as
 * Stripe signs: binding the time lets a receiver refuse a replay older than a few minutes.
 */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export function signatureHeaders(secret: string, body: string, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, body),
  };
}
