import {
  CreateDestinationRequest,
  CreateProjectRequest,
  DEFAULT_ROTATION_GRACE_SECONDS,
  type Delivery,
  type Destination,
  destinationKinds,
  notificationEvents,
  type ProjectSettings,
  RotateCredentialRequest,
  UpdateDestinationRequest,
  UpdateProjectRequest,
  verdictValues,
} from "@seqpulse/types";
import type { z } from "zod";
import { locateDatabase } from "./db/bootstrap.js";
import { connectDatabase, type Database } from "./db/client.js";
import { setUpEncryption } from "./db/encryption-key.js";
import { runMigrations } from "./db/migrate.js";
import { reencryptSecrets } from "./db/reencrypt.js";
import { type Config, ConfigError, loadConfig } from "./env.js";
import { AppError } from "./errors.js";
import { createLogger, errorFields } from "./logger.js";
import {
  createDestination,
  deleteDestination,
  displayUrl,
  findDestination,
  findDestinationId,
  listDeliveries,
  listDestinations,
  rotateDestinationSecret,
  sendTest,
  updateDestination,
} from "./notifications/destinations.js";
import {
  createProject,
  deleteProject,
  findProjectId,
  listProjects,
  rotateApiKey,
  rotateHmacSecret,
  setProjectDisabled,
  updateProject,
} from "./projects/service.js";

const DATABASE_NOTE = `Uses DATABASE_URL when set, otherwise the embedded database under SEQPULSE_DATA_DIR
(the running server's, when one is running). Exit codes: 0 done, 1 refused (e.g. name taken, project busy,
not found), 2 usage error.`;

const USAGE = `Usage: pnpm seqpulse projects <command> [options]

  create       --name <name> [--env <env>]... [--metrics-endpoint <url>] [--metrics-source <json>]
               [--observation-window <s>] [--sample-interval <s>] [--warmup <s>] [--hmac]
               [--running-conflict join|reject] [--dry-run] [--analysis <json>] [--json]
  list         [--json]
  update       --project <name|id> [--name <new name>] [--env <env>]... [--any-env]
               [--metrics-endpoint <url> | --no-metrics-endpoint] [--metrics-source <json> | --no-metrics-source]
               [--observation-window <s>] [--sample-interval <s>] [--warmup <s>] [--hmac | --no-hmac]
               [--running-conflict join|reject] [--dry-run | --no-dry-run] [--analysis <json>] [--json]
  rotate-key   --project <name|id> [--grace <s>] [--json]    new API key; the old one works for --grace (default ${DEFAULT_ROTATION_GRACE_SECONDS} s)
  rotate-hmac  --project <name|id> [--grace <s>] [--json]    new HMAC secret; endpoints may accept the old one for --grace
  disable      --project <name|id>                          its API keys get 403 project_disabled; data stays
  enable       --project <name|id>
  delete       --project <name|id> --yes [--force]          removes the project and all its data; --force even while deployments run

${DATABASE_NOTE}`;

const DESTINATIONS_USAGE = `Usage: pnpm seqpulse destinations <command> [options]

  add            --project <name|id> --name <name> --kind ${destinationKinds.join("|")} --url <url>
                 [--event <event>]... [--min-verdict ${verdictValues.join("|")}] [--disabled] [--json]
                 a webhook's signing secret is printed once; events default to all: ${notificationEvents.join(", ")}
  list           --project <name|id> [--json]
  update         --destination <id> | --project <name|id> --destination <name>
                 [--name <new name>] [--url <url>] [--event <event>]... [--min-verdict <verdict>]
                 [--enable | --disable] [--json]          a disabled destination gets nothing new; owed deliveries are dropped
  rotate-secret  <destination> [--json]                   new webhook signing secret, printed once; the old one stops at once
  test           <destination> [--json]                   queues a test message; the server's workers send it
  deliveries     <destination> [--limit <n>] [--json]     the delivery log, newest first (default 20)
  remove         <destination> --yes [--json]             removes the destination and its delivery log

<destination> is --destination <id>, or --project <name|id> --destination <name>.

${DATABASE_NOTE}`;

