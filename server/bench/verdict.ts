/**
 * Monte Carlo of the verdict engine over generated services (server/src/verdict/simulation.ts):
 * per profile, fault, baseline and counts, the share of ok / warning / rollback_recommended and
 * the mean confidence of right and wrong verdicts, the share of ok verdicts that said their window
 * was too small to catch errors ×5 or a 60 % drop ("ok limited"), then the issue's targets, then beside every
 * detection target what an oracle that knows the generative model attains at the same false-alarm
 * rate (server/bench/oracle.ts), and for the low-traffic profile what volume would have made each
 * target attainable. Prints figures; it asserts nothing (the seeded test in server/src/verdict
 * asserts the targets on a smaller run).
 *   pnpm bench:verdict [--trials 1000] [--seed 1] [--profile busy] [--oracle-trials 4000]
 */
import { parseArgs } from "node:util";
import { analyze, shouldFailFast } from "../src/verdict/engine.js";
import {
  allScenarios,
  type Fault,
  type ProfileName,
  runScenario,
  type Scenario,
  type Tally,
} from "../src/verdict/simulation.js";
import {
  type Attainable,
  attainable,
  ENGINE_MIN_REQUESTS_FOR_PERCENTILE,
  type OracleKind,
  volumesNeeded,
} from "./oracle.js";

const { values } = parseArgs({
  // pnpm may pass a "--" separator through.
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    trials: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    profile: { type: "string" },
    "oracle-trials": { type: "string", default: "4000" },
  },
});
const trials = Number(values.trials);
const seed = Number(values.seed);
const oracleTrials = Number(values["oracle-trials"]);
const COLUMN = [12, 16, 9, 7, 6, 7, 11, 11, 11, 12];
const scenarios = allScenarios().filter((scenario) => !values.profile || scenario.profile === values.profile);

const started = performance.now();
const results: { scenario: Scenario; tally: Tally }[] = [];
console.log(`verdict engine Monte Carlo: ${trials} trials per row, seed ${seed}`);
console.log(
  "right verdict: ok when healthy (and for a latency fault below the default minimum effect, ×1.25 and +50 ms), " +
    "rollback for errors ×5 and traffic −60 %, not ok for the other faults",
);
console.log(
  [
    "profile",
    "fault",
    "baseline",
    "counts",
    "ok %",
    "warn %",
    "rollback %",
    "conf right",
    "conf wrong",
    "ok limited %",
  ]
    .map((cell, i) => (i < 4 ? cell.padEnd(COLUMN[i] as number) : cell.padStart(COLUMN[i] as number)))
    .join(" "),
);
for (const scenario of scenarios) {
  const tally = runScenario(scenario, trials, seed, { analyze, shouldFailFast });
  results.push({ scenario, tally });
  console.log(row(scenario, tally));
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `\n${results.length * trials} verdicts in ${seconds.toFixed(1)} s (fail-fast checked after every post slot)\n`,
);

interface Target {
  label: string;
  applies: (scenario: Scenario) => boolean;
  share: (tally: Tally) => number;
  compare: "at_most" | "at_least";
  bound: number;
  /**
   * For a detection target, the false-alarm share the matching healthy target allows: rollbacks
   * ≤ 0.5 % for a rollback target, warnings ≤ 3 % (history baseline) for a detection target.
   */
  budget?: number;
}
const ROLLBACK_BUDGET = 0.005;
const WARNING_BUDGET = 0.03;
const rollbackShare = (t: Tally) => t.rollback / t.trials;
const warningShare = (t: Tally) => t.warning / t.trials;
const detectedShare = (t: Tally) => (t.warning + t.rollback) / t.trials;
const faultIn =
  (...faults: Fault[]) =>
  (s: Scenario) =>
    faults.includes(s.fault);
