/**
 * The dependency-rule check must pass on this repository and fail on each kind
 * of violation, in throwaway copies of the layout.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { layerDir } from "../../layers.mjs";
import { LAYERS, TEST_HELPERS, checkDependencies } from "../check-deps.mjs";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const script = fileURLToPath(new URL("../check-deps.mjs", import.meta.url));

/** A minimal monorepo: every layer with a package.json declaring what it may use. */
function tree(
  files: Record<string, string>,
  deps: Readonly<Record<string, readonly string[]>> = LAYERS,
): string {
  const root = mkdtempSync(join(tmpdir(), "deps-"));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  for (const layer of Object.keys(LAYERS)) {
    const dir = join(root, layerDir(layer));
    mkdirSync(join(dir, "src"), { recursive: true });
    const dependencies = Object.fromEntries(
      (deps[layer] ?? []).map((d) => [`@mm386/${d}`, "workspace:*"]),
    );
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: `@mm386/${layer}`, dependencies }),
    );
    writeFileSync(join(dir, "src", "index.ts"), "export {};\n");
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("check-deps", () => {
  it("passes on this repository", () => {
    expect(checkDependencies(repo)).toEqual([]);
  });

  it("passes on a clean tree that imports only downwards", () => {
    const root = tree({
      "packages/paging/src/a.ts":
        'import { Mmu } from "@mm386/hw-i386";\nimport { x } from "@mm386/allocation";\n',
      "workbook/src/b.ts":
        'export * from "@mm386/malloc";\nimport { readFileSync } from "node:fs";\n',
    });
    expect(checkDependencies(root)).toEqual([]);
  });

  it("fails when a package imports one that is not below it", () => {
    const root = tree(
      { "packages/buddy/src/a.ts": 'import { Mmu } from "@mm386/hw-i386";\n' },
      { ...LAYERS, buddy: ["hw-i386"] }, // declared, but buddy needs nothing at all
    );
    expect(checkDependencies(root)).toEqual([
      'layer: packages/buddy/src/a.ts imports "@mm386/hw-i386", but @mm386/buddy may import only nothing from the workspace',
    ]);
  });

  it("fails when a lower layer imports a higher one", () => {
    const root = tree(
      { "packages/paging/src/a.ts": 'const k = await import("@mm386/kvmalloc");\n' },
      {
        ...LAYERS,
        paging: [...LAYERS.paging!, "kvmalloc"],
      },
    );
    expect(checkDependencies(root)).toEqual([
      expect.stringMatching(/^layer: packages\/paging\/src\/a.ts imports "@mm386\/kvmalloc"/),
    ]);
  });

  it("fails when an import is not declared in package.json", () => {
    const root = tree(
      {
        "packages/allocation/src/a.ts":
          'import { B } from "@mm386/buddy";\nimport pad from "left-pad";\n',
      },
      {
        ...LAYERS,
        allocation: ["hw-i386"],
      },
    );
    expect(checkDependencies(root)).toEqual([
      'undeclared: packages/allocation/src/a.ts imports "@mm386/buddy", which packages/allocation/package.json does not list',
      'undeclared: packages/allocation/src/a.ts imports "left-pad", which packages/allocation/package.json does not list',
    ]);
  });

  it("fails when a package reaches into another package's files", () => {
    const root = tree({
      "packages/paging/src/a.ts":
        'import { x } from "../../hw-i386/src/mmu.js";\nimport { y } from "@mm386/allocation/src/buddy.js";\n',
    });
    expect(checkDependencies(root)).toEqual([
      'reach-in: packages/paging/src/a.ts imports "../../hw-i386/src/mmu.js", outside @mm386/paging; import the package instead',
      'reach-in: packages/paging/src/a.ts imports "@mm386/allocation/src/buddy.js"; use the package\'s public entry points',
    ]);
  });

  it("lets the tests of every layer, buddy's too, import hw-i386's testing entry, and nothing else of it", () => {
    const deps = { ...LAYERS, buddy: ["hw-i386"] }; // declared, as a devDependency would be
    const root = tree(
      {
        "packages/buddy/test/a.test.ts": 'import { expectCode } from "@mm386/hw-i386/testing";\n',
        "packages/buddy/test/b.test.ts": 'import { Mmu } from "@mm386/hw-i386";\n',
        "packages/buddy/src/c.ts": 'import { expectCode } from "@mm386/hw-i386/testing";\n',
      },
      deps,
    );
    expect(TEST_HELPERS).toBe("@mm386/hw-i386/testing");
    expect(checkDependencies(root)).toEqual([
      'layer: packages/buddy/src/c.ts imports "@mm386/hw-i386/testing", but @mm386/buddy may import only nothing from the workspace',
      'layer: packages/buddy/test/b.test.ts imports "@mm386/hw-i386", but @mm386/buddy may import only nothing from the workspace',
    ]);
  });

  it("exits 1 with the violation on stderr when run as a command", () => {
    const root = tree(
      { "packages/hw-i386/src/a.ts": 'import { m } from "@mm386/malloc";\n' },
      { ...LAYERS, "hw-i386": ["malloc"] },
    );
    const r = spawnSync(process.execPath, [script, root], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('layer: packages/hw-i386/src/a.ts imports "@mm386/malloc"');
    const ok = spawnSync(process.execPath, [script, repo], { encoding: "utf8" });
    expect(ok.status).toBe(0);
  }, 30_000); // two node processes: seconds on a loaded machine
});
