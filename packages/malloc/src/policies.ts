/**
 * Two placement policies. Both keep their lists in simulated memory: list
 * heads in the control words, `next` at bp and `prev` at bp + 4 of every free
 * block, 0 for "none".
 *
 * - {@link addressOrderedFirstFit}: one list sorted by address; a request
 *   takes the lowest-addressed block that fits. Good at keeping the heap
 *   compact; insertion walks the list.
 * - {@link segregatedFits}: one LIFO list per size class (powers of two from
 *   16 bytes); a request searches its own class first fit, then the classes
 *   above. Constant-time insertion, short searches.
 *
 * @module
 */
import type { HeapMemory, PlacementPolicy } from "./api.js";

function sizeOf(mem: HeapMemory, bp: number): number {
  return mem.read(bp - 4) & ~7;
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
        cur = mem.read(cur);
      }
      mem.write(bp, cur);
      mem.write(bp + 4, prev);
      if (cur !== 0) mem.write(cur + 4, bp);
      if (prev === 0) mem.write(head, bp);
      else mem.write(prev, bp);
    },
    remove(bp) {
      const next = mem.read(bp);
      const prev = mem.read(bp + 4);
      if (prev === 0) mem.write(head, next);
      else mem.write(prev, next);
      if (next !== 0) mem.write(next + 4, prev);
    },
    find(size) {
      for (let bp = mem.read(head); bp !== 0; bp = mem.read(bp))
        if (sizeOf(mem, bp) >= size) return bp;
      return 0;
    },
    forEachFree(visit) {
      for (let bp = mem.read(head); bp !== 0; bp = mem.read(bp)) visit(bp);
    },
  };
}

/** Number of size classes of {@link segregatedFits}: 16-31, 32-63, ..., and 2^(4+CLASSES-1) and up. */
const CLASSES = 20;

function classOf(size: number): number {
  const c = 31 - Math.clz32(size) - 4;
  return c < 0 ? 0 : c >= CLASSES ? CLASSES - 1 : c;
}

/** One LIFO list per power-of-two size class; first fit in the class, then the classes above. */
export function segregatedFits(): PlacementPolicy {
  let mem!: HeapMemory;
  let heads = 0;
  return {
    name: "segregated fits",
    controlWords: CLASSES,
    attach(memory, control) {
      mem = memory;
      heads = control;
    },
    insert(bp, size) {
      const h = heads + 4 * classOf(size);
      const first = mem.read(h);
      mem.write(bp, first);
      mem.write(bp + 4, 0);
      if (first !== 0) mem.write(first + 4, bp);
      mem.write(h, bp);
    },
    remove(bp, size) {
      const next = mem.read(bp);
      const prev = mem.read(bp + 4);
      if (prev === 0) mem.write(heads + 4 * classOf(size), next);
      else mem.write(prev, next);
      if (next !== 0) mem.write(next + 4, prev);
    },
    find(size) {
      for (let c = classOf(size); c < CLASSES; c++) {
        for (let bp = mem.read(heads + 4 * c); bp !== 0; bp = mem.read(bp))
          if (sizeOf(mem, bp) >= size) return bp;
      }
      return 0;
    },
    forEachFree(visit) {
      for (let c = 0; c < CLASSES; c++)
        for (let bp = mem.read(heads + 4 * c); bp !== 0; bp = mem.read(bp)) visit(bp);
    },
  };
}

/** The shipped policies by name, for the trace driver and the bench. */
export const POLICIES = {
  /** {@link addressOrderedFirstFit}. */
  "first-fit": addressOrderedFirstFit,
  /** {@link segregatedFits} (the default). */
  segregated: segregatedFits,
} as const;
