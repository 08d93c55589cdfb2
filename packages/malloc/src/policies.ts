/**
 * Two placement policies. Both keep their lists in simulated memory: list
 * heads in the control words, `next` at bp and `prev` at bp + 4 of every free
 * block ({@link LAYOUT}), 0 for "none".
 *
 * - {@link addressOrderedFirstFit}: one list sorted by address; a request
 *   takes the lowest-addressed block that fits. Good at keeping the heap
 *   compact; insertion walks the list.
 * - {@link segregatedFits}: one LIFO list per size class (one class per block
 *   size below 64 bytes, two per power of two above) and a bitmap of the
 *   classes that have a block. A request takes the best fit among the first
 *   few blocks of its own class, else the first block of the next class
 *   that has one, which always fits. Constant time whatever the lists hold.
 *
 * @module
 */
import { hex32 } from "@mm386/hw-i386";
import {
  type HeapMemory,
  LAYOUT,
  MALLOC_ERROR,
  MallocError,
  type PlacementPolicy,
  headerOf,
  sizeOf,
} from "./api.js";

/** The size of the free block `bp`, from its header. */
function blockSize(mem: HeapMemory, bp: number): number {
  return sizeOf(mem.read(headerOf(bp)));
}

/** One free list sorted by address; first fit. */
export function addressOrderedFirstFit(): PlacementPolicy {
  let mem!: HeapMemory;
  let head = 0; // address of the control word holding the list head
  return {
    name: "address-ordered first fit",
    controlWords: 1,
    attach(memory, control) {
      mem = memory;
      head = control;
    },
    insert(bp) {
      let prev = 0;
      let cur = mem.read(head);
      while (cur !== 0 && cur < bp) {
        prev = cur;
        cur = mem.read(cur + LAYOUT.NEXT);
      }
      mem.write(bp + LAYOUT.NEXT, cur);
      mem.write(bp + LAYOUT.PREV, prev);
      if (cur !== 0) mem.write(cur + LAYOUT.PREV, bp);
      if (prev === 0) mem.write(head, bp);
      else mem.write(prev + LAYOUT.NEXT, bp);
    },
    remove(bp) {
      const next = mem.read(bp + LAYOUT.NEXT);
      const prev = mem.read(bp + LAYOUT.PREV);
      if (prev === 0) mem.write(head, next);
      else mem.write(prev + LAYOUT.NEXT, next);
      if (next !== 0) mem.write(next + LAYOUT.PREV, prev);
    },
    find(size) {
      for (let bp = mem.read(head); bp !== 0; bp = mem.read(bp + LAYOUT.NEXT))
        if (blockSize(mem, bp) >= size) return bp;
      return 0;
    },
    forEachFree(visit) {
      for (let bp = mem.read(head); bp !== 0; bp = mem.read(bp + LAYOUT.NEXT)) visit(bp);
    },
  };
}

/**
 * Block sizes below this have a class each (multiples of 8: 16, 24, ...,
 * 56): the most common small blocks, found in one read.
 */
const EXACT_LIMIT = 64;
/** log2 of {@link EXACT_LIMIT}, a literal: sizeClassOf runs on every insert, remove and find. */
const EXACT_LOG2 = 6;
/** Classes for the exact sizes: (size >> 3) - 2. */
const EXACT_CLASSES = EXACT_LIMIT / 8 - 2;
/** From EXACT_LIMIT up, each power of two is split into this many classes. */
const SPLITS_LOG2 = 1;
/**
 * Blocks of 2^CATCH_ALL_LOG2 bytes or more share one last class. A region
 * block that big is rare (requests of 64 KiB or more get pages of their own
 * by default). The catch-all class is searched like the others (a few
 * blocks, which may be too small), then the request grows the heap.
 *
 * Why so few classes: every class is a word of the heap's first page in
 * simulated memory, and the footprint is counted in whole pages. Exact
 * classes to 256 bytes and 4 per power of two to 2^32 took 520 bytes; on
 * the lab fixtures the mean peak utilisation went from 84.0% (82 words) to
 * 85.5% (these 37), traces of a few pages fitting in one page less, while
 * the coarser classes cost no trace more than 0.02 (one per power of two,
 * 19 words, lost 3 points on the random traces).
 */
const CATCH_ALL_LOG2 = 20;
/** Number of size classes of {@link segregatedFits}: exact ones, 2 per power of two up to 2^20, then one for the rest. */
const CLASSES = EXACT_CLASSES + (CATCH_ALL_LOG2 - EXACT_LOG2) * (1 << SPLITS_LOG2) + 1;
/** Words of the bitmap of non-empty classes (one bit per class). */
const BITMAP_WORDS = Math.ceil(CLASSES / 32);
/**
 * Blocks of a request's own class looked at before going one class up: a
 * class's blocks may be smaller than the request (classes above the exact
 * ones span a range), and walking a long list of them is what made first
 * fit within a class quadratic (20 k freed 24-byte blocks, then malloc(48)).
 */
const SEARCH_LIMIT = 8;

/** The size class of a block of `size` bytes (a multiple of 8, at least 16). */
export function sizeClassOf(size: number): number {
  if (size < EXACT_LIMIT) return (size >>> 3) - 2;
  const log = 31 - Math.clz32(size);
  if (log >= CATCH_ALL_LOG2) return CLASSES - 1;
  const sub = (size >>> (log - SPLITS_LOG2)) & ((1 << SPLITS_LOG2) - 1);
  return EXACT_CLASSES + ((log - EXACT_LOG2) << SPLITS_LOG2) + sub;
}

