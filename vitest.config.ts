import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{server,packages,action,test}/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    globalSetup: ["./test/support/global-setup.ts"],
    // In CI, .ci/run prints a plain "N passed, N failed" line from this file.
    reporters: process.env.CI
      ? ["default", ["json", { outputFile: ".seqpulse/ci-test-results.json" }]]
      : ["default"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only add contention with the PostgreSQL they all share.
    maxWorkers: 2,
  },
});
