/**
 * What the exercises' checks use (under vitest only): load the
 * implementation being checked, and the stack options that put the student's
 * finished earlier layers in place of the reference ones.
 *
 * Two environment variables, set by the CLI:
 * - `MM386_IMPL`: `solution` (default), `starter` or `reference`: which file
 *   of the exercise under test is checked.
 * - `MM386_IMPL_FILE`: a file to check instead (curriculum CI's planted
 *   wrong versions).
 * - `MM386_LAYERS`: comma-separated exercise numbers whose `solution.ts` is
 *   used in the stack (the finished ones, minus those switched back with
 *   `--reference`). Unset or empty: every other layer is the reference.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { type Machine, type MachineOptions, createMachine } from "@mm386/hw-i386";
import type { StackOptions } from "@mm386/malloc";
import { type Paging, startPaging } from "@mm386/paging";
import { EXERCISES, type ImplKind, implFile } from "./exercises.js";
import { refusedImports } from "./source-checks.js";

/** The implementation kind chosen by `MM386_IMPL`. */
export function implKind(): ImplKind {
  const v = process.env.MM386_IMPL ?? "solution";
  if (v !== "solution" && v !== "starter" && v !== "reference")
    throw new Error(`MM386_IMPL=${v}: expected solution, starter or reference`);
  return v;
}

/** The exercise numbers whose solutions go into stacks (`MM386_LAYERS`). */
export function studentLayers(): Set<number> {
  return new Set(
    (process.env.MM386_LAYERS ?? "")
      .split(",")
      .filter((s) => s.trim() !== "")
      .map(Number),
  );
}

/** A solution that imports the reference's own implementation: refused, with the imports named. */
export class RefusedImport extends Error {
  /** Always "E_REFUSED_IMPORT". */
  readonly code = "E_REFUSED_IMPORT";
}

/**
 * Import exercise `n`'s implementation of the given kind (default: {@link implKind},
 * or the file in `MM386_IMPL_FILE`). A solution that imports one of the
 * exercise's `forbidden` names from a library package is refused with a
 * {@link RefusedImport} naming the imports.
 */
export async function loadExercise<T>(n: number, kind: ImplKind = implKind()): Promise<T> {
  const e = EXERCISES.find((x) => x.n === n);
  if (!e) throw new Error(`no exercise ${n}`);
  const override = kind === implKind() ? process.env.MM386_IMPL_FILE : undefined;
  const file = override ?? implFile(e, kind);
  if (!existsSync(file))
    throw new Error(`${file} does not exist: run \`pnpm workbook\` once to create it`);
  if (kind === "solution") {
    const refused = refusedImports(file, e.forbidden);
    if (refused.length > 0)
      throw new RefusedImport(
        `exercise ${n}'s solution.ts imports the reference's own implementation; write it yourself ` +
          `(types and helpers of the packages are fine):\n  ${refused.join("\n  ")}`,
      );
  }
  return (await import(/* @vite-ignore */ file)) as T;
}

/** A label for test names: which implementation is checked. */
export function implLabel(n: number): string {
  const kind = implKind();
  const file = process.env.MM386_IMPL_FILE;
  const what = file ? `planted ${file.split("/").pop()!.replace(/\.ts$/, "")}` : kind;
  const uses = EXERCISES.find((x) => x.n === n)?.uses ?? [];
  const layers = [...studentLayers()].filter((k) => uses.includes(k)).sort((a, b) => a - b);
  return `${what}${layers.length > 0 ? `, with your layers ${layers.join(", ")}` : ""}`;
}

/**
 * Stack options that put the student's solutions of the exercises that
 * exercise `n` uses (those listed in `MM386_LAYERS`) in place of the
 * reference layers, each plugged in as its exercise's `plug` says.
 */
export async function earlierLayers(n: number): Promise<StackOptions> {
  const uses = EXERCISES.find((x) => x.n === n)?.uses ?? [];
  const mine = studentLayers();
  let options: StackOptions = {};
  const beforeBoot: ((m: Machine) => void)[] = [];
  for (const e of EXERCISES) {
    if (!uses.includes(e.n) || !mine.has(e.n) || !e.plug) continue;
    const { beforeBoot: hook, ...rest } = e.plug(await loadExercise<unknown>(e.n, "solution"));
    options = { ...options, ...rest };
    if (hook) beforeBoot.push(hook);
  }
  if (beforeBoot.length > 0)
    options = { ...options, beforeBoot: (m) => beforeBoot.forEach((f) => f(m)) };
  return options;
}

/**
 * A `start` function for the conformance suites that take one: boots the
 * machine they made with `options` (your earlier layers); pair it with
 * {@link machineWith} so the machine has your TLB.
 */
export function bootWith(options: StackOptions): (machine: Machine) => Paging {
  return (machine) => {
    options.beforeBoot?.(machine);
    return startPaging(machine, options);
  };
}

/** A machine factory for the conformance suites: the machine gets the TLB of `options`. */
export function machineWith(options: StackOptions): (o: MachineOptions) => Machine {
  return (o) => createMachine({ ...o, ...(options.tlb ? { tlb: options.tlb() } : {}) });
}
