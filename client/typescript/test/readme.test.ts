/**
 * The README's examples run, as written, against the real gateway: the README stays true.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { format } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";

const here = fileURLToPath(new URL(".", import.meta.url));
const readme = readFileSync(join(here, "..", "README.md"), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
// Inside the package, so that its imports resolve as they would for a user.
const scratch = mkdtempSync(join(here, ".readme-"));

describe("README.md", () => {
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("has its examples", () => {
    expect(blocks.length).toBe(2);
  });

  it.each(blocks.map((code, i) => [i + 1, code] as const))("example %i runs and prints what its comments say", async (i, code) => {
    const file = join(scratch, `example${i}.ts`);
    writeFileSync(file, code);
    const printed: unknown[][] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      printed.push(args);
    });
    try {
      await import(file);
    } finally {
      spy.mockRestore();
    }
    // Each `console.log(...)` ends with a comment "// prints: <what it prints>".
    const promised = [...code.matchAll(/console\.log\(.*\/\/ prints: (.*?)(?: \(.*\))?$/gm)].map((m) => m[1]);
    expect(promised.length).toBeGreaterThan(0);
    expect(printed.map((args) => format(...args))).toEqual(promised);
  });
});
