/**
 * The first ```ts block of each package README must run. Its `@mm386/*`
 * imports are pointed at the packages' sources, it is run, and what it logs
 * must match its `// → ...` comments, in order.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi, onTestFinished } from "vitest";
import { LAYER_NAMES, layerDir } from "../../layers.mjs";

const repo = fileURLToPath(new URL("../..", import.meta.url));
// Every layer's README, the workbook's included (the list is layers.mjs's).
const readmes = LAYER_NAMES.map(layerDir).filter((dir) => existsSync(join(repo, dir, "README.md")));

function example(dir: string): string | undefined {
  const text = readFileSync(join(repo, dir, "README.md"), "utf8");
  return /```ts\n([\s\S]*?)```/.exec(text)?.[1];
}

function sourceOf(pkg: string): string {
  return join(repo, layerDir(pkg), "src/index.ts");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("README examples run and print what they say", () => {
  it.each(readmes.filter((d) => example(d) !== undefined))("%s", async (dir) => {
    const code = example(dir)!;
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]!.trim());
    expect(expected.length).toBeGreaterThan(0);
    const runnable = code.replace(
      /from "@mm386\/([a-z0-9-]+)"/g,
      (_m, pkg: string) => `from ${JSON.stringify(sourceOf(pkg))}`,
    );
    const tmp = mkdtempSync(join(tmpdir(), "readme-"));
    onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
    const file = join(tmp, "example.ts");
    writeFileSync(file, runnable);
    const logged: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
    await import(file);
    expect(logged).toEqual(expected);
  });
});