/** The command groups: `pnpm seqpulse <group> <command>`. */
type Group = "projects" | "destinations";
/** The group of the command being run, for messages and the usage hint. */
let group: Group = "projects";

/** A mistake in the command line: exit code 2, with the usage hint. */
class UsageError extends Error {}

type FlagKind = "string" | "strings" | "seconds" | "count" | "json" | "boolean";
interface FlagSpec {
  kind: FlagKind;
  /** What the value is, for messages: "a whole number of seconds". */
  expects?: string;
}

const SETTINGS_FLAGS: Record<string, FlagSpec> = {
  name: { kind: "string", expects: "a project name" },
  env: { kind: "strings", expects: "an environment name" },
  "metrics-endpoint": { kind: "string", expects: "an http:// or https:// URL" },
  "metrics-source": { kind: "json", expects: 'a JSON object, e.g. \'{"type":"prometheus",...}\'' },
  "observation-window": { kind: "seconds" },
  "sample-interval": { kind: "seconds" },
  warmup: { kind: "seconds" },
  hmac: { kind: "boolean" },
  "running-conflict": { kind: "string", expects: "join or reject" },
  "dry-run": { kind: "boolean" },
  analysis: { kind: "json", expects: "a JSON object, e.g. '{\"min_post_samples\":4}'" },
  json: { kind: "boolean" },
};
const PROJECT_FLAG: Record<string, FlagSpec> = {
  project: { kind: "string", expects: "a project name or id" },
};
const GRACE_FLAG: Record<string, FlagSpec> = { grace: { kind: "seconds" } };

const COMMANDS: Record<string, Record<string, FlagSpec>> = {
  create: SETTINGS_FLAGS,
  list: { json: { kind: "boolean" } },
  update: {
    ...PROJECT_FLAG,
    ...SETTINGS_FLAGS,
    "any-env": { kind: "boolean" },
    "no-metrics-endpoint": { kind: "boolean" },
    "no-metrics-source": { kind: "boolean" },
    "no-hmac": { kind: "boolean" },
    "no-dry-run": { kind: "boolean" },
  },
  "rotate-key": { ...PROJECT_FLAG, ...GRACE_FLAG, json: { kind: "boolean" } },
  "rotate-hmac": { ...PROJECT_FLAG, ...GRACE_FLAG, json: { kind: "boolean" } },
  disable: { ...PROJECT_FLAG, json: { kind: "boolean" } },
  enable: { ...PROJECT_FLAG, json: { kind: "boolean" } },
  delete: {
    ...PROJECT_FLAG,
    yes: { kind: "boolean" },
    force: { kind: "boolean" },
    json: { kind: "boolean" },
  },
};

const DESTINATION_FLAG: Record<string, FlagSpec> = {
  destination: { kind: "string", expects: "a destination id (or its name, with --project)" },
  project: { kind: "string", expects: "a project name or id" },
};
const DESTINATION_FIELDS: Record<string, FlagSpec> = {
  name: { kind: "string", expects: "a destination name" },
  url: { kind: "string", expects: "an http:// or https:// URL" },
  event: { kind: "strings", expects: `an event: ${notificationEvents.join(", ")}` },
  "min-verdict": { kind: "string", expects: verdictValues.join(", ") },
  json: { kind: "boolean" },
};

const DESTINATION_COMMANDS: Record<string, Record<string, FlagSpec>> = {
  add: {
    ...PROJECT_FLAG,
    ...DESTINATION_FIELDS,
    kind: { kind: "string", expects: destinationKinds.join(" or ") },
    disabled: { kind: "boolean" },
  },
  list: { ...PROJECT_FLAG, json: { kind: "boolean" } },
  update: {
    ...DESTINATION_FLAG,
    ...DESTINATION_FIELDS,
    enable: { kind: "boolean" },
    disable: { kind: "boolean" },
  },
  "rotate-secret": { ...DESTINATION_FLAG, json: { kind: "boolean" } },
  test: { ...DESTINATION_FLAG, json: { kind: "boolean" } },
  deliveries: { ...DESTINATION_FLAG, limit: { kind: "count" }, json: { kind: "boolean" } },
  remove: { ...DESTINATION_FLAG, yes: { kind: "boolean" }, json: { kind: "boolean" } },
};

