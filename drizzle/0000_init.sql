CREATE TABLE "collection_failures" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" uuid NOT NULL,
	"phase" text NOT NULL,
	"sequence" integer NOT NULL,
	"attempted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" text NOT NULL,
	"reason" text NOT NULL,
	"http_status" integer,
	CONSTRAINT "ck_collection_failures_phase" CHECK ("collection_failures"."phase" in ('baseline', 'post')),
	CONSTRAINT "ck_collection_failures_kind" CHECK ("collection_failures"."kind" in ('transient', 'permanent', 'invalid'))
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"deployment_number" integer NOT NULL,
	"env" text NOT NULL,
	"idempotency_key" text,
	"request_fingerprint" text NOT NULL,
	"branch" text,
	"commit_sha" text,
	"metrics_endpoint" text NOT NULL,
	"ci" jsonb,
	"state" text DEFAULT 'running' NOT NULL,
	"state_reason" text,
	"pipeline_result" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"duration_ms" integer,
	"abandoned_at" timestamp with time zone,
	"analyzed_at" timestamp with time zone,
	CONSTRAINT "ck_deployments_state" CHECK ("deployments"."state" in ('running', 'finished', 'analyzed', 'abandoned')),
	CONSTRAINT "ck_deployments_pipeline_result" CHECK ("deployments"."pipeline_result" is null or "deployments"."pipeline_result" in ('success', 'failed', 'cancelled')),
	CONSTRAINT "ck_deployments_finished_has_result" CHECK ("deployments"."state" not in ('finished', 'analyzed') or ("deployments"."finished_at" is not null and "deployments"."pipeline_result" is not null))
);
--> statement-breakpoint
CREATE TABLE "metric_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" uuid NOT NULL,
	"phase" text NOT NULL,
	"sequence" integer NOT NULL,
	"collected_at" timestamp with time zone NOT NULL,
	"fetched_at" timestamp with time zone DEFAULT now() NOT NULL,
	"requests_per_sec" double precision NOT NULL,
	"latency_p95" double precision NOT NULL,
	"error_rate" double precision NOT NULL,
	"cpu_usage" double precision NOT NULL,
	"memory_usage" double precision NOT NULL,
	CONSTRAINT "ck_metric_samples_phase" CHECK ("metric_samples"."phase" in ('baseline', 'post'))
);
--> statement-breakpoint
CREATE TABLE "projects" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"api_key_id" text NOT NULL,
	"api_key_hash" text NOT NULL,
	"hmac_secret" text NOT NULL,
	"hmac_enabled" boolean DEFAULT false NOT NULL,
	"envs" text[] DEFAULT '{}'::text[] NOT NULL,
	"metrics_endpoint" text,
	"observation_window_seconds" integer DEFAULT 300 NOT NULL,
	"sample_interval_seconds" integer DEFAULT 60 NOT NULL,
	"warmup_seconds" integer DEFAULT 0 NOT NULL,
	"running_conflict" text DEFAULT 'join' NOT NULL,
	"analysis" jsonb NOT NULL,
	"deployment_counter" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_projects_running_conflict" CHECK ("projects"."running_conflict" in ('join', 'reject')),
	CONSTRAINT "ck_projects_sample_interval" CHECK ("projects"."sample_interval_seconds" >= 1),
	CONSTRAINT "ck_projects_observation_window" CHECK ("projects"."observation_window_seconds" >= 1),
	CONSTRAINT "ck_projects_warmup" CHECK ("projects"."warmup_seconds" >= 0)
);
--> statement-breakpoint
CREATE TABLE "verdicts" (
	"deployment_id" uuid PRIMARY KEY NOT NULL,
	"verdict" text NOT NULL,
	"confidence" double precision NOT NULL,
	"summary" text NOT NULL,
	"reasons" jsonb NOT NULL,
	"data_quality" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_verdicts_verdict" CHECK ("verdicts"."verdict" in ('ok', 'warning', 'rollback_recommended')),
	CONSTRAINT "ck_verdicts_confidence" CHECK ("verdicts"."confidence" >= 0 and "verdicts"."confidence" <= 1)
);
--> statement-breakpoint
ALTER TABLE "collection_failures" ADD CONSTRAINT "collection_failures_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD CONSTRAINT "metric_samples_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verdicts" ADD CONSTRAINT "verdicts_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "uq_collection_failure" ON "collection_failures" USING btree ("deployment_id","phase","sequence");--> statement-breakpoint
CREATE UNIQUE INDEX "uq_running_deployment" ON "deployments" USING btree ("project_id","env") WHERE state = 'running';--> statement-breakpoint
CREATE UNIQUE INDEX "uq_deployments_idempotency_key" ON "deployments" USING btree ("project_id","env","idempotency_key") WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "uq_deployment_number" ON "deployments" USING btree ("project_id","deployment_number");--> statement-breakpoint
CREATE INDEX "idx_deployments_project_env_number" ON "deployments" USING btree ("project_id","env","deployment_number");--> statement-breakpoint
CREATE INDEX "idx_deployments_running_started" ON "deployments" USING btree ("started_at") WHERE state = 'running';--> statement-breakpoint
CREATE UNIQUE INDEX "uq_metric_sample" ON "metric_samples" USING btree ("deployment_id","phase","collected_at");--> statement-breakpoint
CREATE UNIQUE INDEX "uq_projects_api_key_id" ON "projects" USING btree ("api_key_id");