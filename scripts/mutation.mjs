#!/usr/bin/env node
/**
 * `pnpm mutation [package ...]`: mutation testing with Stryker for one package,
 * several, or (with no argument) every layer, one after the other. Each run
 * takes minutes; it is not part of CI or `pnpm test`. Scores go in
 * docs/quality.md; reports land in reports/mutation/<package>.{html,json}.
 *
 * Stryker runs in place (it edits the package's src/ while it runs and puts it
 * back on exit), so do not edit that package's sources during a run.
 *
 * Environment: MM386_MUTATION_CONCURRENCY (default 2) test-runner processes.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const LAYERS = ["hw-i386", "buddy", "allocation", "paging", "kvmalloc", "malloc"];

const asked = process.argv.slice(2).filter((a) => a !== "--");
if (asked.includes("--help") || asked.includes("-h")) {
  console.log(`usage: pnpm mutation [package ...]   (packages: ${LAYERS.join(", ")})`);
  process.exit(0);
}
const unknown = asked.filter((p) => !LAYERS.includes(p.replace(/^@mm386\//, "")));
if (unknown.length > 0) {
  console.error(`mutation: unknown package ${unknown.join(", ")}; one of ${LAYERS.join(", ")}`);
  process.exit(2);
}
const packages = asked.length > 0 ? asked.map((p) => p.replace(/^@mm386\//, "")) : LAYERS;

const require = createRequire(import.meta.url);
const stryker = join(
  dirname(require.resolve("@stryker-mutator/core/package.json")),
  "bin",
  "stryker.js",
);
if (!existsSync(stryker)) {
  console.error(`mutation: Stryker not found at ${stryker}; run pnpm install`);
  process.exit(2);
}

let failed = 0;
for (const pkg of packages) {
  console.log(`\n== mutation testing @mm386/${pkg}`);
  const run = spawnSync(process.execPath, [stryker, "run", join(root, "stryker.config.mjs")], {
    cwd: join(root, "packages", pkg),
    env: { ...process.env, MM386_MUTATION_PACKAGE: pkg },
    stdio: "inherit",
  });
  if (run.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