type Flags = Record<string, string | string[] | number | boolean | unknown>;

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function nearest(word: string, candidates: string[]): string | undefined {
  const ranked = candidates
    .map((candidate) => ({ candidate, score: distance(word, candidate) }))
    .sort((a, b) => a.score - b.score)[0];
  return ranked && ranked.score <= Math.max(2, Math.floor(word.length / 3)) ? ranked.candidate : undefined;
}

function parseFlags(command: string, args: string[], specs: Record<string, FlagSpec>): Flags {
  const flags: Flags = {};
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (!arg.startsWith("--")) {
      throw new UsageError(`unexpected argument "${arg}" for "${group} ${command}"; options start with --`);
    }
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const spec = specs[rawName];
    if (!spec) {
      const suggestion = nearest(rawName, Object.keys(specs));
      throw new UsageError(
        `unknown option --${rawName} for "${group} ${command}"${suggestion ? `; did you mean --${suggestion}?` : ""}`,
      );
    }
    if (spec.kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${rawName} takes no value`);
      flags[rawName] = true;
      continue;
    }
    const value = inline ?? args[++index];
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      throw new UsageError(`--${rawName} needs a value: ${describeExpected(spec)}`);
    }
    if (spec.kind === "strings") flags[rawName] = [...((flags[rawName] as string[]) ?? []), value];
    else if (spec.kind === "seconds" || spec.kind === "count") {
      if (!/^\d+$/.test(value)) {
        throw new UsageError(`--${rawName} must be ${describeExpected(spec)}, got "${value}"`);
      }
      flags[rawName] = Number(value);
    } else if (spec.kind === "json") {
      try {
        const parsed: unknown = JSON.parse(value);
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
          throw new Error("not an object");
        flags[rawName] = parsed;
      } catch {
        throw new UsageError(`--${rawName} must be ${describeExpected(spec)}`);
      }
    } else flags[rawName] = value;
  }
  return flags;
}

function describeExpected(spec: FlagSpec): string {
  if (spec.kind === "seconds") return "a whole number of seconds";
  if (spec.kind === "count") return "a whole number";
  return spec.expects ?? "a value";
}

/** Request fields and the flag that sets each, so validation messages name the flag. */
const FLAG_OF_FIELD: Record<string, string> = {
  name: "--name",
  envs: "--env",
  metrics_endpoint: "--metrics-endpoint",
  metrics_source: "--metrics-source",
  observation_window_seconds: "--observation-window",
  sample_interval_seconds: "--sample-interval",
  warmup_seconds: "--warmup",
  hmac_enabled: "--hmac",
  running_conflict: "--running-conflict",
  dry_run: "--dry-run",
  analysis: "--analysis",
  grace_seconds: "--grace",
  kind: "--kind",
  url: "--url",
  events: "--event",
  min_verdict: "--min-verdict",
  enabled: "--enable/--disable",
  limit: "--limit",
  destination: "--destination",
};

function flagOf(path: string): string {
  const [field, ...rest] = path.split(".");
  const flag = field ? FLAG_OF_FIELD[field] : undefined;
  if (!flag) return path;
  return rest.length > 0 && field !== "envs" && field !== "events" ? `${flag} (${rest.join(".")})` : flag;
}

function parseWith<Schema extends z.ZodType>(schema: Schema, input: unknown): z.infer<Schema> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new UsageError(
    parsed.error.issues
      .map((issue) => {
        const path = issue.path.join(".");
        // Zod does not report the input it refused: look it up, so only a missing flag reads "is required".
        const given = issue.path.reduce<unknown>(
          (value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key],
          input,
        );
        if ((issue.code === "invalid_type" || issue.code === "invalid_value") && given === undefined && path)
          return `${flagOf(path)} is required`;
        return `${path ? flagOf(path) : "options"}: ${issue.message}`;
      })
      .join("\n"),
  );
}

function requireProject(flags: Flags): string {
  if (typeof flags.project !== "string")
    throw new UsageError("--project is required: the project's name or id");
  return flags.project;
}

/** The flags shared by create and update, as request fields; undefined where not given. */
function settingsInput(flags: Flags) {
  const either = (on: string, off: string) => {
    if (flags[on] && flags[off]) throw new UsageError(`--${on} and --${off} contradict each other; give one`);
    return flags[on] ? true : flags[off] ? false : undefined;
  };
  const dryRun = either("dry-run", "no-dry-run");
  if (flags.env !== undefined && flags["any-env"]) {
    throw new UsageError("--env and --any-env contradict each other; give one");
  }
  if (flags["metrics-endpoint"] !== undefined && flags["no-metrics-endpoint"]) {
    throw new UsageError("--metrics-endpoint and --no-metrics-endpoint contradict each other; give one");
  }
  if (flags["metrics-source"] !== undefined && flags["no-metrics-source"]) {
    throw new UsageError("--metrics-source and --no-metrics-source contradict each other; give one");
  }
  return {
    name: flags.name,
    envs: flags["any-env"] ? [] : flags.env,
    metrics_endpoint: flags["no-metrics-endpoint"] ? null : flags["metrics-endpoint"],
    metrics_source: flags["no-metrics-source"] ? null : flags["metrics-source"],
    observation_window_seconds: flags["observation-window"],
    sample_interval_seconds: flags["sample-interval"],
    warmup_seconds: flags.warmup,
    hmac_enabled: either("hmac", "no-hmac"),
    running_conflict: flags["running-conflict"],
    ...(dryRun === undefined ? {} : { dry_run: dryRun }),
    analysis: flags.analysis,
  };
}

function withoutUndefined(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}

function printProject(project: ProjectSettings): string {
  return [
    `${project.project_id}  ${project.name}${project.disabled_at ? "  (disabled)" : ""}`,
    `  envs:      ${project.envs.length ? project.envs.join(", ") : "any"}`,
    `  endpoint:  ${project.metrics_endpoint ?? "-"}`,
    `  timing:    window ${project.observation_window_seconds} s, every ${project.sample_interval_seconds} s, warmup ${project.warmup_seconds} s`,
    `  conflicts: ${project.running_conflict}${project.analysis.dry_run ? ", dry run" : ""}`,
    "",
  ].join("\n");
}

async function run(command: string, flags: Flags, db: Database): Promise<string> {
  const json = flags.json === true;
  const out = (value: unknown, human: string) => (json ? `${JSON.stringify(value, null, 2)}\n` : human);
  switch (command) {
    case "create": {
      const { dry_run, ...fields } = settingsInput(flags);
      const input = parseWith(
        CreateProjectRequest,
        withoutUndefined({
          ...fields,
          analysis: dry_run === undefined ? fields.analysis : { ...(fields.analysis as object), dry_run },
        }),
      );
      const project = await createProject({ db, input });
      return out(
        project,
        [
          `Created project "${project.name}" (${project.project_id})`,
          `  envs:        ${project.envs.length ? project.envs.join(", ") : "any"}`,
          `  API key:     ${project.api_key}`,
          `  HMAC secret: ${project.hmac_secret}${project.hmac_enabled ? "" : " (HMAC signing off)"}`,
          "Store the API key now (e.g. as the SEQPULSE_API_KEY secret of your CI): it is not shown again.",
          "",
        ].join("\n"),
      );
    }
    case "list": {
      const projects = await listProjects({ db });
      return out({ items: projects }, projects.map(printProject).join(""));
    }
    case "update": {
      const projectId = await findProjectId({ db, nameOrId: requireProject(flags) });
      const input = withoutUndefined(settingsInput(flags));
      if (Object.keys(input).length === 0) {
        throw new UsageError("nothing to change: give at least one setting, e.g. --metrics-endpoint <url>");
      }
      const project = await updateProject({ db, projectId, input: parseWith(UpdateProjectRequest, input) });
      return out(project, `Updated project "${project.name}"\n${printProject(project)}`);
    }
    case "rotate-key": {
      const projectId = await findProjectId({ db, nameOrId: requireProject(flags) });
      const { grace_seconds } = parseWith(
        RotateCredentialRequest,
        withoutUndefined({ grace_seconds: flags.grace }),
      );
      const rotated = await rotateApiKey({ db, projectId, graceSeconds: grace_seconds });
      return out(
        rotated,
        [
          `New API key: ${rotated.api_key}`,
          `The previous key works until ${rotated.previous_api_key_expires_at}; update SEQPULSE_API_KEY in your CI before then.`,
          "The new key is not shown again.",
          "",
        ].join("\n"),
      );
    }
    case "rotate-hmac": {
      const projectId = await findProjectId({ db, nameOrId: requireProject(flags) });
      const { grace_seconds } = parseWith(
        RotateCredentialRequest,
        withoutUndefined({ grace_seconds: flags.grace }),
      );
      const rotated = await rotateHmacSecret({ db, projectId, graceSeconds: grace_seconds });
      return out(
        rotated,
        [
          `New HMAC secret: ${rotated.hmac_secret}`,
          "SeqPulse signs metrics requests with it from now on. Until",
          `${rotated.previous_hmac_expires_at} your endpoints may accept the previous secret too`,
          "(the SDK takes a list of secrets): deploy the new one to them before then.",
          "",
        ].join("\n"),
      );
    }
    case "disable":
    case "enable": {
      const projectId = await findProjectId({ db, nameOrId: requireProject(flags) });
      const project = await setProjectDisabled({ db, projectId, disabled: command === "disable" });
      return out(project, `Project "${project.name}" is ${command}d.\n`);
    }
    case "delete": {
      const nameOrId = requireProject(flags);
      if (flags.yes !== true) {
        throw new UsageError(
          `--yes is required: deleting "${nameOrId}" removes its deployments, samples and verdicts for good`,
        );
      }
      const projectId = await findProjectId({ db, nameOrId });
      const deleted = await deleteProject({ db, projectId, force: flags.force === true });
      return out(
        deleted,
        `Deleted project "${deleted.name}" and its ${deleted.deleted_deployments} deployment(s).\n`,
      );
    }
    default:
      throw new UsageError(`unknown command "projects ${command}"`);
  }
}

function printDestination(destination: Destination): string {
  const state = [destination.kind, ...(destination.enabled ? [] : ["disabled"])].join(", ");
  return [
    `${destination.id}  ${destination.name}  (${state})`,
    `  url:      ${destination.url_display}`,
    `  events:   ${destination.events.join(", ")}`,
    `  verdicts: ${destination.min_verdict === "ok" ? "all" : `${destination.min_verdict} and above`}`,
    "",
  ].join("\n");
}

function printDelivery(delivery: Delivery): string {
  const last = delivery.log.at(-1);
  const outcome = last
    ? `${last.status_code === null ? "" : `HTTP ${last.status_code}`}${last.status_code !== null && last.error ? ": " : ""}${last.error ?? ""}`
    : "";
  const next =
    delivery.state === "pending" && delivery.next_attempt_at ? `next ${delivery.next_attempt_at}` : "";
  return `${delivery.created_at}  ${delivery.event.padEnd(20)} ${delivery.state.padEnd(9)} attempts ${delivery.attempts}${
    outcome ? `  ${outcome}` : ""
  }${next ? `  ${next}` : ""}  ${delivery.delivery_id}\n`;
}

/** The destination a command names: --destination <id>, or --project <p> --destination <name>. */
async function destinationOf(db: Database, flags: Flags): Promise<string> {
  if (typeof flags.destination !== "string") {
    throw new UsageError(
      "--destination is required: the destination's id (see destinations list), or its name with --project",
    );
  }
  const projectId =
    typeof flags.project === "string" ? await findProjectId({ db, nameOrId: flags.project }) : undefined;
  return findDestinationId({ db, nameOrId: flags.destination, projectId });
}

async function runDestinations(command: string, flags: Flags, db: Database, config: Config): Promise<string> {
  const json = flags.json === true;
  const out = (value: unknown, human: string) => (json ? `${JSON.stringify(value, null, 2)}\n` : human);
  const allowPrivateEndpoints = config.SEQPULSE_ALLOW_PRIVATE_ENDPOINTS;
  switch (command) {
    case "add": {
      const nameOrId = requireProject(flags);
      const input = parseWith(
        CreateDestinationRequest,
        withoutUndefined({
          name: flags.name,
          kind: flags.kind,
          url: flags.url,
          events: flags.event ?? [...notificationEvents],
          min_verdict: flags["min-verdict"],
          enabled: flags.disabled ? false : undefined,
        }),
      );
      const projectId = await findProjectId({ db, nameOrId });
      const created = await createDestination({ db, projectId, input, allowPrivateEndpoints });
      const { secret, ...destination } = created;
      return out(
        created,
        [
          `Added destination "${created.name}"`,
          printDestination(destination).trimEnd(),
          ...(secret
            ? [
                `  signing secret: ${secret}`,
                "Store the signing secret in the receiver now (it verifies X-SeqPulse-Webhook-Signature with it): it is not shown again.",
              ]
            : []),
          "",
        ].join("\n"),
      );
    }
    case "list": {
      const projectId = await findProjectId({ db, nameOrId: requireProject(flags) });
      const destinations = await listDestinations({ db, projectId });
      return out(
        { items: destinations },
        destinations.length === 0
          ? "No destinations: add one with pnpm seqpulse destinations add.\n"
          : destinations.map(printDestination).join(""),
      );
    }
    case "update": {
      if (flags.enable && flags.disable)
        throw new UsageError("--enable and --disable contradict each other; give one");
      const fields = withoutUndefined({
        name: flags.name,
        url: flags.url,
        events: flags.event,
        min_verdict: flags["min-verdict"],
        enabled: flags.enable ? true : flags.disable ? false : undefined,
      });
      if (Object.keys(fields).length === 0) {
        throw new UsageError(
          "nothing to change: give at least one of --name, --url, --event, --min-verdict, --enable, --disable",
        );
      }
      const input = parseWith(UpdateDestinationRequest, fields);
      const destinationId = await destinationOf(db, flags);
      const destination = await updateDestination({ db, destinationId, input, allowPrivateEndpoints });
      return out(destination, `Updated destination "${destination.name}"\n${printDestination(destination)}`);
    }
    case "rotate-secret": {
      const rotated = await rotateDestinationSecret({ db, destinationId: await destinationOf(db, flags) });
      return out(
        rotated,
        [
          `New signing secret of "${rotated.name}": ${rotated.secret}`,
          "Every delivery from now on is signed with it, retries included; the old secret signs nothing more.",
          "Update the receiver now. The secret is not shown again.",
          "",
        ].join("\n"),
      );
    }
    case "test": {
      const destinationId = await destinationOf(db, flags);
      const queued = await sendTest({ db, destinationId });
      return out(
        queued,
        [
          `Queued test delivery ${queued.delivery_id}; the server's workers send it within a second.`,
          `Follow it with: pnpm seqpulse destinations deliveries --destination ${destinationId}`,
          "",
        ].join("\n"),
      );
    }
    case "deliveries": {
      const limit = flags.limit === undefined ? 20 : (flags.limit as number);
      if (limit < 1 || limit > 200) throw new UsageError("--limit must be between 1 and 200");
      const destinationId = await destinationOf(db, flags);
      const items = await listDeliveries({ db, destinationId, limit });
      return out({ items }, items.length === 0 ? "Nothing sent yet.\n" : items.map(printDelivery).join(""));
    }
    case "remove": {
      if (flags.yes !== true) {
        throw new UsageError(
          `--yes is required: removing "${String(flags.destination ?? "")}" deletes it and its delivery log for good`,
        );
      }
      const destinationId = await destinationOf(db, flags);
      const destination = await findDestination(db, destinationId);
      await deleteDestination({ db, destinationId });
      const name = destination?.name ?? destinationId;
      return out(
        { id: destinationId, deleted: true },
        `Removed destination "${name}"${destination ? ` (${displayUrl(destination.url)})` : ""} and its delivery log.\n`,
      );
    }
    default:
      throw new UsageError(`unknown command "destinations ${command}"`);
  }
}

