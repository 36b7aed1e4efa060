import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { readCompose } from "../deploy/files.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { findPrometheusBinary, type PrometheusServer, startPrometheus } from "../support/prometheus.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  runDeployment,
  serverEnv,
  tail,
  waitUntil,
  workerUrlOf,
} from "../worker/helpers.js";

/**
 * The monitoring assets against a real SeqPulse: deploy/grafana/seqpulse-dashboard.json and
 * deploy/prometheus/seqpulse-alerts.yml query only metrics and labels that an api and a worker
 * process serve after a deployment, and a real Prometheus run with README.md's scrape config
 * scrapes both through SEQPULSE_METRICS_TOKEN, evaluates the rules, and answers the dashboard.
 */

const run = promisify(execFile);
const REPO_ROOT = resolve(import.meta.dirname, "../..");
const ALERTS_FILE = resolve(REPO_ROOT, "deploy/prometheus/seqpulse-alerts.yml");
const ALERT_TESTS_FILE = resolve(REPO_ROOT, "deploy/prometheus/seqpulse-alerts.test.yml");
const METRICS_TOKEN = "monitoring-token-0123456789abcdef";
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's syntax for the data source variable.
const DATASOURCE_VARIABLE = "${datasource}";
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ["job", "instance"];
/** Series Prometheus makes itself, per target. */
const PROMETHEUS_SERIES = new Map([["up", new Set(TARGET_LABELS)]]);
/** Debian's `prometheus` package ships promtool beside prometheus (`.ci/run` installs it). */
const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;
const hasPrometheus = findPrometheusBinary() !== undefined;

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Array<{ refId: string; expr: string; legendFormat?: string; datasource?: { uid: string } }>;
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: {
    list: Array<{ name: string; type: string; query: unknown; datasource?: { uid: string } }>;
  };
}
interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const dashboard: Dashboard = JSON.parse(
  readFileSync(resolve(REPO_ROOT, "deploy/grafana/seqpulse-dashboard.json"), "utf8"),
);
const alertRules: AlertRule[] = (
  parseYaml(readFileSync(ALERTS_FILE, "utf8")) as { groups: Array<{ rules: AlertRule[] }> }
).groups.flatMap((group) => group.rules);
const queryPanels = dashboard.panels.filter((panel) => panel.type !== "row");
const dashboardQueries = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, ...target })),
);

/** The metric names and label names of a PromQL expression (Grafana's `$variables` allowed). */
function referencesOf(expr: string): {
  metrics: string[];
  matchers: Array<{ metric: string; label: string }>;
  grouping: string[];
} {
  const matchers: Array<{ metric: string; label: string }> = [];
  const grouping: string[] = [];
  let rest = expr.replace(
    /([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g,
    (_, metric: string | undefined, body: string) => {
      for (const [, label = ""] of body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) {
        matchers.push({ metric: metric ?? "", label });
      }
      return ` ${metric ?? ""} `;
    },
  );
  rest = rest.replace(/\[[^\]]*\]/g, " ");
  rest = rest.replace(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, labels: string) => {
      grouping.push(
        ...labels
          .split(",")
          .map((label) => label.trim())
          .filter(Boolean),
      );
      return " ";
    },
  );
  const keywords = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);
  const metrics = [...rest.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)(?!\s*\(|[\w:])/g)]
    .map((match) => match[1] ?? "")
    .filter((name) => !keywords.has(name.toLowerCase()));
  return { metrics: [...new Set(metrics)], matchers, grouping };
}

/** Series names of a Prometheus text exposition, each with the label names seen on it. */
function exposedSeries(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!match?.[1]) continue;
    const labels = series.get(match[1]) ?? new Set<string>();
    for (const [, label = ""] of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(label);
    series.set(match[1], labels);
  }
  return series;
}

/** A dashboard query as Prometheus runs it for the `seqpulse` job, with a short rate window. */
const asPromql = (expr: string) => expr.replaceAll("$__rate_interval", "10s").replaceAll("$job", "seqpulse");

