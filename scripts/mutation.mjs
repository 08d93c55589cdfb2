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
 * `pnpm mutation --summary [package ...]` prints, from the reports already
 * there, each package's score and its surviving mutants as the Markdown that
 * docs/quality.md takes.
 *
 * Environment: MM386_MUTATION_CONCURRENCY (default 2) test-runner processes;
 * MM386_MUTATION_RUNS (default 25) caps fast-check's runs per property;
 * MM386_MUTATE narrows the files (stryker.config.mjs); MM386_MUTATION_IGNORE_STATIC=1
 * skips static mutants (a quick, partial score: say so when recording it).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const LAYERS = ["hw-i386", "buddy", "allocation", "paging", "kvmalloc", "malloc"];

const args = process.argv.slice(2).filter((a) => a !== "--");
const summaryOnly = args.includes("--summary");
const asked = args.filter((a) => a !== "--summary");
if (asked.includes("--help") || asked.includes("-h")) {
  console.log(`usage: pnpm mutation [--summary] [package ...]   (packages: ${LAYERS.join(", ")})`);
  process.exit(0);
}
const unknown = asked.filter((p) => !LAYERS.includes(p.replace(/^@mm386\//, "")));
if (unknown.length > 0) {
  console.error(`mutation: unknown package ${unknown.join(", ")}; one of ${LAYERS.join(", ")}`);
  process.exit(2);
}
const packages = asked.length > 0 ? asked.map((p) => p.replace(/^@mm386\//, "")) : LAYERS;

/**
 * Score and survivors of one package from reports/mutation/<pkg>.json (the
 * mutation-testing-elements schema Stryker writes), as Markdown. The score is
 * Stryker's: (killed + timeout) / (killed + timeout + survived + no coverage).
 */
function summary(pkg) {
  const file = join(root, "reports", "mutation", `${pkg}.json`);
  if (!existsSync(file)) return `### @mm386/${pkg}\n\nno report (run \`pnpm mutation ${pkg}\`)\n`;
  const report = JSON.parse(readFileSync(file, "utf8"));
  const count = {};
  const survivors = [];
  const byFile = [];
  for (const [path, f] of Object.entries(report.files)) {
    const lines = f.source.split("\n");
    const fileCount = { detected: 0, undetected: 0 };
    for (const m of f.mutants) {
      count[m.status] = (count[m.status] ?? 0) + 1;
      if (m.status === "Killed" || m.status === "Timeout") fileCount.detected++;
      if (m.status === "Survived" || m.status === "NoCoverage") fileCount.undetected++;
      if (m.status !== "Survived" && m.status !== "NoCoverage") continue;
      const { line, column } = m.location.start;
      const code = (lines[line - 1] ?? "").trim().slice(0, 90);
      const replacement = (m.replacement ?? "").replace(/\s+/g, " ").slice(0, 60);
      survivors.push(
        `- ${path}:${line}:${column} ${m.mutatorName}${m.status === "NoCoverage" ? " (no coverage)" : ""}: \`${code}\` → \`${replacement}\``,
      );
    }
    const scored = fileCount.detected + fileCount.undetected;
    if (scored > 0)
      byFile.push(`${path} ${((100 * fileCount.detected) / scored).toFixed(2)}% (${scored})`);
  }
  const n = (k) => count[k] ?? 0;
  const detected = n("Killed") + n("Timeout");
  const undetected = n("Survived") + n("NoCoverage");
  const score = ((100 * detected) / Math.max(1, detected + undetected)).toFixed(2);
  return [
    `### @mm386/${pkg}: ${score}%`,
    "",
    `killed ${n("Killed")}, timeout ${n("Timeout")}, survived ${n("Survived")}, no coverage ${n("NoCoverage")}, errors ${n("CompileError") + n("RuntimeError")}`,
    "",
    `By file (score, mutants scored): ${byFile.join("; ")}`,
    "",
    ...survivors,
    "",
  ].join("\n");
}

if (summaryOnly) {
  for (const pkg of packages) console.log(summary(pkg));
  process.exit(0);
}

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
  else console.log(`\n${summary(pkg)}`);
}
process.exit(failed > 0 ? 1 : 0);
