/**
 * The student's progress, kept in `workbook/.progress.json` (not in git):
 * which exercises passed their checks, and how many hints each has shown.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXERCISES, WORKBOOK_DIR } from "./exercises.js";

/** What is saved between runs. */
export interface Progress {
  /** Exercise numbers whose checks passed last time they ran. */
  done: number[];
  /** Hints shown so far, per exercise number. */
  hints: Record<string, number>;
}

/** Where progress is kept (override with MM386_PROGRESS, for tests). */
export function progressFile(): string {
  return process.env.MM386_PROGRESS ?? join(WORKBOOK_DIR, ".progress.json");
}

/**
 * The saved progress, or an empty one. A file that is not valid JSON, or
 * whose fields have the wrong shape, is not trusted: what can be read of it
 * is kept (done exercises that exist, hint counts that are counts), the rest
 * dropped, and `onProblem` told why, so that `list` and `hint` still work.
 */
export function loadProgress(onProblem?: (message: string) => void): Progress {
  const file = progressFile();
  if (!existsSync(file)) return { done: [], hints: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    onProblem?.(`${file} is not valid JSON (${(e as Error).message}); starting from no progress`);
    return { done: [], hints: {} };
  }
  const p = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const known = new Set(EXERCISES.map((e) => e.n));
  const done = Array.isArray(p.done)
    ? [...new Set(p.done.filter((n): n is number => typeof n === "number" && known.has(n)))]
    : [];
  const hints: Record<string, number> = {};
  const rawHints = typeof p.hints === "object" && p.hints !== null ? p.hints : {};
  for (const [k, v] of Object.entries(rawHints))
    if (known.has(Number(k)) && Number.isSafeInteger(v) && (v as number) >= 0)
      hints[k] = v as number;
  const kept = done.length + Object.keys(hints).length;
  const given = (Array.isArray(p.done) ? p.done.length : 0) + Object.keys(rawHints).length;
  const badShape =
    typeof raw !== "object" ||
    raw === null ||
    Array.isArray(raw) ||
    (p.done !== undefined && !Array.isArray(p.done)) ||
    (p.hints !== undefined &&
      (typeof p.hints !== "object" || p.hints === null || Array.isArray(p.hints)));
  if (badShape || kept !== given)
    onProblem?.(`${file} has entries that are not progress; they were ignored`);
  return { done: done.sort((a, b) => a - b), hints };
}

/** Save `p`. */
export function saveProgress(p: Progress): void {
  writeFileSync(progressFile(), `${JSON.stringify(p, null, 2)}\n`);
}
