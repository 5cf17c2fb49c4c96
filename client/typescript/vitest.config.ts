import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (file: string): string => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // The README's examples import the package by its name.
    alias: [
      { find: /^@checkpoint-gateway\/client\/langgraph$/, replacement: src("langgraph.ts") },
      { find: /^@checkpoint-gateway\/client$/, replacement: src("index.ts") },
    ],
  },
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
