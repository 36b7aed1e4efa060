/** Test helpers: a scripted HTTP server and response fixtures. Not for production code. */
export * from "./fixtures.js";
export * from "./scripted-server.js";