/** The ```yaml block of README.md's "Monitoring SeqPulse" section that holds the scrape config. */
function readmeScrapeConfig(): string {
  const readme = readFileSync(resolve(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Monitoring SeqPulse\n"));
  const end = section.indexOf("\n## ", 1);
  const blocks = [...section.slice(0, end === -1 ? undefined : end).matchAll(/```yaml\n([\s\S]*?)```/g)];
  const block = blocks.map((each) => each[1] ?? "").find((text) => text.includes("scrape_configs:"));
  if (!block) throw new Error('README.md\'s "Monitoring SeqPulse" has no ```yaml block with scrape_configs');
  return block;
}

interface ScrapeJob {
  job_name: string;
  authorization?: { credentials_file?: string };
  dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
  static_configs?: Array<{ targets: string[] }>;
}

describe("the Grafana dashboard", () => {
  it("is a Grafana 10.4+ dashboard whose every query runs on the Prometheus data source chosen at import", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    const datasource = dashboard.templating.list.find((variable) => variable.type === "datasource");
    expect(datasource).toMatchObject({ name: "datasource", query: "prometheus" });
    for (const variable of dashboard.templating.list.filter((each) => each.type === "query")) {
      expect(variable.datasource?.uid, variable.name).toBe(DATASOURCE_VARIABLE);
    }
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: DATASOURCE_VARIABLE });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid ?? panel.datasource?.uid, panel.title).toBe(DATASOURCE_VARIABLE);
        expect(target.expr, panel.title).toContain('job=~"$job"');
      }
      const { x = -1, w = 0 } = panel.gridPos ?? {};
      expect(x >= 0 && x + w <= 24, `${panel.title} fits the 24-column grid`).toBe(true);
    }
  });
});

describe.skipIf(!hasPromtool)("the Prometheus alert rules", () => {
  it("pass promtool check rules", async () => {
    const { stdout } = await run("promtool", ["check", "rules", ALERTS_FILE]);
    expect(stdout).toContain(`SUCCESS: ${alertRules.length} rules found`);
  });

  it("fire on what they are for and stay quiet otherwise (promtool test rules)", async () => {
    const { stdout } = await run("promtool", ["test", "rules", ALERT_TESTS_FILE]);
    expect(stdout).toContain("SUCCESS");
    const tests = readFileSync(ALERT_TESTS_FILE, "utf8");
    for (const rule of alertRules) expect(tests, `${rule.alert} has a unit test`).toContain(rule.alert);
  });

  it("each have a severity, a summary and a description", () => {
    for (const rule of alertRules) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
  });
});

