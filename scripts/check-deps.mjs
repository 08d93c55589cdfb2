#!/usr/bin/env node
/**
 * The dependency rule of docs/architecture.md (DESIGN §1), checked.
 *
 * For every TypeScript file of every package (src, test, bench) it reads the
 * import specifiers with TypeScript's own pre-parser and reports:
 *
 *   layer       a package imports a workspace package that is not below it
 *   undeclared  a package imports a package its package.json does not list
 *   reach-in    a package reaches into another package's files (a relative
 *               path out of its folder, or `@mm386/x/src/...`)
 *
 * One exception to the layers: the tests and benchmarks (never src/) of every
 * package may import TEST_HELPERS, hw-i386's `./testing` entry (expectCode,
 * expectFault, the fuzz harness). It sits in the bottom package so that the
 * conformance suites that ship in src/ can use it too, and it imports nothing
 * of the machine but its error classes; so buddy's tests may use it (as a
 * devDependency) while buddy's code still needs nothing at all.
 *
 * Usage: node scripts/check-deps.mjs [ROOT]   (ROOT defaults to the repository)
 * Exit status 1 when anything is reported, 0 otherwise.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { LAYERS, layerDir } from "../layers.mjs";

const require = createRequire(import.meta.url);
const ts = require("typescript");

// The layers and what each may import are written once, in layers.mjs at the root;
// re-exported here for the callers that know this module.
export { LAYERS };

const SCOPE = "@mm386/";
/** The one entry point that test code of any layer may import (see above). */
export const TEST_HELPERS = "@mm386/hw-i386/testing";
const FOLDERS = ["src", "test", "bench", "exercises", "test-browser", "web"];

function packageDirs(root) {
  const dirs = Object.keys(LAYERS).map((name) => join(root, layerDir(name)));
  return dirs.filter((d) => existsSync(join(d, "package.json")));
}

function* tsFiles(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name === "fixtures") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* tsFiles(path);
    else if (/\.(m|c)?tsx?$/.test(name) && !name.endsWith(".d.ts")) yield path;
  }
}

function bareName(spec) {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Check the tree at `root`; returns a list of human-readable violations. */
export function checkDependencies(root) {
  const problems = [];
  // Tests and benchmarks may also use the tools the root installs.
  const rootPkgPath = join(root, "package.json");
  const rootDev = existsSync(rootPkgPath)
    ? (JSON.parse(readFileSync(rootPkgPath, "utf8")).devDependencies ?? {})
    : {};
  for (const dir of packageDirs(root)) {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const self = pkg.name;
    const layer = self.startsWith(SCOPE) ? self.slice(SCOPE.length) : self;
    const allowed = LAYERS[layer] ?? [];
    const prodDeps = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies };
    const allDeps = { ...prodDeps, ...pkg.devDependencies };
    for (const folder of FOLDERS) {
      for (const file of tsFiles(join(dir, folder))) {
        const where = relative(root, file).split(sep).join("/");
        const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
        for (const { fileName: spec } of info.importedFiles) {
          if (spec.startsWith(".")) {
            const target = resolve(dirname(file), spec);
            if (!target.startsWith(dir + sep)) {
              problems.push(
                `reach-in: ${where} imports "${spec}", outside ${self}; import the package instead`,
              );
            }
            continue;
          }
          if (spec.startsWith("node:") || builtinModules.includes(spec)) continue;
          // A module a vite plugin generates (the viewer's page setup): no package behind it.
          if (spec.startsWith("virtual:")) continue;
          const name = bareName(spec);
          if (name.startsWith(SCOPE)) {
            const other = name.slice(SCOPE.length);
            if (name === self) {
              if (folder === "src")
                problems.push(
                  `reach-in: ${where} imports its own package "${spec}"; use a relative path`,
                );
              continue;
            }
            const testHelper = folder !== "src" && spec === TEST_HELPERS;
            if (!allowed.includes(other) && !testHelper) {
              problems.push(
                `layer: ${where} imports "${spec}", but ${self} may import only ${allowed.length ? allowed.map((l) => SCOPE + l).join(", ") : "nothing from the workspace"}`,
              );
            }
            if (/^@mm386\/[^/]+\/(src|dist)(\/|$)/.test(spec)) {
              problems.push(
                `reach-in: ${where} imports "${spec}"; use the package's public entry points`,
              );
            }
          }
          // Library code must declare what it uses; tests and benchmarks may also use the root's tools.
          const declared = folder === "src" ? prodDeps : { ...allDeps, ...rootDev };
          if (!(name in declared)) {
            problems.push(
              `undeclared: ${where} imports "${spec}", which ${relative(root, join(dir, "package.json"))} does not list`,
            );
          }
        }
      }
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
  const problems = checkDependencies(root);
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`check-deps: ${problems.length} violation(s) of the dependency rule`);
    process.exit(1);
  }
  console.log(`check-deps: ${packageDirs(root).length} packages follow the dependency rule`);
}
