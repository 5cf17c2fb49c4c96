import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The validation suite's list tests read across every thread of the gateway, and
    // its initializer wipes the gateway between checkpointers: test files share one
    // gateway, so they run one after another.
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
