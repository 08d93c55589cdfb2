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
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { basename, join } from "node:path";
import type { StackOptions } from "@mm386/malloc";
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
import { walkChecker } from "./walk-checker.js";

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
  /** Points in the score table that `check` prints (as `make grade` does). */
  readonly points: number;
  /**
   * The exercises whose finished layers go into this one's stacks (the
   * student's, once they pass). On the main line, every earlier exercise; an
   * exercise that branches off (another design's stack) lists the ones its
   * design shares, e.g. `[1, 2, 3, 4]`.
   */
  readonly uses: readonly number[];
  /**
   * Names of the reference's own implementation (exported by the library
   * packages) that a solution may not import: handing back the library's
   * code is not solving the exercise. Types and helpers stay allowed.
   */
  readonly forbidden: readonly string[];
  /**
   * How the finished layer goes into later stacks: the stack options it sets,
   * from the module `solution.ts` exports. Absent: into none (a branch's
   * last exercise). `beforeBoot` hooks of several layers are all run.
   */
  readonly plug?: (module: unknown) => Partial<StackOptions>;
}

/** The exercises before `n` on the main line: what exercise `n` builds on. */
function upTo(n: number): number[] {
  return Array.from({ length: n - 1 }, (_, i) => i + 1);
}

/** Every exercise, in order. Adding one is adding an entry and its folder. */
export const EXERCISES: readonly Exercise[] = [
  {
    n: 1,
    slug: "01-page-walk",
    title: "Translate by hand: the page walk",
    replaces: "audits every MMU walk",
    points: 10,
    uses: upTo(1),
    forbidden: ["explainWalk", "faultFor"],
    plug: (m) => ({
      beforeBoot: (machine) => walkChecker(machine, (m as PageWalkExercise).walk),
    }),
  },
  {
    n: 2,
    slug: "02-tlb",
    title: "A TLB",
    replaces: "the machine's TLB",
    points: 10,
    uses: upTo(2),
    forbidden: ["UnboundedTlb", "SetAssociativeTlb"],
    plug: (m) => ({ tlb: () => (m as TlbExercise).createTlb() }),
  },
  {
    n: 3,
    slug: "03-buddy",
    title: "The buddy allocator",
    replaces: "the range allocator under ppalloc/vpalloc",
    points: 15,
    uses: upTo(3),
    forbidden: [
      "BuddyAllocator",
      "buddyRanges",
      "BuddyRangeAllocator",
      "firstFitRanges",
      "FirstFitBitmapAllocator",
      "sparseRanges",
      "SparseRangeAllocator",
    ],
    plug: (m) => ({ rangeAllocator: (m as BuddyExercise).buddyRanges }),
  },
  {
    n: 4,
    slug: "04-page-ranges",
    title: "ppalloc and vpalloc on a range allocator",
    replaces: "the page-run allocators",
    points: 10,
    uses: upTo(4),
    forbidden: ["pageRangeAllocator", "PageRangeAllocator"],
    plug: (m) => ({ pageRanges: (m as PageRangesExercise).pageRanges }),
  },
  {
    n: 5,
    slug: "05-boot",
    title: "The boot page table",
    replaces: "the boot code",
    points: 10,
    uses: upTo(5),
    forbidden: ["boot"],
    plug: (m) => ({ boot: (machine, o) => (m as BootExercise).boot(machine, o) }),
  },
  {
    n: 6,
    slug: "06-map-mem",
    title: "mapMem, vpde and the shared kernel half",
    replaces: "mapMem",
    points: 20,
    uses: upTo(6),
    forbidden: ["hobbyMapMem"],
    plug: (m) => ({ mapMem: (m as MapMemExercise).mapMem }),
  },
  {
    n: 7,
    slug: "07-kvmalloc",
    title: "kvmalloc and kvfree",
    replaces: "kvmalloc",
    points: 10,
    uses: upTo(7),
    forbidden: ["Kvmalloc"],
    plug: (m) => ({ kvmalloc: (p) => (m as KvmallocExercise).createKvmalloc(p) }),
  },
  {
    n: 8,
    slug: "08-malloc",
    title: "malloc, free and realloc",
    replaces: "malloc",
    points: 15,
    uses: upTo(8),
    forbidden: ["Malloc", "segregatedFits", "addressOrderedFirstFit"],
    plug: (m) => ({ malloc: (kv) => (m as MallocExercise).createMalloc(kv) }),
  },
  // The design exercises branch from the main line: the hobby stack's slab, then Whitix and
  // Linux, each on exercises 1-4's layers and its own design's stack.
  {
    n: 9,
    slug: "09-slab",
    title: "A slab cache: the free list inside the slab",
    replaces: "nothing (a branch: the slab on the hobby stack)",
    points: 10,
    uses: upTo(8),
    forbidden: ["SlabAllocator", "SlabCache", "Kmalloc", "slabHeap"],
  },
  {
    n: 10,
    slug: "10-whitix-window",
    title: "Whitix: the recursive window and VirtMemMapPage",
    replaces: "nothing (a branch: the Whitix design)",
    points: 10,
    uses: [1, 2, 3, 4],
    forbidden: ["windowPteVa", "windowPdeVa", "windowTableVa"],
  },
  {
    n: 11,
    slug: "11-linux-direct-map",
    title: "Linux: bootmem, __va/__pa and kernelPhysicalMappingInit",
    replaces: "nothing (a branch: the Linux design)",
    points: 10,
    uses: [1, 2, 3, 4],
    forbidden: ["kernelPhysicalMappingInit"],
  },
  {
    n: 12,
    slug: "12-linux-fault-handler",
    title: "Linux: the demand-paging fault handler",
    replaces: "nothing (a branch: the Linux design)",
    points: 10,
    uses: [1, 2, 3, 4],
    forbidden: ["linuxUserFault"],
  },
  {
    n: 13,
    slug: "13-linux-kmap",
    title: "Linux: kmap's slots, counts and the flush on wrap",
    replaces: "nothing (a branch: the Linux design)",
    points: 10,
    uses: [1, 2, 3, 4],
    forbidden: ["Highmem"],
  },
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

/**
 * The planted wrong versions of exercise `e` (its `planted/*.ts` files):
 * typical mistakes that its checks must catch. Curriculum CI checks each.
 */
export function plantedFiles(e: Exercise): string[] {
  const dir = join(exerciseDir(e), "planted");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .map((f) => join(dir, f));
}

/** A planted version's name: its file name without `.ts`. */
export function plantedName(file: string): string {
  return basename(file, ".ts");
}

/** True if the student's file for `e` exists. */
export function hasSolution(e: Exercise): boolean {
  return existsSync(implFile(e, "solution"));
}
