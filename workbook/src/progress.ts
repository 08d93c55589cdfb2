/**
 * The student's progress, kept in `workbook/.progress.json` (not in git):
 * which exercises passed their checks, and how many hints each has shown.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WORKBOOK_DIR } from "./exercises.js";

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

/** The saved progress, or an empty one. */
export function loadProgress(): Progress {
  const file = progressFile();
  if (!existsSync(file)) return { done: [], hints: {} };
  try {
    const p = JSON.parse(readFileSync(file, "utf8")) as Partial<Progress>;
    return { done: Array.isArray(p.done) ? p.done : [], hints: p.hints ?? {} };
  } catch {
    return { done: [], hints: {} };
  }
}

/** Save `p`. */
export function saveProgress(p: Progress): void {
  writeFileSync(progressFile(), `${JSON.stringify(p, null, 2)}\n`);
}
