/**
 * Fuzz: malloc, calloc, realloc and free with bad values (the shared harness
 * of @mm386/hw-i386/testing) must throw a typed error with a code and change
 * nothing: the heap walk, the heap's counters, kvmalloc's counters and the
 * page allocators. `MM386_DEEP=1` tries many more random values.
 *
 * The heap walk reads through the MMU, so the TLB and MMU counters are not
 * part of the snapshot here (the walk itself moves them).
 */
import { createMachine } from "@mm386/hw-i386";
import { describeRefusals, type FuzzCall } from "@mm386/hw-i386/testing";
import { Kvmalloc } from "@mm386/kvmalloc";
import { startPaging } from "@mm386/paging";
import { describe } from "vitest";
import { Malloc, type MallocOptions } from "../src/index.js";

/** A plain object with no key of its own: `{}`, the options that ask for every default. */
const isEmptyObject = (v: unknown): boolean =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

const MiB = 1024 * 1024;

interface World {
  readonly heap: Malloc;
  readonly kv: Kvmalloc;
  readonly small: number;
  readonly large: number;
  /** A block of the page run (page-shaped, headerless). */
  readonly paged: number;
}

function kvmalloc(): Kvmalloc {
  return new Kvmalloc(startPaging(createMachine({ ramBytes: 16 * MiB })));
}

/** A heap with a small block, a freed one between, a large block and a page-run block. */
function world(): World {
  const kv = kvmalloc();
  const heap = new Malloc(kv);
  const small = heap.malloc(24)!;
  const gap = heap.malloc(40)!;
  heap.malloc(16);
  heap.free(gap);
  const large = heap.malloc(64 * 1024)!;
  const paged = heap.malloc(8190)!;
  return { heap, kv, small, large, paged };
}

function snapshot(w: World) {
  const { allocators } = w.kv.paging;
  return {
    blocks: w.heap.blocks(),
    stats: { ...w.heap.stats },
    kv: [w.kv.pages, w.kv.allocations],
    free: [allocators.physical.freePages, allocators.kernel.freePages],
  };
}

const calls: FuzzCall<World>[] = [
  { name: "malloc(size)", call: (w, v) => w.heap.malloc(v as number) },
  { name: "calloc(n, 8)", call: (w, v) => w.heap.calloc(v as number, 8) },
  { name: "calloc(8, size)", call: (w, v) => w.heap.calloc(8, v as number) },
  { name: "free(bp)", call: (w, v) => w.heap.free(v as number) },
  { name: "realloc(bp, 32)", call: (w, v) => w.heap.realloc(v as number, 32) },
  { name: "realloc(small, size)", call: (w, v) => w.heap.realloc(w.small, v as number) },
  { name: "realloc(large, size)", call: (w, v) => w.heap.realloc(w.large, v as number) },
  { name: "realloc(paged, size)", call: (w, v) => w.heap.realloc(w.paged, v as number) },
];

describe("fuzz: Malloc", () => {
  describeRefusals(world, snapshot, calls);
});

describe("fuzz: new Malloc options", () => {
  // Each case gets a fresh kvmalloc: a refused constructor must give back
  // whatever it took (the control page) before throwing.
  interface Fresh {
    readonly kv: Kvmalloc;
  }
  const fresh = (): Fresh => ({ kv: kvmalloc() });
  const held = (f: Fresh) => [
    f.kv.pages,
    f.kv.allocations,
    f.kv.paging.allocators.physical.freePages,
  ];
  const opt = (f: Fresh, o: Partial<Record<keyof MallocOptions, unknown>>) =>
    new Malloc(f.kv, o as MallocOptions);
  const optional = (v: unknown) => v === undefined;
  describeRefusals(
    fresh,
    held,
    [
      { name: "new Malloc(kv)", call: (_, v) => new Malloc(v as Kvmalloc) },
      {
        name: "new Malloc(kv, options)",
        call: (f, v) => new Malloc(f.kv, v as never),
        // No options, or an empty options object: both mean "all defaults".
        accepts: (v) => optional(v) || isEmptyObject(v),
      },
      { name: "{ policy }", call: (f, v) => opt(f, { policy: v }), accepts: optional },
      { name: "{ align }", call: (f, v) => opt(f, { align: v }), accepts: optional },
      {
        name: "{ largeThreshold }",
        call: (f, v) => opt(f, { largeThreshold: v }),
        accepts: optional,
      },
      { name: "{ chunkPages }", call: (f, v) => opt(f, { chunkPages: v }), accepts: optional },
      // Switches: only a boolean (or nothing) is one.
      {
        name: "{ sizeClasses }",
        call: (f, v) => opt(f, { sizeClasses: v }),
        accepts: (v) => optional(v) || typeof v === "boolean",
      },
      {
        name: "{ quickLists }",
        call: (f, v) => opt(f, { quickLists: v }),
        accepts: (v) => optional(v) || typeof v === "boolean",
      },
    ],
    { runs: 5 },
  );
});
