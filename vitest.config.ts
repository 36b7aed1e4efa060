import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{server,packages,action,test}/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    globalSetup: ["./test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only add contention with the PostgreSQL they all share.
    maxWorkers: 2,
  },
});
