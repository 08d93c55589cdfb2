/**
 * What the exercises' checks use (under vitest only): load the
 * implementation being checked, and the stack options that put the student's
 * finished earlier layers in place of the reference ones.
 *
 * Two environment variables, set by the CLI:
 * - `MM386_IMPL`: `solution` (default), `starter` or `reference`: which file
 *   of the exercise under test is checked.
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
import type {
  BootExercise,
  BuddyExercise,
  KvmallocExercise,
  MallocExercise,
  MapMemExercise,
  PageRangesExercise,
  PageWalkExercise,
  TlbExercise,
} from "./exercise-api.js";
import { EXERCISES, type ImplKind, implFile } from "./exercises.js";
import { walkChecker } from "./walk-checker.js";

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

/** Import exercise `n`'s implementation of the given kind (default: {@link implKind}). */
export async function loadExercise<T>(n: number, kind: ImplKind = implKind()): Promise<T> {
  const e = EXERCISES.find((x) => x.n === n);
  if (!e) throw new Error(`no exercise ${n}`);
  const file = implFile(e, kind);
  if (!existsSync(file))
    throw new Error(`${file} does not exist: run \`pnpm workbook\` once to create it`);
  return (await import(/* @vite-ignore */ file)) as T;
}

/** A label for test names: which implementation is checked. */
export function implLabel(n: number): string {
  const kind = implKind();
  const layers = [...studentLayers()].filter((k) => k < n).sort((a, b) => a - b);
  return `${kind}${layers.length > 0 ? `, with your layers ${layers.join(", ")}` : ""}`;
}

/**
 * Stack options that put the student's solutions of exercises before `n`
 * (those listed in `MM386_LAYERS`) in place of the reference layers.
 */
export async function earlierLayers(n: number): Promise<StackOptions> {
  const use = [...studentLayers()].filter((k) => k < n);
  let options: StackOptions = {};
  const beforeBoot: ((m: Machine) => void)[] = [];
  for (const k of use) {
    switch (k) {
      case 1: {
        const m = await loadExercise<PageWalkExercise>(1, "solution");
        beforeBoot.push((machine) => walkChecker(machine, m.walk));
        break;
      }
      case 2: {
        const m = await loadExercise<TlbExercise>(2, "solution");
        options = { ...options, tlb: () => m.createTlb() };
        break;
      }
      case 3:
        options = {
          ...options,
          rangeAllocator: (await loadExercise<BuddyExercise>(3, "solution")).buddyRanges,
        };
        break;
      case 4:
        options = {
          ...options,
          pageRanges: (await loadExercise<PageRangesExercise>(4, "solution")).pageRanges,
        };
        break;
      case 5: {
        const m = await loadExercise<BootExercise>(5, "solution");
        options = { ...options, boot: (machine, o) => m.boot(machine, o) };
        break;
      }
      case 6:
        options = {
          ...options,
          mapMem: (await loadExercise<MapMemExercise>(6, "solution")).mapMem,
        };
        break;
      case 7: {
        const m = await loadExercise<KvmallocExercise>(7, "solution");
        options = { ...options, kvmalloc: (p) => m.createKvmalloc(p) };
        break;
      }
      case 8: {
        const m = await loadExercise<MallocExercise>(8, "solution");
        options = { ...options, malloc: (kv) => m.createMalloc(kv) };
        break;
      }
    }
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
