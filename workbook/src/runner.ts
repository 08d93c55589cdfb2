/**
 * Runs exercises' checks in a vitest child process and reads what its
 * reporter (CheckReporter) wrote. Each checked implementation is one
 * {@link CheckRun}, which becomes one small test file that sets the kit's
 * environment (MM386_IMPL, MM386_IMPL_FILE, MM386_LAYERS) and imports the
 * exercise's checks; so the reference, the starter and every planted wrong
 * version are checked in one process (vitest gives each file a fresh module
 * graph), and the packages are transformed once for all of them.
 *
 * ```
 *  runChecks(runs) -> <tmp>/<run id>.test.mjs --> vitest (exercises/vitest.config.ts)
 *       ^                                           a worker per file
 *       |                                              |
 *       +---- report.jsonl <-- CheckReporter: "start"/"end" line per file
 *  watchdog: a run still going after timeoutMs -> kill the process group,
 *  mark that run timed out, start again with the runs not yet finished
 * ```
 *
 * @module
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { ReportLine, ReportedError } from "./check-reporter.js";
import { EXERCISES_DIR, type Exercise, type ImplKind } from "./exercises.js";

/** One check (a test) that did not pass. */
export interface FailedCheck {
  /** The test's full name. */
  readonly name: string;
  /** Why it failed: the assertion's message, where it failed, a code frame. */
  readonly message: string;
  /** What the test printed (console.log in your code shows up here). */
  readonly logs: readonly string[];
}

/** One implementation of one exercise to check. */
export interface CheckRun {
  /** Unique among the runs of one call (a vitest project name). */
  readonly id: string;
  /** The exercise whose checks run. */
  readonly exercise: Exercise;
  /** Which of its implementations. */
  readonly impl: ImplKind;
  /** A file to check instead of the one `impl` names (a planted wrong version). */
  readonly file?: string;
  /** Exercise numbers whose solutions go into the stacks. */
  readonly layers: readonly number[];
  /**
   * Skip the remaining checks once one fails: enough to show that a planted
   * wrong version is caught, and much cheaper (curriculum CI runs many).
   */
  readonly stopAtFirstFailure?: boolean;
  /**
   * Give every property test a fifth of its runs (`MM386_QUICK=1`, see
   * `propertyRuns` in `@mm386/hw-i386/testing`): for the reference inside
   * `pnpm test`, whose packages' own tests run the same suites in full.
   */
  readonly quick?: boolean;
}

/** The outcome of one run. */
export interface ExerciseResult {
  /** The run. */
  readonly run: CheckRun;
  /** The exercise (the run's). */
  readonly exercise: Exercise;
  /** Checks that passed. */
  readonly passed: number;
  /** Checks that failed (a file that failed to load, or a timeout, counts as one). */
  readonly failed: number;
  /** What failed. */
  readonly failures: readonly FailedCheck[];
  /** True if the run was stopped by its timeout. */
  readonly timedOut: boolean;
  /** Checks that passed but printed something (console.log), with what they printed. */
  readonly printed: readonly { readonly name: string; readonly logs: readonly string[] }[];
  /** Exercise 8's trace score, when its checks wrote one. */
  readonly score?: TraceScore;
}

/** What exercise 8's checks measure on the traces (means over the traces). */
export interface TraceScore {
  /** True if every trace ran validly (else the numbers mean nothing: n/a). */
  readonly valid: boolean;
  /** Mean utilisation of the checked heap (0..1). */
  readonly utilization: number;
  /** Mean MMU accesses per trace operation: the simulated cost. */
  readonly accessesPerOp: number;
  /** The same for the reference malloc on the same stack. */
  readonly reference: { readonly utilization: number; readonly accessesPerOp: number };
}

/** How to run. */
export interface RunOptions {
  /** A run still going after this long is stopped and reported as timed out (default 120 s). */
  readonly timeoutMs?: number;
}

function vitestBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("vitest/package.json")), "vitest.mjs");
}

const STACK_LINE = /^\s+at /;

/** Where in the exercise's folder an error happened: `03-buddy/solution.ts:42:7`. */
function location(stack: string | undefined): string | undefined {
  for (const line of (stack ?? "").split("\n")) {
    if (!STACK_LINE.test(line)) continue;
    const m = /(\/[^\s()]+?\.ts):(\d+):(\d+)/.exec(line);
    if (m && m[1]!.startsWith(EXERCISES_DIR)) return `${relative(EXERCISES_DIR, m[1]!)}:${m[2]}`;
  }
  return undefined;
}

