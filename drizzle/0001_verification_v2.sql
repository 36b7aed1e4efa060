CREATE TABLE "deployment_decisions" (
	"deployment_id" uuid PRIMARY KEY NOT NULL,
	"decision" text NOT NULL,
	"note" text,
	"decided_by" text NOT NULL,
	"decided_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_deployment_decisions_decision" CHECK ("deployment_decisions"."decision" in ('accepted', 'rollback_done'))
);
--> statement-breakpoint
CREATE TABLE "deployment_keys" (
	"project_id" uuid NOT NULL,
	"env" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"deployment_id" uuid NOT NULL,
	"request_fingerprint" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pk_deployment_keys" PRIMARY KEY("project_id","env","idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "last_known_good" (
	"project_id" uuid NOT NULL,
	"env" text NOT NULL,
	"deployment_id" uuid NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "last_known_good_project_id_env_pk" PRIMARY KEY("project_id","env")
);
--> statement-breakpoint
CREATE TABLE "notification_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"delivery_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"attempted_at" timestamp with time zone NOT NULL,
	"status_code" integer,
	"error" text,
	"duration_ms" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"destination_id" uuid NOT NULL,
	"event" text NOT NULL,
	"event_key" text NOT NULL,
	"deployment_id" uuid,
	"payload" jsonb NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"leased_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "ck_notification_deliveries_event" CHECK ("notification_deliveries"."event" in ('verdict', 'deployment.abandoned', 'verdict.decided', 'test')),
	CONSTRAINT "ck_notification_deliveries_state" CHECK ("notification_deliveries"."state" in ('pending', 'delivered', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "notification_destinations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"url" text NOT NULL,
	"secret" text,
	"events" text[] NOT NULL,
	"min_verdict" text DEFAULT 'ok' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_notification_destinations_kind" CHECK ("notification_destinations"."kind" in ('slack', 'webhook')),
	CONSTRAINT "ck_notification_destinations_min_verdict" CHECK ("notification_destinations"."min_verdict" in ('ok', 'warning', 'rollback_recommended')),
	CONSTRAINT "ck_notification_destinations_events" CHECK ("notification_destinations"."events" <@ array['verdict', 'deployment.abandoned', 'verdict.decided']::text[]),
	CONSTRAINT "ck_notification_destinations_secret" CHECK (("notification_destinations"."kind" = 'webhook') = ("notification_destinations"."secret" is not null))
);
--> statement-breakpoint
CREATE TABLE "rate_limit_buckets" (
	"key" text PRIMARY KEY NOT NULL,
	"tokens" double precision NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deployments" DROP CONSTRAINT "ck_deployments_state";--> statement-breakpoint
ALTER TABLE "metric_samples" ALTER COLUMN "requests_per_sec" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "metric_samples" ALTER COLUMN "latency_p95" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "metric_samples" ALTER COLUMN "error_rate" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "metric_samples" ALTER COLUMN "cpu_usage" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "metric_samples" ALTER COLUMN "memory_usage" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "cancelled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "cancelled_by" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "cancel_reason" text;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD COLUMN "source" text DEFAULT 'sample' NOT NULL;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD COLUMN "period_start" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD COLUMN "requests" bigint;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD COLUMN "errors" bigint;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD COLUMN "requests_total" bigint;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD COLUMN "errors_total" bigint;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD COLUMN "custom_metrics" jsonb;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "previous_api_key_id" text;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "previous_api_key_hash" text;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "previous_api_key_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "previous_hmac_secret" text;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "previous_hmac_secret_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "baseline_interval_seconds" integer DEFAULT 15 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "baseline_samples" integer DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "baseline_lookback_seconds" integer DEFAULT 1800 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "metrics_source" jsonb;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "retention_days" integer;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "verdicts" ADD COLUMN "hints" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "verdicts" ADD COLUMN "engine_version" text;--> statement-breakpoint
ALTER TABLE "verdicts" ADD COLUMN "dry_run" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "deployment_decisions" ADD CONSTRAINT "deployment_decisions_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_keys" ADD CONSTRAINT "deployment_keys_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_keys" ADD CONSTRAINT "deployment_keys_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "last_known_good" ADD CONSTRAINT "last_known_good_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "last_known_good" ADD CONSTRAINT "last_known_good_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_attempts" ADD CONSTRAINT "notification_attempts_delivery_id_notification_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."notification_deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_destination_id_notification_destinations_id_fk" FOREIGN KEY ("destination_id") REFERENCES "public"."notification_destinations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_destinations" ADD CONSTRAINT "notification_destinations_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_deployment_keys_deployment" ON "deployment_keys" USING btree ("deployment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "uq_notification_attempt" ON "notification_attempts" USING btree ("delivery_id","attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "uq_notification_delivery_event" ON "notification_deliveries" USING btree ("destination_id","event_key");--> statement-breakpoint
CREATE INDEX "idx_notification_deliveries_due" ON "notification_deliveries" USING btree ("next_attempt_at") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "idx_notification_deliveries_destination" ON "notification_deliveries" USING btree ("destination_id","created_at");--> statement-breakpoint
CREATE INDEX "idx_notification_destinations_project" ON "notification_destinations" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "idx_deployments_started" ON "deployments" USING btree ("started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "uq_projects_previous_api_key_id" ON "projects" USING btree ("previous_api_key_id");--> statement-breakpoint
-- Names become unique (whatever their case): a duplicate of an older project gets its id appended.
UPDATE "projects" SET "name" = "projects"."name" || ' (' || left("projects"."id"::text, 8) || ')'
FROM (SELECT "id", row_number() OVER (PARTITION BY lower("name") ORDER BY "created_at", "id") AS "n" FROM "projects") AS "ranked"
WHERE "ranked"."id" = "projects"."id" AND "ranked"."n" > 1;--> statement-breakpoint
CREATE UNIQUE INDEX "uq_projects_name" ON "projects" USING btree (lower("name"));--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "ck_deployments_state" CHECK ("deployments"."state" in ('running', 'finished', 'analyzed', 'abandoned', 'cancelled'));--> statement-breakpoint
ALTER TABLE "metric_samples" ADD CONSTRAINT "ck_metric_samples_source" CHECK ("metric_samples"."source" in ('sample', 'history'));--> statement-breakpoint
ALTER TABLE "metric_samples" ADD CONSTRAINT "ck_metric_samples_counts" CHECK ("metric_samples"."errors" is null or "metric_samples"."errors" <= "metric_samples"."requests");--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "ck_projects_baseline" CHECK ("projects"."baseline_interval_seconds" >= 1 and "projects"."baseline_samples" >= 1 and "projects"."baseline_lookback_seconds" >= 0);--> statement-breakpoint
-- Every idempotency key is claimed in deployment_keys: the keys of deployments created before the table existed.
INSERT INTO "deployment_keys" ("project_id", "env", "idempotency_key", "deployment_id", "request_fingerprint", "created_at")
SELECT "project_id", "env", "idempotency_key", "id", "request_fingerprint", "started_at"
FROM "deployments" WHERE "idempotency_key" IS NOT NULL
ON CONFLICT DO NOTHING;
