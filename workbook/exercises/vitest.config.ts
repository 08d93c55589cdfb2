import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { defaultClientConditions, defaultServerConditions } from "vite";
import { CheckReporter } from "../src/check-reporter.js";

// The exercises' checks, run by `pnpm workbook check|watch|verify` (see
// workbook/src/runner.ts). The runner writes one small test file per checked
// implementation (the student's, the reference, the starter, a planted wrong
// version) into MM386_RUNS_DIR; each sets the kit's environment
// (workbook/src/kit.ts) and imports the exercise's checks. One project, so
// the packages are transformed once for all of them. Run by hand (without
// MM386_RUNS_DIR), it checks every exercise's solution.ts.

const here = fileURLToPath(new URL(".", import.meta.url));
const runs = process.env.MM386_RUNS_DIR;

export default defineConfig({
  resolve: { conditions: ["source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  test: {
    root: runs ?? here,
    include: runs ? ["*.test.mjs"] : ["*/*.test.ts"],
    // The runner reads what CheckReporter writes; by hand, vitest's own report.
    reporters: process.env.MM386_REPORT_FILE ? [new CheckReporter()] : ["default"],
    testTimeout: 60_000,
    // One module graph per worker, shared by the runs: the packages are loaded once, not once
    // per run (each run's checks are a module of their own, see runner.ts). The packages keep
    // no global state, and every check builds its own machine.
    ...(runs ? { isolate: false, maxWorkers: 2 } : {}),
  },
});