function textLines(text: string, n: number): string[] {
  const lines = text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "" && !STACK_LINE.test(l));
  return lines.length > n ? [...lines.slice(0, n), "..."] : lines;
}

/**
 * One error as the student should read it: the assertion's message (for a
 * failed property: the counterexample and then the assertion that failed,
 * fast-check's cause), where it happened, and a code frame if there is one.
 */
export function describeError(e: ReportedError, maxLines = 10): string {
  const out: string[] = [];
  if (e.cause !== undefined) {
    // fast-check: keep "Property failed...", the counterexample and the shrink count.
    for (const l of textLines(e.message, 8)) {
      if (/^Hint: /.test(l) || /^\{ seed:/.test(l)) continue;
      out.push(l.length > 400 ? `${l.slice(0, 400)} ...` : l);
    }
    out.push(`the assertion that failed: ${textLines(e.cause, maxLines).join("\n  ")}`);
    const at = location(e.causeStack);
    if (at) out.push(`at ${at}`);
  } else {
    out.push(...textLines(e.message, maxLines));
    const at = location(e.stack);
    if (at) out.push(`at ${at}`);
  }
  if (e.frame !== undefined && !e.message.includes(e.frame.trim()))
    out.push(...e.frame.split("\n").filter((l) => l.trim() !== ""));
  return out.join("\n");
}

type EndLine = Extract<ReportLine, { type: "end" }>;

function readLines(file: string): ReportLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as ReportLine];
      } catch {
        return []; // a line cut by a kill
      }
    });
}

/** Console output as lines, the first `n` of them (a property test prints on every try). */
function logLines(logs: readonly string[], n = 12): string[] {
  const lines = logs.flatMap((l) => l.split("\n"));
  return lines.length > n ? [...lines.slice(0, n), `... (${lines.length - n} more lines)`] : lines;
}

function resultOf(run: CheckRun, ends: readonly EndLine[], scoreFile: string): ExerciseResult {
  const failures: FailedCheck[] = [];
  const printed: { name: string; logs: string[] }[] = [];
  let passed = 0;
  let tests = 0;
  for (const end of ends) {
    for (const t of end.tests) {
      tests++;
      if (t.state === "passed") {
        passed++;
        if (t.logs.length > 0) printed.push({ name: t.name, logs: logLines(t.logs) });
      } else if (t.state === "failed")
        failures.push({
          name: t.name,
          message: t.errors.map((e) => describeError(e)).join("\n"),
          logs: logLines(t.logs),
        });
    }
    // A file that failed to load (a syntax error, a refused import): its whole message matters.
    if (end.errors.length > 0)
      failures.push({
        name: `loading the checks of exercise ${run.exercise.n}`,
        message: end.errors.map((e) => describeError(e, 20)).join("\n"),
        logs: logLines(end.logs),
      });
  }
  if (tests === 0 && failures.length === 0)
    failures.push({ name: "running the checks", message: "no checks ran", logs: [] });
  let score: TraceScore | undefined;
  try {
    score = JSON.parse(readFileSync(scoreFile, "utf8")) as TraceScore;
  } catch {
    score = undefined;
  }
  return {
    run,
    exercise: run.exercise,
    passed,
    failed: failures.length,
    failures,
    timedOut: false,
    printed,
    ...(score ? { score } : {}),
  };
}

