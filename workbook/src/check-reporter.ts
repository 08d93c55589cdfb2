/**
 * A vitest reporter for the exercises' checks, loaded by the child process
 * that {@link runChecks} starts. The JSON reporter knows neither vitest
 * projects (one per checked implementation) nor console output, so this one
 * writes one JSON line per finished test file (one file per run, named
 * `<run id>.test.mjs`) to `MM386_REPORT_FILE`, with
 * each test's errors (fast-check's cause included) and the console lines it
 * printed. A line per file, written as soon as the file finishes, survives a
 * kill by the per-exercise timeout. A "start" line per file lets the parent
 * time each exercise.
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import { stripVTControlCharacters } from "node:util";
import type { Reporter, TestModule } from "vitest/node";

/** What vitest passes to onUserConsoleLog (the fields used here). */
interface ConsoleLine {
  readonly content: string;
  readonly taskId?: string;
}

/** One error as it travels to the parent (plain text, no colour). */
export interface ReportedError {
  /** The error's message. */
  readonly message: string;
  /** Its stack, when there is one. */
  readonly stack?: string;
  /** The message of its cause (fast-check puts the failed assertion there). */
  readonly cause?: string;
  /** The stack of its cause. */
  readonly causeStack?: string;
  /** A code frame (vite's transform errors carry one: a syntax error's line, marked). */
  readonly frame?: string;
}

/** One test's outcome. */
export interface ReportedTest {
  /** Its full name (describe blocks and title). */
  readonly name: string;
  /** passed, failed or skipped. */
  readonly state: string;
  /** Why it failed. */
  readonly errors: readonly ReportedError[];
  /** What it printed with console.log/console.error, in order. */
  readonly logs: readonly string[];
}

/** One line of the report file. */
export type ReportLine =
  | { readonly type: "start"; readonly run: string; readonly time: number }
  | {
      readonly type: "end";
      readonly run: string;
      readonly file: string;
      /** Errors of the file itself (it failed to load: a syntax error, a refused import). */
      readonly errors: readonly ReportedError[];
      readonly tests: readonly ReportedTest[];
      /** Console output printed while the file loaded, outside any test. */
      readonly logs: readonly string[];
    };

/** The run a test file belongs to: its name without `.test.mjs`. */
function runOf(module: TestModule): string {
  return (module.moduleId.split("/").pop() ?? "").replace(/\.test\.mjs$/, "");
}

const plain = (s: unknown): string | undefined =>
  typeof s === "string" ? stripVTControlCharacters(s) : undefined;

function toReported(e: unknown): ReportedError {
  const err = (e ?? {}) as {
    message?: unknown;
    stack?: unknown;
    cause?: { message?: unknown; stack?: unknown };
    frame?: unknown;
  };
  const frame = plain(err.frame);
  const cause = plain(err.cause?.message);
  const causeStack = plain(err.cause?.stack);
  const stack = plain(err.stack);
  return {
    message: plain(err.message) ?? String(e),
    ...(stack !== undefined ? { stack } : {}),
    ...(cause !== undefined ? { cause } : {}),
    ...(causeStack !== undefined ? { causeStack } : {}),
    ...(frame !== undefined ? { frame } : {}),
  };
}

/** The reporter; exercises/vitest.config.ts makes one when `MM386_REPORT_FILE` is set. */
export class CheckReporter implements Reporter {
  private readonly file = process.env.MM386_REPORT_FILE;
  private readonly logs = new Map<string, string[]>();

  private write(line: ReportLine): void {
    if (this.file) appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }

  /** Keep console output with the test (or file) that printed it. */
  onUserConsoleLog(log: ConsoleLine): void {
    const key = log.taskId ?? "";
    const list = this.logs.get(key) ?? [];
    list.push(stripVTControlCharacters(log.content).replace(/\n$/, ""));
    this.logs.set(key, list);
  }

  /** Note when an exercise's checks start, for the per-exercise timeout. */
  onTestModuleStart(module: TestModule): void {
    this.write({ type: "start", run: runOf(module), time: Date.now() });
  }

  /** Write the finished file's results. */
  onTestModuleEnd(module: TestModule): void {
    const tests: ReportedTest[] = [];
    for (const t of module.children.allTests()) {
      const r = t.result();
      tests.push({
        name: t.fullName,
        state: r.state,
        errors: (r.errors ?? []).map(toReported),
        logs: this.logs.get(t.id) ?? [],
      });
    }
    this.write({
      type: "end",
      run: runOf(module),
      file: module.moduleId,
      errors: module.errors().map(toReported),
      tests,
      logs: [...(this.logs.get(module.id) ?? []), ...(this.logs.get("") ?? [])],
    });
  }
}