const GROUPS: Record<
  Group,
  {
    usage: string;
    commands: Record<string, Record<string, FlagSpec>>;
    run: (command: string, flags: Flags, db: Database, config: Config) => Promise<string>;
  }
> = {
  projects: { usage: USAGE, commands: COMMANDS, run: (command, flags, db) => run(command, flags, db) },
  destinations: { usage: DESTINATIONS_USAGE, commands: DESTINATION_COMMANDS, run: runDestinations },
};

async function main(argv: string[]): Promise<number> {
  const [groupName, command, ...rest] = argv;
  if (groupName === undefined || groupName === "--help" || groupName === "-h" || groupName === "help") {
    process.stdout.write(`${USAGE}\n\n${DESTINATIONS_USAGE}\n`);
    return groupName === undefined ? 2 : 0;
  }
  if (groupName === "secrets") {
    if (command !== "rotate-key") {
      throw new UsageError(`unknown command "secrets ${command ?? ""}"; the command is "secrets rotate-key"`);
    }
    return withOperatorDatabase(async (db) => {
      const { projects, destinations } = await reencryptSecrets(db);
      return `Re-encrypted the secrets of ${projects} project(s) and ${destinations} notification destination(s) with the current SEQPULSE_ENCRYPTION_KEY; SEQPULSE_ENCRYPTION_PREVIOUS_KEYS can now be removed.\n`;
    });
  }
  if (groupName !== "projects" && groupName !== "destinations") {
    const suggestion = nearest(groupName, ["projects", "destinations", "secrets"]);
    throw new UsageError(
      `unknown command "${groupName}"${suggestion ? `; did you mean "${suggestion}"?` : ""}; the commands are "projects <command>", "destinations <command>" and "secrets rotate-key"`,
    );
  }
  group = groupName;
  const { usage, commands, run: runCommand } = GROUPS[group];
  if (command === undefined || command === "--help" || command === "-h") {
    process.stdout.write(`${usage}\n`);
    return command === undefined ? 2 : 0;
  }
  const specs = commands[command];
  if (!specs) {
    const suggestion = nearest(command, Object.keys(commands));
    throw new UsageError(
      `unknown command "${group} ${command}"${suggestion ? `; did you mean "${group} ${suggestion}"?` : ""}`,
    );
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const flags = parseFlags(command, rest, specs);
  return withOperatorDatabase((db, config) => runCommand(command, flags, db, config));
}

/** Runs an operator command on the server's database (the embedded one of a running server, too). */
async function withOperatorDatabase(
  command: (db: Database, config: Config) => Promise<string>,
): Promise<number> {
  const config = loadConfig();
  // Operator output goes to the terminal; only problems are logged.
  const logger = createLogger("warn", {}, (line) => process.stderr.write(line));
  const database = await locateDatabase(config, logger, { joinRunningServer: true });
  try {
    await setUpEncryption(config, logger);
    await runMigrations(database.url);
    const handle = connectDatabase(database.url, { max: 2 });
    try {
      process.stdout.write(await command(handle.db, config));
    } finally {
      await handle.close();
    }
  } finally {
    await database.stop();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(
        `error: ${error.message}\n\nRun "pnpm seqpulse ${group} --help" for the options.\n`,
      );
      process.exit(2);
    }
    if (error instanceof AppError && error.code === "validation_error") {
      const fields = (error.extra.errors ?? []).map((field) => `  ${flagOf(field.path)}: ${field.message}\n`);
      process.stderr.write(`error: ${error.message}\n${fields.join("")}`);
      process.exit(2);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof AppError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`error: ${String(errorFields(error).error)}\n`);
    process.exit(1);
  },
);