/** Run `runs` (in one vitest process while none times out) and report each. */
export async function runChecks(
  runs: readonly CheckRun[],
  options: RunOptions = {},
): Promise<ExerciseResult[]> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const out = mkdtempSync(join(tmpdir(), "mm386-workbook-"));
  const results = new Map<string, ExerciseResult>();
  const scoreFile = (r: CheckRun) => join(out, `score-${r.id}.json`);
  try {
    let pending = [...runs];
    for (let round = 0; pending.length > 0; round++) {
      const report = join(out, `report-${round}.jsonl`);
      const dir = join(out, `runs-${round}`);
      mkdirSync(dir);
      for (const r of pending)
        writeFileSync(join(dir, `${r.id}.test.mjs`), wrapper(r, scoreFile(r)));
      const { timedOut, stderr } = await runOnce(dir, report, timeoutMs);
      const lines = readLines(report);
      for (const r of pending) {
        const ends = lines.filter((l): l is EndLine => l.type === "end" && l.run === r.id);
        if (ends.length > 0) results.set(r.id, resultOf(r, ends, scoreFile(r)));
      }
      for (const id of timedOut)
        results.set(id, {
          run: pending.find((r) => r.id === id)!,
          exercise: pending.find((r) => r.id === id)!.exercise,
          passed: 0,
          failed: 1,
          failures: [
            {
              name: "running the checks",
              message: `stopped after ${timeoutMs / 1000} s: an endless loop, or a very slow one?`,
              logs: [],
            },
          ],
          timedOut: true,
          printed: [],
        });
      const left = pending.filter((r) => !results.has(r.id));
      if (timedOut.length === 0) {
        // The process ended on its own: whatever has no report will not get one by retrying.
        for (const r of left)
          results.set(r.id, {
            run: r,
            exercise: r.exercise,
            passed: 0,
            failed: 1,
            failures: [
              {
                name: "running the checks",
                message: `vitest produced no report\n${textLines(stderr, 12).join("\n")}`,
                logs: [],
              },
            ],
            timedOut: false,
            printed: [],
          });
        break;
      }
      pending = left;
    }
    return runs.map((r) => results.get(r.id)!);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The test file of one run: set the kit's environment, import the checks.
 * Every variable is set or deleted, since a worker may run several files.
 */
function wrapper(r: CheckRun, scoreFile: string): string {
  const env: Record<string, string | undefined> = {
    MM386_IMPL: r.impl,
    MM386_LAYERS: r.layers.join(","),
    MM386_SCORE_FILE: scoreFile,
    MM386_IMPL_FILE: r.file,
    MM386_QUICK: r.quick === true ? "1" : undefined,
  };
  const dir = join(EXERCISES_DIR, r.exercise.slug);
  const checks = readdirSync(dir)
    .filter((f) => f.endsWith(".test.ts"))
    .sort();
  // A run that stops at its first failure (a planted wrong version) tries the exercise's narrow
  // checks first and its broad conformance suite (check.test.ts) last: the mistake a planted
  // version makes is usually what a narrow check is there for.
  if (r.stopAtFirstFailure)
    checks.sort((a, b) => Number(a === "check.test.ts") - Number(b === "check.test.ts"));
  const bail = r.stopAtFirstFailure
    ? [
        'import { beforeEach } from "vitest";',
        "let failed = false;",
        "beforeEach(({ skip, onTestFailed }) => {",
        "  if (failed) skip();",
        "  onTestFailed(() => { failed = true; });",
        "});",
      ]
    : [];
  return [
    `// ${r.id}: exercise ${r.exercise.n}, ${r.file ?? r.impl}`,
    ...bail,
    ...Object.entries(env).map(([k, v]) =>
      v === undefined ? `delete process.env.${k};` : `process.env.${k} = ${JSON.stringify(v)};`,
    ),
    // The query makes each run's import of the checks a module of its own, evaluated afresh,
    // while the packages under them stay loaded (the config turns isolation off for speed).
    ...checks.map((f) => `await import(${JSON.stringify(`${join(dir, f)}?run=${r.id}`)});`),
    "",
  ].join("\n");
}

/** One vitest process over the run files in `dir`; resolves with the ids of the runs it had to stop. */
function runOnce(
  dir: string,
  report: string,
  timeoutMs: number,
): Promise<{ timedOut: string[]; stderr: string }> {
  const child = spawn(
    process.execPath,
    [vitestBin(), "run", "-c", join(EXERCISES_DIR, "vitest.config.ts")],
    {
      cwd: EXERCISES_DIR,
      // Its own process group, so that a timeout can stop its workers too.
      detached: true,
      env: {
        ...process.env,
        MM386_RUNS_DIR: dir,
        MM386_REPORT_FILE: report,
        FORCE_COLOR: "0",
        NO_COLOR: "1",
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  // If this process ends first (a test timeout, Ctrl-C), the checks must not run on alone.
  const stop = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", stop);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    if (stderr.length < 20_000) stderr += d;
  });
  const timedOut: string[] = [];
  const watchdog = setInterval(() => {
    const started = new Map<string, number>();
    const ended = new Set<string>();
    for (const l of readLines(report)) {
      if (l.type === "start" && !started.has(l.run)) started.set(l.run, l.time);
      if (l.type === "end") ended.add(l.run);
    }
    const now = Date.now();
    for (const [id, t] of started) if (!ended.has(id) && now - t > timeoutMs) timedOut.push(id);
    if (timedOut.length > 0) {
      clearInterval(watchdog);
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }
  }, 200);
  return new Promise((resolve) => {
    child.on("close", () => {
      clearInterval(watchdog);
      process.off("exit", stop);
      resolve({ timedOut, stderr });
    });
  });
}
