/**
 * The exercises, in order, and where their files are.
 *
 * ```
 *  workbook/exercises/NN-topic/
 *    README.md       the lesson: the idea, a diagram, what other kernels do
 *    hints.md        "## Hint 1", "## Hint 2", ... shown one at a time
 *    starter.ts      the interface with TODOs (never edited; `reset` copies it)
 *    solution.ts     YOUR file: made from starter.ts on first use (not in git)
 *    reference.ts    the reference layer, adapted to the exercise's interface
 *    check.test.ts   the checks: the layer's conformance suite + exercise tests
 * ```
 *
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** One exercise. */
export interface Exercise {
  /** 1-based number, the order to do them in. */
  readonly n: number;
  /** Folder name under `workbook/exercises/`. */
  readonly slug: string;
  /** Short title. */
  readonly title: string;
  /** What the finished layer replaces in later exercises' stacks. */
  readonly replaces: string;
}

/** Every exercise, in order. */
export const EXERCISES: readonly Exercise[] = [
  {
    n: 1,
    slug: "01-page-walk",
    title: "Translate by hand: the page walk",
    replaces: "audits every MMU walk",
  },
  { n: 2, slug: "02-tlb", title: "A TLB", replaces: "the machine's TLB" },
  {
    n: 3,
    slug: "03-buddy",
    title: "The buddy allocator",
    replaces: "the range allocator under ppalloc/vpalloc",
  },
  {
    n: 4,
    slug: "04-page-ranges",
    title: "ppalloc and vpalloc on a range allocator",
    replaces: "the page-run allocators",
  },
  { n: 5, slug: "05-boot", title: "The boot page table", replaces: "the boot code" },
  {
    n: 6,
    slug: "06-map-mem",
    title: "mapMem, vpde and the shared kernel half",
    replaces: "mapMem",
  },
  { n: 7, slug: "07-kvmalloc", title: "kvmalloc and kvfree", replaces: "kvmalloc" },
  { n: 8, slug: "08-malloc", title: "malloc, free and realloc", replaces: "malloc" },
];

/** The `workbook/` folder (works from `src/` under vitest and from `dist/` when built). */
export const WORKBOOK_DIR = fileURLToPath(new URL("..", import.meta.url));

/** The exercises folder (MM386_EXERCISES_DIR overrides it, for tests of the CLI). */
export const EXERCISES_DIR = process.env.MM386_EXERCISES_DIR ?? join(WORKBOOK_DIR, "exercises");

/** The folder of exercise `e`. */
export function exerciseDir(e: Exercise): string {
  return join(EXERCISES_DIR, e.slug);
}

/** The file of one implementation of exercise `e`. */
export function implFile(e: Exercise, kind: ImplKind): string {
  return join(exerciseDir(e), `${kind}.ts`);
}

/** Which implementation a check runs: the student's, the untouched starter, or the reference. */
export type ImplKind = "solution" | "starter" | "reference";

/** Exercise number `n`, or undefined. */
export function exercise(n: number): Exercise | undefined {
  return EXERCISES.find((e) => e.n === n);
}

/** True if the student's file for `e` exists. */
export function hasSolution(e: Exercise): boolean {
  return existsSync(implFile(e, "solution"));
}
