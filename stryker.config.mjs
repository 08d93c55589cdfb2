// Mutation testing (docs/quality.md): Stryker mutates one package's sources and
// runs that package's vitest tests against every mutant. Run it through
// `pnpm mutation [package]` (scripts/mutation.mjs), which runs Stryker from
// inside the package folder with MM386_MUTATION_PACKAGE set; it is not part of
// CI or `pnpm test` because it takes minutes per package.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const pkg = process.env.MM386_MUTATION_PACKAGE ?? "buddy";
const require = createRequire(import.meta.url);

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  // Under pnpm, Stryker's core cannot see the runner plugin from its own
  // node_modules, so it is named by path.
  plugins: [require.resolve("@stryker-mutator/vitest-runner")],
  testRunner: "vitest",
  vitest: { configFile: join(root, "vitest.mutation.config.ts"), related: true },
  // The conformance suites are test code that ships in src/ (the allocator
  // and paging conformance suites, and paging's design conformance suite that
  // the hobby, whitix and linux designs run); the barrels and CLIs' argv glue
  // have nothing worth mutating. MM386_MUTATE narrows the set to the files
  // named (comma-separated, relative to the package), for a package too big
  // to measure whole in one sitting; say which files when recording the score.
  mutate: process.env.MM386_MUTATE
    ? process.env.MM386_MUTATE.split(",").map((f) => f.trim())
    : [
        "src/**/*.ts",
        ...["src/conformance.ts", "src/design-conformance.ts", "src/index.ts", "src/bin"]
          .filter((p) => existsSync(join(root, "packages", pkg, p)))
          .map((p) => (p.endsWith(".ts") ? `!${p}` : `!${p}/**`)),
        // Barrels of the design folders (re-exports only).
        "!src/*/index.ts",
      ],
  // In place: a sandbox copy would lose the package's own node_modules links
  // to the workspace packages below it. Stryker restores the files on exit.
  inPlace: true,
  coverageAnalysis: "perTest",
  // MM386_MUTATION_INCREMENTAL=NAME keeps the results in
  // reports/mutation/NAME.incremental.json and reuses them on the next run
  // with the same NAME: only mutants whose source or covering tests changed
  // are tested again (a survivor is retested once a new test covers it).
  // A rerun after adding survivor tests then takes minutes, not an hour.
  ...(process.env.MM386_MUTATION_INCREMENTAL
    ? {
        incremental: true,
        incrementalFile: join(
          root,
          "reports/mutation",
          `${process.env.MM386_MUTATION_INCREMENTAL}.incremental.json`,
        ),
      }
    : {}),
  // MM386_MUTATION_IGNORE_STATIC=1 skips static mutants (code that runs
  // outside any one test, e.g. a boot in beforeAll: each costs a run of every
  // related test). For a quick slice on a loaded machine only; a score
  // measured this way is over the other mutants and must say so.
  ignoreStatic: process.env.MM386_MUTATION_IGNORE_STATIC === "1",
  concurrency: Number(process.env.MM386_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 3000,
  reporters: ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: join(root, "reports/mutation", `${pkg}.html`) },
  jsonReporter: { fileName: join(root, "reports/mutation", `${pkg}.json`) },
  tempDirName: join(root, ".stryker-tmp", pkg),
  cleanTempDir: true,
  thresholds: { high: 85, low: 70, break: null },
};
