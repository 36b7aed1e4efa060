export * from "./analysis.js";
export * from "./api.js";
export * from "./enums.js";
export * from "./metrics-contract.js";
export * from "./metrics-source.js";
export * from "./notifications.js";
export * from "./numbers.js";
