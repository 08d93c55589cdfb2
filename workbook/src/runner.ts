/**
 * Runs exercises' checks in a vitest child process and reads its JSON report:
 * each run is isolated, and the choice of implementation travels in the
 * environment (MM386_IMPL, MM386_LAYERS) to the checks, which read it with
 * the kit.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { EXERCISES_DIR, type Exercise, type ImplKind } from "./exercises.js";

/** One check (a test) that did not pass. */
export interface FailedCheck {
  /** The test's full name. */
  readonly name: string;
  /** The first lines of its failure message. */
  readonly message: string;
}

/** The outcome of one exercise's checks. */
export interface ExerciseResult {
  /** The exercise. */
  readonly exercise: Exercise;
  /** Checks that passed. */
  readonly passed: number;
  /** Checks that failed (a file that failed to load counts as one). */
  readonly failed: number;
  /** What failed. */
  readonly failures: readonly FailedCheck[];
  /** Exercise 8's trace score, when its checks wrote one. */
  readonly score?: TraceScore;
}

/** What exercise 8's checks measure on the traces (means over the traces). */
export interface TraceScore {
  /** Mean utilisation of the checked heap (0..1). */
  readonly utilization: number;
  /** Mean MMU accesses per trace operation: the simulated cost. */
  readonly accessesPerOp: number;
  /** The same for the reference malloc on the same stack. */
  readonly reference: { readonly utilization: number; readonly accessesPerOp: number };
}

/** How to run. */
export interface RunOptions {
  /** Which implementation of the exercises under test. */
  readonly impl: ImplKind;
  /** Exercise numbers whose solutions go into the stacks. */
  readonly layers: readonly number[];
}

interface JsonReport {
  testResults?: {
    name: string;
    status: string;
    message?: string;
    assertionResults?: { fullName: string; status: string; failureMessages?: string[] }[];
  }[];
}

function vitestBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("vitest/package.json")), "vitest.mjs");
}

function firstLines(text: string, n = 4): string {
  const lines = text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "" && !/^\s+at /.test(l));
  return lines.slice(0, n).join("\n");
}

/** Run the checks of `exercises` and report per exercise. */
export function runChecks(exercises: readonly Exercise[], options: RunOptions): ExerciseResult[] {
  const out = mkdtempSync(join(tmpdir(), "mm386-workbook-"));
  const report = join(out, "report.json");
  const scoreFile = join(out, "score.json");
  try {
    spawnSync(
      process.execPath,
      [
        vitestBin(),
        "run",
        "-c",
        join(EXERCISES_DIR, "vitest.config.ts"),
        ...exercises.map((e) => `${e.slug}/check.test.ts`),
        "--reporter=json",
        `--outputFile=${report}`,
      ],
      {
        cwd: EXERCISES_DIR,
        env: {
          ...process.env,
          MM386_IMPL: options.impl,
          MM386_LAYERS: options.layers.join(","),
          MM386_SCORE_FILE: scoreFile,
          FORCE_COLOR: "0",
          NO_COLOR: "1",
        },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let parsed: JsonReport = {};
    try {
      parsed = JSON.parse(readFileSync(report, "utf8")) as JsonReport;
    } catch {
      parsed = {};
    }
    let score: TraceScore | undefined;
    try {
      score = JSON.parse(readFileSync(scoreFile, "utf8")) as TraceScore;
    } catch {
      score = undefined;
    }
    return exercises.map((e) => {
      const file = parsed.testResults?.find((t) => t.name.includes(`/${e.slug}/`));
      if (!file)
        return {
          exercise: e,
          passed: 0,
          failed: 1,
          failures: [{ name: "running the checks", message: "vitest produced no report" }],
        };
      const tests = file.assertionResults ?? [];
      const failures: FailedCheck[] = tests
        .filter((t) => t.status === "failed")
        .map((t) => ({
          name: t.fullName,
          message: firstLines(t.failureMessages?.join("\n") ?? ""),
        }));
      if (tests.length === 0 || (file.status === "failed" && failures.length === 0))
        failures.push({
          name: "loading the checks",
          message: firstLines(file.message ?? "failed"),
        });
      return {
        exercise: e,
        passed: tests.filter((t) => t.status === "passed").length,
        failed: failures.length,
        failures,
        ...(e.n === 8 && score ? { score } : {}),
      };
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
