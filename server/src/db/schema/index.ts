export * from "./collection-failures.js";
export * from "./deployment-decisions.js";
export * from "./deployments.js";
export * from "./metric-samples.js";
export * from "./notification-deliveries.js";
export * from "./notification-destinations.js";
export * from "./projects.js";
export * from "./verdicts.js";