describe.skipIf(!hasPromtool)("README.md's Prometheus scrape config", () => {
  it("passes promtool check config as written, and finds compose.yaml's api and worker on their port", async () => {
    const block = readmeScrapeConfig();
    const config = parseYaml(block) as { rule_files: string[]; scrape_configs: ScrapeJob[] };
    const dir = mkdtempSync(join(tmpdir(), "seqpulse-scrape-config-"));
    try {
      writeFileSync(join(dir, "prometheus.yml"), block);
      for (const file of config.rule_files) copyFileSync(ALERTS_FILE, join(dir, file));
      const job = config.scrape_configs[0];
      if (job?.authorization?.credentials_file) {
        writeFileSync(join(dir, job.authorization.credentials_file), `${METRICS_TOKEN}\n`);
      }
      const { stdout } = await run("promtool", ["check", "config", join(dir, "prometheus.yml")]);
      expect(stdout).toContain("SUCCESS");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const job = config.scrape_configs.find((each) => each.job_name === "seqpulse");
    const discovery = job?.dns_sd_configs?.[0];
    const services = readCompose().services;
    expect(discovery?.names.map((name) => services[name]?.environment?.SEQPULSE_ROLE)).toEqual([
      "api",
      "worker",
    ]);
    expect(String(discovery?.port)).toBe(services.api?.ports?.[0]?.split(":").at(-1));
  });
});

describe("monitoring a real api and worker", () => {
  let database: TestDatabase;
  let app: MetricsApp;
  let api: ServerProcess;
  let worker: ServerProcess;
  let series: Map<string, Set<string>>;

  beforeAll(async () => {
    [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    const env = serverEnv(database.url, { SEQPULSE_METRICS_TOKEN: METRICS_TOKEN });
    [api, worker] = await Promise.all([
      startServerProcess({ ...env, SEQPULSE_ROLE: "api" }),
      startServerProcess({ ...env, SEQPULSE_ROLE: "worker" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await app?.close();
    await database?.close();
  });

  const scrapeAll = async () => {
    const texts = await Promise.all(
      [apiUrlOf(api), workerUrlOf(worker)].map(async (url) => {
        const response = await fetch(`${url}/metrics`, {
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect(response.status).toBe(200);
        return response.text();
      }),
    );
    series = exposedSeries(texts.join("\n"));
  };

  const expectKnown = (where: string, expr: string) => {
    const { metrics, matchers, grouping } = referencesOf(expr);
    expect(metrics.length, `${where} queries a metric: ${expr}`).toBeGreaterThan(0);
    const known = (metric: string) => series.get(metric) ?? PROMETHEUS_SERIES.get(metric);
    for (const metric of metrics) expect(known(metric), `${where}: ${metric} is served`).toBeDefined();
    for (const { metric, label } of matchers.filter((matcher) => matcher.metric !== "")) {
      expect([...(known(metric) ?? []), ...TARGET_LABELS], `${where}: ${metric}{${label}}`).toContain(label);
    }
    const labelsInExpr = new Set([
      ...TARGET_LABELS,
      ...metrics.flatMap((metric) => [...(known(metric) ?? [])]),
    ]);
    for (const label of grouping) expect([...labelsInExpr], `${where}: by (${label})`).toContain(label);
  };

  describe("after one deployment", () => {
    let prometheus: PrometheusServer | undefined;
    let tokenDir: string;
    let startedAt: number;
    let verdict: string | undefined;

    /** A dashboard query over the test's time, one point a second. */
    const queryRange = async (expr: string) => {
      const params = new URLSearchParams({
        query: asPromql(expr),
        start: String(startedAt),
        end: String(Date.now() / 1000),
        step: "1",
      });
      const body = (await (await fetch(`${prometheus?.url}/api/v1/query_range?${params}`)).json()) as {
        status: string;
        error?: string;
        data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
      };
      return body;
    };

    beforeAll(async () => {
      startedAt = Date.now() / 1000;
      if (hasPrometheus) {
        tokenDir = mkdtempSync(join(tmpdir(), "seqpulse-metrics-token-"));
        const config = parseYaml(readmeScrapeConfig()) as {
          global?: Record<string, string>;
          rule_files: string[];
          scrape_configs: ScrapeJob[];
        };
        config.global = { scrape_interval: "1s", evaluation_interval: "1s" };
        config.rule_files = config.rule_files.map(() => ALERTS_FILE);
        for (const job of config.scrape_configs) {
          if (job.authorization?.credentials_file) {
            job.authorization.credentials_file = join(tokenDir, "token");
            writeFileSync(job.authorization.credentials_file, `${METRICS_TOKEN}\n`);
          }
          // Real processes on loopback instead of compose's DNS names.
          delete job.dns_sd_configs;
          job.static_configs = [
            { targets: [apiUrlOf(api), workerUrlOf(worker)].map((url) => new URL(url).host) },
          ];
        }
        prometheus = await startPrometheus({ config: stringifyYaml(config) });
        await prometheus.waitFor('count(up{job="seqpulse"} == 1) == 2');
      }
      app.script("/observed", [values()]);
      const project = await createProject(apiUrlOf(api), { metrics_endpoint: app.url("/observed") });
      // Two deployments: a counter's series appears at its first increment, which rate() cannot see,
      // so the dashboard's rates show the second.
      const verdicts: Array<string | undefined> = [];
      for (const _ of [1, 2]) {
        verdicts.push(
          (await runDeployment(apiUrlOf(api), project, { server: worker })).detail.verdict?.verdict,
        );
      }
      // The same endpoint answers give the same verdict.
      expect(verdicts[1]).toBe(verdicts[0]);
      verdict = verdicts[0];
      await waitUntil(
        "the worker's verdict counter",
        async () => {
          await scrapeAll();
          return series.has("seqpulse_verdicts_total");
        },
        { context: () => tail(worker) },
      );
      // Two seconds ago already: the range queries' one-second steps then include a point after it.
      await prometheus?.waitFor('sum(rate(seqpulse_verdicts_total{job="seqpulse"}[10s] offset 2s)) > 0');
    }, 90_000);
    afterAll(async () => {
      await prometheus?.stop();
      if (tokenDir) rmSync(tokenDir, { recursive: true, force: true });
    });

    it("the dashboard's and the alert rules' every metric and label is one the processes serve", () => {
      for (const query of dashboardQueries) expectKnown(`"${query.panel}" ${query.refId}`, query.expr);
      for (const rule of alertRules) expectKnown(rule.alert, rule.expr);
      for (const variable of dashboard.templating.list.filter((each) => each.type === "query")) {
        const query = (variable.query as { query: string }).query;
        const [, metric = "", label = ""] = /^label_values\((\w+),\s*(\w+)\)$/.exec(query) ?? [];
        expect(series.get(metric), `$${variable.name}: ${query}`).toBeDefined();
        expect(TARGET_LABELS, `$${variable.name}: ${query}`).toContain(label);
      }
    });

    it("the check above catches a misspelt metric and a grouping label the metric lacks", () => {
      expect(() => expectKnown("typo", 'rate(seqpulse_trigger_total{job=~"$job"}[5m])')).toThrow(/is served/);
      expect(() => expectKnown("label", 'sum by (queue) (seqpulse_triggers_total{job=~"$job"})')).toThrow(
        /by \(queue\)/,
      );
    });

    describe.skipIf(!hasPrometheus)("in a real Prometheus with README.md's scrape config", () => {
      it("answers every dashboard query with series whose legend labels are there", async () => {
        for (const query of dashboardQueries) {
          const body = await queryRange(query.expr);
          const where = `"${query.panel}" ${query.refId}: ${query.expr}`;
          expect(body.status, `${where}: ${body.error}`).toBe("success");
          if (query.expr.includes('status=~"5.."')) {
            // Nothing failed in this run.
            expect(body.data.result, where).toEqual([]);
            continue;
          }
          const finite = body.data.result.filter((each) =>
            each.values.some(([, value]) => Number.isFinite(Number(value))),
          );
          expect(finite.length, where).toBeGreaterThan(0);
          for (const [, label = ""] of (query.legendFormat ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
            for (const each of finite)
              expect(each.metric[label], `${where}: legend {{${label}}}`).toBeDefined();
          }
        }
      });

      it("shows this deployment's trigger, samples, verdict and state in the dashboard's panels", async () => {
        /** Label sets of a panel's series that went above zero during the test. */
        const active = async (panel: string) => {
          const { data } = await queryRange(
            dashboardQueries.find((query) => query.panel === panel)?.expr ?? "",
          );
          return data.result
            .filter((each) => each.values.some(([, value]) => Number(value) > 0))
            .map((each) => each.metric);
        };
        expect(await active("Triggers by outcome")).toContainEqual({ outcome: "created" });
        expect(await active("Samples by outcome")).toEqual(
          expect.arrayContaining([
            { phase: "baseline", outcome: "collected" },
            { phase: "post", outcome: "collected" },
          ]),
        );
        expect(verdict).toBeDefined();
        expect(await active("Verdicts by value")).toEqual([{ verdict }]);
        expect(await active("Deployments by state")).toContainEqual({ state: "analyzed" });
      });

      it("evaluates every alert rule without error and raises none while all is well", async () => {
        const rules = await waitUntil("every rule evaluated", async () => {
          const body = (await (await fetch(`${prometheus?.url}/api/v1/rules`)).json()) as {
            data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
          };
          const all = body.data.groups.flatMap((group) => group.rules);
          return all.length === alertRules.length && all.every((rule) => rule.health !== "unknown") && all;
        });
        for (const rule of rules) expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe("ok");
        const alerts = (await (await fetch(`${prometheus?.url}/api/v1/alerts`)).json()) as {
          data: { alerts: unknown[] };
        };
        expect(alerts.data.alerts).toEqual([]);
      });

      it("raises SeqPulseTargetDown for the worker once it stops", async () => {
        const instance = new URL(workerUrlOf(worker)).host;
        expect(await worker.stop()).toBe(0);
        const alert = await waitUntil("SeqPulseTargetDown", async () => {
          const body = (await (await fetch(`${prometheus?.url}/api/v1/alerts`)).json()) as {
            data: { alerts: Array<{ labels: Record<string, string>; state: string }> };
          };
          // The worker's own alert: on a loaded machine another target may miss a scrape meanwhile.
          return body.data.alerts.find(
            (each) => each.labels.alertname === "SeqPulseTargetDown" && each.labels.instance === instance,
          );
        });
        // Pending: it fires after two minutes down.
        expect(alert).toMatchObject({
          state: "pending",
          labels: { alertname: "SeqPulseTargetDown", job: "seqpulse", instance, severity: "critical" },
        });
      });
    });
  });
});