const served = (s: Scenario) => s.profile !== "batch";
const busy = (s: Scenario) => (["busy"] as ProfileName[]).includes(s.profile);
const targets: Target[] = [
  {
    label: "healthy: rollbacks",
    applies: faultIn("healthy"),
    share: rollbackShare,
    compare: "at_most",
    bound: 0.005,
  },
  {
    label: "healthy, history baseline: warnings",
    applies: (s) => s.fault === "healthy" && s.baseline === "history",
    share: warningShare,
    compare: "at_most",
    bound: 0.03,
  },
  {
    label: "errors ×2 at ≥ 100 rps, history baseline: detected",
    applies: (s) => s.fault === "errors_x2" && busy(s) && s.baseline === "history",
    share: detectedShare,
    compare: "at_least",
    bound: 0.95,
    budget: WARNING_BUDGET,
  },
  {
    label: "latency ×1.6, history baseline: detected",
    applies: (s) => s.fault === "latency_x1.6" && served(s) && s.baseline === "history",
    share: detectedShare,
    compare: "at_least",
    bound: 0.95,
    budget: WARNING_BUDGET,
  },
  {
    label: "errors ×5: rollback",
    applies: (s) => s.fault === "errors_x5" && served(s),
    share: rollbackShare,
    compare: "at_least",
    bound: 0.99,
    budget: ROLLBACK_BUDGET,
  },
  {
    label: "traffic −60 %: rollback",
    applies: (s) => s.fault === "traffic_-60%" && served(s),
    share: rollbackShare,
    compare: "at_least",
    bound: 0.99,
    budget: ROLLBACK_BUDGET,
  },
];
const ORACLE_LABEL: Record<OracleKind, string> = {
  bound: "NP bound",
  umpu: "UMPU test",
  reference: "LR reference",
};

/** The oracle's figures for every row a detection target applies to (latency: two references). */
interface OracleFigure {
  label: string;
  result: Attainable;
}
const oracleStarted = performance.now();
const oracle = new Map<Scenario, OracleFigure[]>();
for (const target of targets) {
  if (target.budget === undefined) continue;
  for (const { scenario } of results.filter((result) => target.applies(result.scenario))) {
    const options = { trials: oracleTrials, seed };
    const figures: OracleFigure[] = [];
    if (scenario.fault.startsWith("latency")) {
      const engineData = attainable(scenario, target.budget, {
        ...options,
        minRequestsForPercentile: ENGINE_MIN_REQUESTS_FOR_PERCENTILE,
      });
      const everyP95 = attainable(scenario, target.budget, options);
      if (engineData) figures.push({ label: "p95 on ≥ 20 requests", result: engineData });
      if (everyP95) figures.push({ label: "every p95 reported", result: everyP95 });
    } else {
      const result = attainable(scenario, target.budget, options);
      if (result) figures.push({ label: "", result });
    }
    oracle.set(scenario, figures);
  }
}
const oracleSeconds = (performance.now() - oracleStarted) / 1000;

/** A failing row's oracle note: infeasible when a bound (or the best unbiased test) is below the target. */
function oracleNote(target: Target, scenario: Scenario): string {
  const figures = oracle.get(scenario) ?? [];
  if (figures.length === 0) return "";
  const notes = figures.map(({ label, result }) => {
    const figure = `${ORACLE_LABEL[result.kind]}${label ? ` on ${label}` : ""} ${percent(result.detection)} %`;
    if (result.detection >= target.bound) return `attainable: ${figure}`;
    return result.kind === "reference"
      ? `reference short too: ${figure}`
      : `infeasible at this volume: ${figure}`;
  });
  return ` (${notes.join("; ")})`;
}

console.log("targets (every row they apply to):");
for (const target of targets) {
  const rows = results.filter((result) => target.applies(result.scenario));
  const failing = rows.filter(({ tally }) => {
    const share = target.share(tally);
    return target.compare === "at_most" ? share > target.bound : share < target.bound;
  });
  const verdict = rows.length === 0 ? "n/a " : failing.length === 0 ? "PASS" : "FAIL";
  const bound = `${target.compare === "at_most" ? "≤" : "≥"} ${percent(target.bound)} %`;
  console.log(
    `  ${verdict}  ${target.label} ${bound} (${rows.length - failing.length} of ${rows.length} rows)`,
  );
  for (const { scenario, tally } of failing) {
    console.log(
      `        ${describe(scenario)}: ${percent(target.share(tally))} %${oracleNote(target, scenario)}`,
    );
  }
}
// A missed errors ×5 or traffic −60 % is a wrong ok; it is a silent one when the verdict did not
// say its window was too small to catch it.
const mustRollBack = results.filter(
  ({ scenario }) => faultIn("errors_x5", "traffic_-60%")(scenario) && served(scenario),
);
const missed = mustRollBack.reduce((sum, { tally }) => sum + tally.ok, 0);
const silent = mustRollBack.reduce((sum, { tally }) => sum + tally.ok - tally.okLimited, 0);
const mustTrials = mustRollBack.reduce((sum, { tally }) => sum + tally.trials, 0);
console.log(
  `errors ×5 and traffic −60 % rows: ${percent(missed / Math.max(1, mustTrials))} % ok, ` +
    `${percent(silent / Math.max(1, mustTrials))} % ok without saying the window was too small to catch them`,
);
const right = results.reduce((sum, { tally }) => sum + tally.rightConfidence, 0);
const rightCount = results.reduce((sum, { tally }) => sum + tally.right, 0);
const wrong = results.reduce((sum, { tally }) => sum + tally.wrongConfidence, 0);
const wrongCount = results.reduce((sum, { tally }) => sum + tally.trials - tally.right, 0);
console.log(
  `mean confidence: right verdicts ${(right / Math.max(1, rightCount)).toFixed(3)} (${rightCount}), ` +
    `wrong verdicts ${(wrong / Math.max(1, wrongCount)).toFixed(3)} (${wrongCount})`,
);

