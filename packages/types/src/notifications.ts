import { z } from "zod";
import { DeploymentDecision, HttpUrl } from "./api.js";
import { DeploymentState, PipelineResult, VerdictValue } from "./enums.js";

/** Events a destination can subscribe to. */
export const notificationEvents = ["verdict", "deployment.abandoned", "verdict.decided"] as const;
export const NotificationEvent = z.enum(notificationEvents);
export type NotificationEvent = z.infer<typeof NotificationEvent>;

/** What a delivery carries: a subscribed event, or the "send test" message. */
export const deliveryEvents = [...notificationEvents, "test"] as const;
export const DeliveryEvent = z.enum(deliveryEvents);
export type DeliveryEvent = z.infer<typeof DeliveryEvent>;

export const destinationKinds = ["slack", "webhook"] as const;
export const DestinationKind = z.enum(destinationKinds);
export type DestinationKind = z.infer<typeof DestinationKind>;

export const deliveryStates = ["pending", "delivered", "failed"] as const;
export const DeliveryState = z.enum(deliveryStates);
export type DeliveryState = z.infer<typeof DeliveryState>;

const DestinationName = z.string().trim().min(1).max(100);
const DestinationEvents = z
  .array(NotificationEvent)
  .min(1, "subscribe to at least one event")
  .max(notificationEvents.length);

export const CreateDestinationRequest = z
  .object({
    name: DestinationName,
    kind: DestinationKind,
    url: HttpUrl,
    events: DestinationEvents,
    /** `verdict` events at or above this verdict only; `ok` sends every verdict. */
    min_verdict: VerdictValue.default("ok"),
    enabled: z.boolean().default(true),
  })
  .strict();
export type CreateDestinationRequest = z.infer<typeof CreateDestinationRequest>;

/**
 * The fields of a destination that can change; absent ones stay as they are. `kind` cannot change
 * (a Slack URL and a signed webhook are different receivers): add a new destination instead.
 */
export const UpdateDestinationRequest = z
  .strictObject(
    {
      name: DestinationName.optional(),
      url: HttpUrl.optional(),
      /** Replaces the list. */
      events: DestinationEvents.optional(),
      min_verdict: VerdictValue.optional(),
      /** `false`: no new deliveries, and those still owed are dropped (see the README). */
      enabled: z.boolean().optional(),
    },
    {
      error: (issue) =>
        issue.code === "unrecognized_keys" && issue.keys.includes("kind")
          ? "kind cannot change: add a destination of the other kind and delete this one"
          : undefined,
    },
  )
  .refine((body) => Object.keys(body).length > 0, {
    message: "send at least one field to change: name, url, events, min_verdict or enabled",
    // Only when the body is otherwise valid: `{ "kind": … }` gets its own message alone.
    when: (payload) => payload.issues.length === 0,
  });
export type UpdateDestinationRequest = z.infer<typeof UpdateDestinationRequest>;

export const Destination = z.object({
  id: z.uuid(),
  project_id: z.uuid(),
  name: z.string(),
  kind: DestinationKind,
  /** The URL with its path hidden: a Slack webhook URL is itself a credential. */
  url_display: z.string(),
  events: z.array(NotificationEvent),
  min_verdict: VerdictValue,
  enabled: z.boolean(),
  created_at: z.string(),
});
export type Destination = z.infer<typeof Destination>;

export const CreateDestinationResponse = Destination.extend({
  /** Generic webhooks only, shown once: the key of X-SeqPulse-Webhook-Signature. */
  secret: z.string().nullable(),
});
export type CreateDestinationResponse = z.infer<typeof CreateDestinationResponse>;

/** A webhook with its new signing secret, shown once; the old one signs nothing from then on. */
export const RotateDestinationSecretResponse = Destination.extend({ secret: z.string() });
export type RotateDestinationSecretResponse = z.infer<typeof RotateDestinationSecretResponse>;

export const DestinationList = z.object({ items: z.array(Destination) });
export type DestinationList = z.infer<typeof DestinationList>;

export const DeliveryAttempt = z.object({
  attempt: z.number().int().positive(),
  attempted_at: z.string(),
  /** HTTP status answered, or null when no answer arrived (network error, timeout, refused address). */
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().int(),
});
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

export const Delivery = z.object({
  delivery_id: z.uuid(),
  destination_id: z.uuid(),
  event: DeliveryEvent,
  deployment_id: z.uuid().nullable(),
  state: DeliveryState,
  attempts: z.number().int(),
  created_at: z.string(),
  next_attempt_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
  log: z.array(DeliveryAttempt),
});
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryList = z.object({ items: z.array(Delivery) });
export type DeliveryList = z.infer<typeof DeliveryList>;

export const TestDeliveryResponse = z.object({ delivery_id: z.uuid(), state: DeliveryState });
export type TestDeliveryResponse = z.infer<typeof TestDeliveryResponse>;

/** Version of the generic webhook body; a change that could break a receiver gets a new one. */
export const WEBHOOK_SCHEMA_VERSION = 1;

const WebhookReason = z.object({
  metric: z.string().nullable(),
  rule: z.string(),
  severity: z.enum(["warning", "critical"]),
  message: z.string(),
});

/** The body of every generic webhook delivery (documented in the README). */
export const WebhookPayload = z.object({
  schema_version: z.literal(WEBHOOK_SCHEMA_VERSION),
  event: DeliveryEvent,
  /** Stable across retries of one delivery: receivers use it to drop duplicates. */
  delivery_id: z.uuid(),
  occurred_at: z.string(),
  /** One line for people, e.g. "Rollback recommended: shop production #12 (3f2a9c1)". */
  message: z.string(),
  project: z.object({ id: z.uuid(), name: z.string() }),
  deployment: z
    .object({
      id: z.uuid(),
      number: z.number().int(),
      env: z.string(),
      state: DeploymentState,
      state_reason: z.string().nullable(),
      pipeline_result: PipelineResult.nullable(),
      branch: z.string().nullable(),
      commit_sha: z.string().nullable(),
      repository: z.string().nullable(),
      run_url: z.string().nullable(),
      started_at: z.string(),
      finished_at: z.string().nullable(),
      /** The console's deployment page; null when SEQPULSE_PUBLIC_URL is not set. */
      url: z.string().nullable(),
    })
    .nullable(),
  verdict: z
    .object({
      verdict: VerdictValue,
      confidence: z.number(),
      summary: z.string(),
      dry_run: z.boolean(),
      /** The most severe reasons first, at most 5. */
      top_reasons: z.array(WebhookReason),
    })
    .nullable(),
  decision: DeploymentDecision.nullable(),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;