/** A policy's memory before `attach` (the heap attaches before any other call): a use is refused. */
const DETACHED: HeapMemory = {
  read: (va) => detached(va),
  write: (va) => detached(va),
};

function detached(va: number): never {
  throw new MallocError(
    MALLOC_ERROR.BAD_ARGUMENT,
    `segregated fits: word ${hex32(va >>> 0)} used before attach gave the policy its memory`,
  );
}

/**
 * {@link segregatedFits}'s policy: its state in fields of a fixed shape, its
 * methods one function each, shared by every policy made (it was an object
 * of closures, made anew with every heap, and the trace driver makes a heap
 * per timed run: 3% of the fixtures' time). The methods are own properties,
 * not the prototype's, so that `{ ...segregatedFits(), remove }` still makes
 * a working policy (a test breaks one that way); they read the state from
 * `this`, whichever object that is.
 */
class SegregatedFits implements PlacementPolicy {
  readonly name = "segregated fits";
  readonly controlWords = BITMAP_WORDS + CLASSES;
  /** The heap's memory, from attach. */
  mem = DETACHED;
  /** The bitmap's first word; the list heads follow it. */
  bitmap = 0;
  /** The first list head. */
  heads = 0;
  readonly attach = segAttach;
  readonly insert = segInsert;
  readonly remove = segRemove;
  readonly find = segFind;
  readonly forEachFree = segForEachFree;
}

function segAttach(this: SegregatedFits, memory: HeapMemory, control: number): void {
  this.mem = memory;
  this.bitmap = control;
  this.heads = control + 4 * BITMAP_WORDS;
}

function segInsert(this: SegregatedFits, bp: number, size: number): void {
  const mem = this.mem;
  const c = sizeClassOf(size);
  const h = this.heads + 4 * c;
  const first = mem.read(h);
  mem.write(bp + LAYOUT.NEXT, first);
  mem.write(bp + LAYOUT.PREV, 0);
  if (first !== 0) mem.write(first + LAYOUT.PREV, bp);
  else {
    const w = this.bitmap + 4 * (c >>> 5);
    mem.write(w, (mem.read(w) | (1 << (c & 31))) >>> 0);
  }
  mem.write(h, bp);
}

function segRemove(this: SegregatedFits, bp: number, size: number): void {
  const mem = this.mem;
  const next = mem.read(bp + LAYOUT.NEXT);
  const prev = mem.read(bp + LAYOUT.PREV);
  if (prev !== 0) mem.write(prev + LAYOUT.NEXT, next);
  else {
    const c = sizeClassOf(size);
    mem.write(this.heads + 4 * c, next);
    if (next === 0) {
      const w = this.bitmap + 4 * (c >>> 5);
      mem.write(w, (mem.read(w) & ~(1 << (c & 31))) >>> 0);
    }
  }
  if (next !== 0) mem.write(next + LAYOUT.PREV, prev);
}

function segFind(this: SegregatedFits, size: number): number {
  const mem = this.mem;
  const c = sizeClassOf(size);
  let bp = mem.read(this.heads + 4 * c);
  // An exact class holds only blocks of the request's size.
  if (bp !== 0 && c < EXACT_CLASSES) return bp;
  // The best fit among them (an exact one ends the search): over 60
  // generated traces (seeds 2-7 of ten workloads) it left fewer holes at
  // the peak than the first that fits (mean utilisation 0.8245 -> 0.8261),
  // and cost no MMU access more an operation on the lab fixtures.
  let best = 0;
  let bestSize = Infinity;
  for (let n = 0; bp !== 0 && n < SEARCH_LIMIT; n++, bp = mem.read(bp + LAYOUT.NEXT)) {
    const s = blockSize(mem, bp);
    if (s >= size && s < bestSize) {
      best = bp;
      bestSize = s;
      if (s === size) break;
    }
  }
  if (best !== 0) return best;
  // Every block of a class above fits: the first non-empty one, from the bitmap.
  for (let w = (c + 1) >>> 5; w < BITMAP_WORDS; w++) {
    let bits = mem.read(this.bitmap + 4 * w);
    if (w === (c + 1) >>> 5) bits &= ~((1 << ((c + 1) & 31)) - 1);
    if (bits !== 0) return mem.read(this.heads + 4 * (w * 32 + 31 - Math.clz32(bits & -bits)));
  }
  return 0;
}

function segForEachFree(this: SegregatedFits, visit: (bp: number) => void): void {
  for (let c = 0; c < CLASSES; c++)
    for (let bp = this.mem.read(this.heads + 4 * c); bp !== 0; bp = this.mem.read(bp + LAYOUT.NEXT))
      visit(bp);
}

/**
 * One LIFO list per size class, a bitmap of the non-empty classes, and a
 * search that is bounded whatever the lists hold: a few blocks of the
 * request's own class, then the first block of the next non-empty class.
 */
export function segregatedFits(): PlacementPolicy {
  return new SegregatedFits();
}

/** The shipped policies by name, for the trace driver and the bench. */
export const POLICIES = {
  /** {@link addressOrderedFirstFit}. */
  "first-fit": addressOrderedFirstFit,
  /** {@link segregatedFits} (the default). */
  segregated: segregatedFits,
} as const;
