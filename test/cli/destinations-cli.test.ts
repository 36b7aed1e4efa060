import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { CreateDestinationResponse, Delivery, Destination } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDestination, findDestination } from "../../server/src/notifications/destinations.js";
import { createProject } from "../../server/src/projects/service.js";
import { createTestDatabase, TEST_ENCRYPTION_KEY, type TestDatabase } from "../support/database.js";

const run = promisify(execFile);
const REPO_ROOT = resolve(import.meta.dirname, "../..");

let database: TestDatabase;
const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ["--import", "tsx", "server/src/cli.ts", ...args], {
    cwd: REPO_ROOT,
    // The key this test process encrypts with too, so both read each other's secrets.
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      SEQPULSE_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString("base64"),
      SEQPULSE_ALLOW_PRIVATE_ENDPOINTS: "false",
      ...env,
    },
  });

/** The exit code and stderr of a command that must fail. */
async function failure(args: string[]): Promise<{ code: number; stderr: string }> {
  return cli(args).then(
    ({ stdout }) => {
      throw new Error(`expected ${args.join(" ")} to fail; it printed ${stdout}`);
    },
    (error: { code: number; stderr: string }) => error,
  );
}

/** A project of its own, created in-process to spare a CLI start. */
const newProject = (name: string) => createProject({ db: database.db, input: { name } });
/** A destination created in-process, through the service the CLI calls. */
async function seeded(projectName: string, name = "ops"): Promise<CreateDestinationResponse> {
  const project = await newProject(projectName);
  return createDestination({
    db: database.db,
    projectId: project.project_id,
    input: {
      name,
      kind: "webhook",
      url: "https://hooks.example.test/seqpulse",
      events: ["verdict"],
      min_verdict: "ok",
      enabled: true,
    },
    allowPrivateEndpoints: false,
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

describe("pnpm seqpulse destinations", () => {
  it("adds a webhook to a project named by name, printing its secret once, and lists it without", async () => {
    await newProject("dest-add");
    const { stdout } = await cli([
      "destinations",
      "add",
      "--project",
      "DEST-ADD",
      "--name",
      "deploys",
      "--kind",
      "webhook",
      "--url",
      "https://hooks.example.test/seqpulse/abc",
      "--event",
      "verdict",
      "--event",
      "deployment.abandoned",
      "--min-verdict",
      "warning",
    ]);
    const secret = /signing secret: (whsec_\S+)/.exec(stdout)?.[1];
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(stdout).toContain('Added destination "deploys"');
    expect(stdout).toContain("it is not shown again");
    const id = /^([0-9a-f-]{36}) {2}deploys/m.exec(stdout)?.[1] ?? "";
    const stored = await findDestination(database.db, id);
    expect(stored).toMatchObject({
      name: "deploys",
      kind: "webhook",
      url: "https://hooks.example.test/seqpulse/abc",
      events: ["verdict", "deployment.abandoned"],
      minVerdict: "warning",
      enabled: true,
      secret,
    });

    const listed = await cli(["destinations", "list", "--project", "dest-add", "--json"]);
    const { items } = JSON.parse(listed.stdout) as { items: Destination[] };
    expect(items).toEqual([
      expect.objectContaining({ id, name: "deploys", url_display: "https://hooks.example.test/…" }),
    ]);
    expect(listed.stdout).not.toContain(secret);
    expect((await cli(["destinations", "list", "--project", "dest-add"])).stdout).not.toContain(secret);
  });

  it("adds a disabled Slack destination with every event by default, as JSON (no secret)", async () => {
    const project = await newProject("dest-slack");
    const { stdout } = await cli([
      "destinations",
      "add",
      "--project",
      project.project_id,
      "--name",
      "slack",
      "--kind",
      "slack",
      "--url",
      "https://hooks.slack.test/services/T0/B0/xyz",
      "--disabled",
      "--json",
    ]);
    const created = JSON.parse(stdout) as CreateDestinationResponse;
    expect(created).toMatchObject({
      kind: "slack",
      secret: null,
      enabled: false,
      events: ["verdict", "deployment.abandoned", "verdict.decided"],
      url_display: "https://hooks.slack.test/…",
    });
  });

  it("updates a destination named within its project: disables it, changes url, events and minimum", async () => {
    const destination = await seeded("dest-update", "Release Hook");
    const { stdout } = await cli([
      "destinations",
      "update",
      "--project",
      "dest-update",
      "--destination",
      "release hook",
      "--disable",
      "--url",
      "https://other.example.test/hook",
      "--event",
      "verdict.decided",
      "--min-verdict",
      "rollback_recommended",
    ]);
    expect(stdout).toContain('Updated destination "Release Hook"');
    expect(stdout).toContain("(webhook, disabled)");
    expect(await findDestination(database.db, destination.id)).toMatchObject({
      enabled: false,
      url: "https://other.example.test/hook",
      events: ["verdict.decided"],
      minVerdict: "rollback_recommended",
      secret: destination.secret,
    });
    const enabled = await cli([
      "destinations",
      "update",
      "--destination",
      destination.id,
      "--enable",
      "--json",
    ]);
    expect((JSON.parse(enabled.stdout) as Destination).enabled).toBe(true);
  });

  it("rotates a webhook's secret, queues a test and shows it in the delivery log, then removes it", async () => {
    const destination = await seeded("dest-ops");
    const rotated = await cli(["destinations", "rotate-secret", "--destination", destination.id]);
    const secret = /New signing secret of "ops": (whsec_\S+)/.exec(rotated.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(secret).not.toBe(destination.secret);
    expect((await findDestination(database.db, destination.id))?.secret).toBe(secret);

    const tested = await cli([
      "destinations",
      "test",
      "--project",
      "dest-ops",
      "--destination",
      "ops",
      "--json",
    ]);
    const { delivery_id } = JSON.parse(tested.stdout) as { delivery_id: string };
    const log = await cli(["destinations", "deliveries", "--destination", destination.id, "--json"]);
    expect((JSON.parse(log.stdout) as { items: Delivery[] }).items).toEqual([
      expect.objectContaining({ delivery_id, event: "test", state: "pending", attempts: 0 }),
    ]);
    const human = await cli(["destinations", "deliveries", "--destination", destination.id, "--limit", "5"]);
    expect(human.stdout).toMatch(new RegExp(`test\\s+pending\\s+attempts 0.*${delivery_id}`));

    const unconfirmed = await failure(["destinations", "remove", "--destination", destination.id]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain("--yes is required");
    const removed = await cli(["destinations", "remove", "--destination", destination.id, "--yes"]);
    expect(removed.stdout).toContain('Removed destination "ops" (https://hooks.example.test/…)');
    expect(await findDestination(database.db, destination.id)).toBeUndefined();
  });

  it("refuses a private address with exit code 2, naming --url, unless SEQPULSE_ALLOW_PRIVATE_ENDPOINTS is on", async () => {
    const destination = await seeded("dest-private");
    const refused = await failure([
      "destinations",
      "update",
      "--destination",
      destination.id,
      "--url",
      "http://169.254.169.254/latest",
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--url: is a private or reserved address");
    expect((await findDestination(database.db, destination.id))?.url).toBe(
      "https://hooks.example.test/seqpulse",
    );
    await cli(["destinations", "update", "--destination", destination.id, "--url", "http://10.0.0.8/hook"], {
      SEQPULSE_ALLOW_PRIVATE_ENDPOINTS: "true",
    });
    expect((await findDestination(database.db, destination.id))?.url).toBe("http://10.0.0.8/hook");
  });

  it("answers a destination or project it cannot find, and a name two destinations share, with exit code 1 or 2", async () => {
    const first = await seeded("dest-twins", "twin");
    await createDestination({
      db: database.db,
      projectId: first.project_id,
      input: {
        name: "TWIN",
        kind: "slack",
        url: "https://hooks.example.test/x",
        events: ["verdict"],
        min_verdict: "ok",
        enabled: true,
      },
      allowPrivateEndpoints: false,
    });
    const missing = await failure([
      "destinations",
      "test",
      "--destination",
      "00000000-0000-4000-8000-000000000000",
    ]);
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toContain("no notification destination 00000000-0000-4000-8000-000000000000");
    const noProject = await failure(["destinations", "list", "--project", "no-such-project"]);
    expect(noProject.code).toBe(1);
    expect(noProject.stderr).toContain('no project named or with id "no-such-project"');
    const ambiguous = await failure([
      "destinations",
      "test",
      "--project",
      "dest-twins",
      "--destination",
      "twin",
    ]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('2 destinations of the project are named "twin"');
    expect(ambiguous.stderr).toContain(first.id);
  });

  it.each([
    [["destinations", "frobnicate"], 'unknown command "destinations frobnicate"'],
    [["destinations", "updte"], 'did you mean "destinations update"?'],
    [["destinatons", "list"], 'did you mean "destinations"?'],
    [["destinations", "list"], "--project is required"],
    [["destinations", "test"], "--destination is required"],
    [["destinations", "update", "--destination", "x"], "nothing to change"],
    [["destinations", "update", "--destination", "x", "--enable", "--disable"], "contradict"],
    [["destinations", "update", "--destination", "x", "--urll", "https://a.test"], "did you mean --url?"],
    [["destinations", "update", "--destination", "x", "--event", "deployed"], "--event: "],
    [["destinations", "update", "--destination", "x", "--url", "ftp://a.test"], "--url: must be an absolute"],
    [
      ["destinations", "add", "--project", "p", "--name", "n", "--url", "https://a.test"],
      "--kind is required",
    ],
    [
      ["destinations", "deliveries", "--destination", "x", "--limit", "many"],
      "--limit must be a whole number",
    ],
    [
      ["destinations", "deliveries", "--destination", "x", "--limit", "0"],
      "--limit must be between 1 and 200",
    ],
    [["destinations", "add", "--project"], "--project needs a value"],
  ])("rejects %j with exit code 2: %s", async (args, message) => {
    const failed = await failure(args);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(message);
    expect(failed.stderr).toMatch(/Run "pnpm seqpulse (destinations|projects) --help"/);
  });
});
