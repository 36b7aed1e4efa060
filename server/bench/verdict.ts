/**
 * Monte Carlo of the verdict engine over generated services (server/src/verdict/simulation.ts):
 * per profile, fault, baseline and counts, the share of ok / warning / rollback_recommended and
 * the mean confidence of right and wrong verdicts, then the targets. Prints figures; it
 * asserts nothing (the seeded test in server/src/verdict asserts the targets on a smaller run).
 *   pnpm bench:verdict [--trials 1000] [--seed 1] [--profile busy]
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

const { values } = parseArgs({
  // pnpm may pass a "--" separator through.
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    trials: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    profile: { type: "string" },
  },
});
const trials = Number(values.trials);
const seed = Number(values.seed);
const COLUMN = [12, 16, 9, 7, 6, 7, 11, 11, 11];
const scenarios = allScenarios().filter((scenario) => !values.profile || scenario.profile === values.profile);

const started = performance.now();
const results: { scenario: Scenario; tally: Tally }[] = [];
console.log(`verdict engine Monte Carlo: ${trials} trials per row, seed ${seed}`);
console.log(
  "right verdict: ok when healthy (and for a latency fault below the default minimum effect, ×1.25 and +50 ms), " +
    "rollback for errors ×5 and traffic −60 %, not ok for the other faults",
);
console.log(
  ["profile", "fault", "baseline", "counts", "ok %", "warn %", "rollback %", "conf right", "conf wrong"]
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
}
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
  },
  {
    label: "latency ×1.6, history baseline: detected",
    applies: (s) => s.fault === "latency_x1.6" && served(s) && s.baseline === "history",
    share: detectedShare,
    compare: "at_least",
    bound: 0.95,
  },
  {
    label: "errors ×5: rollback",
    applies: (s) => s.fault === "errors_x5" && served(s),
    share: rollbackShare,
    compare: "at_least",
    bound: 0.99,
  },
  {
    label: "traffic −60 %: rollback",
    applies: (s) => s.fault === "traffic_-60%" && served(s),
    share: rollbackShare,
    compare: "at_least",
    bound: 0.99,
  },
];
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
    console.log(`        ${describe(scenario)}: ${percent(target.share(tally))} %`);
  }
}
const right = results.reduce((sum, { tally }) => sum + tally.rightConfidence, 0);
const rightCount = results.reduce((sum, { tally }) => sum + tally.right, 0);
const wrong = results.reduce((sum, { tally }) => sum + tally.wrongConfidence, 0);
const wrongCount = results.reduce((sum, { tally }) => sum + tally.trials - tally.right, 0);
console.log(
  `mean confidence: right verdicts ${(right / Math.max(1, rightCount)).toFixed(3)} (${rightCount}), ` +
    `wrong verdicts ${(wrong / Math.max(1, wrongCount)).toFixed(3)} (${wrongCount})`,
);

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