console.log(
  `\nattainable by an oracle at the same false-alarm rate (${oracleTrials} trials per row, ${oracleSeconds.toFixed(1)} s):`,
);
console.log(
  "  NP bound: Neyman-Pearson with the baseline rate and every tick's exposure known — no test can do better;",
);
console.log(
  "  UMPU test: exact conditional binomial on the engine's counts and exposures, baseline level unknown — best unbiased test;",
);
console.log(
  "  LR reference: Gaussian likelihood ratio of log p95 with the model's mean and spread per request count — strong, not a bound.",
);
console.log(
  "  budget: false rollbacks ≤ 0.5 % (rollback targets) or false warnings ≤ 3 % (detection targets) on the matching healthy row",
);
const ATTAINABLE_COLUMNS = [50, 12, 9, 7, 8, 11, 26, 0];
const attainableRow = (cells: string[]) =>
  cells
    .map((cell, i) =>
      i === 4 || i === 5
        ? cell.padStart(ATTAINABLE_COLUMNS[i] as number)
        : cell.padEnd(ATTAINABLE_COLUMNS[i] as number),
    )
    .join(" ")
    .trimEnd();
console.log(
  attainableRow(["target", "profile", "baseline", "counts", "engine", "attainable", "verdict", "oracle"]),
);
for (const target of targets) {
  if (target.budget === undefined) continue;
  for (const { scenario, tally } of results.filter((result) => target.applies(result.scenario))) {
    const engineShare = target.share(tally);
    for (const figure of oracle.get(scenario) ?? []) {
      const detection = figure.result.detection;
      const verdict =
        engineShare >= target.bound
          ? "met"
          : detection < target.bound
            ? figure.result.kind === "reference"
              ? "reference short too"
              : "infeasible at this volume"
            : "attainable: engine short";
      const oracleLabel = `${ORACLE_LABEL[figure.result.kind]}${figure.label ? `, ${figure.label}` : ""}`;
      console.log(
        attainableRow([
          `${target.label} ≥ ${percent(target.bound)} %`,
          scenario.profile,
          scenario.baseline,
          scenario.counts ? "yes" : "no",
          `${percent(engineShare)} %`,
          `${percent(detection)} %`,
          verdict,
          oracleLabel,
        ]),
      );
    }
  }
}

if (scenarios.some((scenario) => scenario.profile === "low_traffic")) {
  const needed = volumesNeeded("low_traffic", {
    trials: Math.min(oracleTrials, 2000),
    seed,
    rollbackBudget: ROLLBACK_BUDGET,
    warningBudget: WARNING_BUDGET,
  });
  console.log(
    "\nwhat would have been needed at low traffic (0.35 rps) to make each target attainable at the same false-alarm rate:",
  );
  for (const row of needed) console.log(`  ${row.target} [${ORACLE_LABEL[row.kind]}]: ${row.needed}`);
}

function row(scenario: Scenario, tally: Tally): string {
  const wrongCount = tally.trials - tally.right;
  const cells = [
    scenario.profile,
    scenario.fault,
    scenario.baseline,
    scenario.counts ? "yes" : "no",
    percent(tally.ok / tally.trials),
    percent(tally.warning / tally.trials),
    percent(tally.rollback / tally.trials),
    tally.right > 0 ? (tally.rightConfidence / tally.right).toFixed(3) : "—",
    wrongCount > 0 ? (tally.wrongConfidence / wrongCount).toFixed(3) : "—",
    percent(tally.okLimited / tally.trials),
  ];
  return cells
    .map((cell, i) => (i < 4 ? cell.padEnd(COLUMN[i] as number) : cell.padStart(COLUMN[i] as number)))
    .join(" ");
}

function describe(scenario: Scenario): string {
  return `${scenario.profile} ${scenario.fault} ${scenario.baseline} baseline, ${scenario.counts ? "with" : "without"} counts`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}`;
}
