export * from "./collection-failures.js";
export * from "./deployments.js";
export * from "./metric-samples.js";
export * from "./projects.js";
export * from "./verdicts.js";
