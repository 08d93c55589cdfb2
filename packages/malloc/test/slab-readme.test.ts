/**
 * The README's slab example (its second ```ts block that imports
 * @mm386/malloc/slab) runs and logs what its `// → ...` comments say, the way
 * scripts/test/readme-examples.test.ts checks each README's first block.
 */
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi, onTestFinished } from "vitest";

const packages = fileURLToPath(new URL("../..", import.meta.url));

afterEach(() => {
  vi.restoreAllMocks();
});

it("the README's slab example runs and prints what it says", async () => {
  const text = readFileSync(join(packages, "malloc/README.md"), "utf8");
  const code = [...text.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .find((c) => c.includes('from "@mm386/malloc/slab"'));
  expect(code, "a ts block importing @mm386/malloc/slab").toBeDefined();
  const expected = [...code!.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]!.trim());
  expect(expected.length).toBeGreaterThan(0);
  const runnable = code!.replace(
    /from "@mm386\/([a-z0-9-]+)(\/slab)?"/g,
    (_m, pkg: string, sub?: string) =>
      `from ${JSON.stringify(join(packages, pkg, sub ? "src/slab/index.ts" : "src/index.ts"))}`,
  );
  const dir = mkdtempSync(join(tmpdir(), "readme-slab-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "example.ts");
  writeFileSync(file, runnable);
  const logged: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    logged.push(args.map(String).join(" "));
  });
  await import(/* @vite-ignore */ file);
  expect(logged).toEqual(expected);
});
