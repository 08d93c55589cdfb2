/**
 * layers.mjs is the one list of layers that check-deps, the root vitest
 * config and the README-examples test read; it must match the packages on
 * disk, or one of them silently skips a package.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { LAYERS, LAYER_NAMES, layerDir } from "../../layers.mjs";
import projects from "../../vitest.projects.config.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));

/** The workspace packages on disk: every packages/<dir> with a package.json, and the workbook. */
function packagesOnDisk(): string[] {
  const dirs = readdirSync(join(repo, "packages"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(repo, "packages", d.name, "package.json")))
    .map((d) => d.name);
  return [...dirs, "workbook"].sort();
}

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
}

function manifest(name: string): Manifest {
  return JSON.parse(readFileSync(join(repo, layerDir(name), "package.json"), "utf8")) as Manifest;
}

describe("layers.mjs", () => {
  it("names every workspace package once, and nothing else", () => {
    expect([...LAYER_NAMES].sort()).toEqual(packagesOnDisk());
    for (const name of LAYER_NAMES) expect(manifest(name).name).toBe(`@mm386/${name}`);
  });

  it("lists the layers bottom first: a layer may import only layers listed before it", () => {
    const seen: string[] = [];
    for (const name of LAYER_NAMES) {
      expect(
        LAYERS[name]!.filter((below) => !seen.includes(below)),
        `${name} may import a layer that is not below it`,
      ).toEqual([]);
      seen.push(name);
    }
  });

  it("allows every workspace dependency a package declares", () => {
    for (const name of LAYER_NAMES) {
      const m = manifest(name);
      const declared = Object.keys(m.dependencies ?? {}).filter((d) => d.startsWith("@mm386/"));
      expect(
        declared.map((d) => d.slice("@mm386/".length)).filter((d) => !LAYERS[name]!.includes(d)),
        `${m.name} depends on a layer it may not import`,
      ).toEqual([]);
    }
  });

  it("gives the root vitest config one project per layer, at the layer's folder", () => {
    const names = (projects.test?.projects ?? []).map((p) => {
      const t = (p as { test?: { name?: string; root?: string } }).test;
      return `${t?.name} ${t?.root}`;
    });
    for (const name of LAYER_NAMES) expect(names).toContain(`${name} ${layerDir(name)}`);
  });
});
