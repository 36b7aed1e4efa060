import { parseArgs } from "node:util";
import { CreateProjectRequest } from "@seqpulse/types";
import { locateDatabase } from "./db/bootstrap.js";
import { connectDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { ConfigError, loadConfig } from "./env.js";
import { AppError } from "./errors.js";
import { createLogger, errorFields } from "./logger.js";
import { createProject, listProjects } from "./projects/service.js";

const USAGE = `Usage:
  pnpm seqpulse projects create --name <name> [--env <env>]... [--metrics-endpoint <url>]
        [--observation-window <seconds>] [--sample-interval <seconds>] [--warmup <seconds>]
        [--hmac] [--running-conflict join|reject] [--json]
  pnpm seqpulse projects list [--json]

Uses DATABASE_URL when set, otherwise the embedded database under SEQPULSE_DATA_DIR
(the running server's, when one is running).`;

class UsageError extends Error {}

function integerOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`--${name} must be a whole number of seconds, got "${value}"`);
  return Number(value);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      env: { type: "string", multiple: true },
      "metrics-endpoint": { type: "string" },
      "observation-window": { type: "string" },
      "sample-interval": { type: "string" },
      warmup: { type: "string" },
      hmac: { type: "boolean" },
      "running-conflict": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals.join(" ");
  if (values.help || (command !== "projects create" && command !== "projects list")) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }

  let input: CreateProjectRequest | undefined;
  if (command === "projects create") {
    const parsed = CreateProjectRequest.safeParse({
      name: values.name,
      envs: values.env,
      metrics_endpoint: values["metrics-endpoint"],
      observation_window_seconds: integerOption(values["observation-window"], "observation-window"),
      sample_interval_seconds: integerOption(values["sample-interval"], "sample-interval"),
      warmup_seconds: integerOption(values.warmup, "warmup"),
      hmac_enabled: values.hmac,
      running_conflict: values["running-conflict"],
    });
    if (!parsed.success) {
      throw new UsageError(
        parsed.error.issues
          .map((issue) => `${issue.path.join(".") || "arguments"}: ${issue.message}`)
          .join("\n"),
      );
    }
    input = parsed.data;
  }

  const config = loadConfig();
  // Operator output goes to the terminal; only problems are logged.
  const logger = createLogger("warn", {}, (line) => process.stderr.write(line));
  const database = await locateDatabase(config, logger, { joinRunningServer: true });
  try {
    await runMigrations(database.url);
    const handle = connectDatabase(database.url, { max: 2 });
    try {
      if (input) {
        const project = await createProject({ db: handle.db, input });
        if (values.json) {
          process.stdout.write(`${JSON.stringify(project, null, 2)}\n`);
        } else {
          process.stdout.write(
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
      } else {
        const projects = await listProjects({ db: handle.db });
        if (values.json) process.stdout.write(`${JSON.stringify({ items: projects }, null, 2)}\n`);
        else
          for (const project of projects) {
            process.stdout.write(
              `${project.project_id}  ${project.name}  envs: ${project.envs.join(",") || "any"}  endpoint: ${project.metrics_endpoint ?? "-"}\n`,
            );
          }
      }
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
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof AppError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${String(errorFields(error).error)}\n`);
    process.exit(1);
  },
);
