/**
 * The heap, policy and slab cache conformance properties can fail, and their
 * counterexamples shrink to a few steps a person can read: sequences have no
 * minimum length, so fast-check can drop every step that does not matter.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { heapModelProperty, policyModelProperty } from "../src/conformance.js";
import { Malloc, addressOrderedFirstFit } from "../src/index.js";
import { SlabAllocator } from "../src/slab/index.js";
import { cacheModelProperty } from "../src/slab/conformance.js";

describe("the conformance properties shrink a planted bug to a few steps", () => {
  it("policy: a find that ignores the size (hands out the first free block), in <= 5 steps", () => {
    const sloppy = () => {
      const p = addressOrderedFirstFit();
      return {
        ...p,
        attach: p.attach.bind(p),
        insert: p.insert.bind(p),
        remove: p.remove.bind(p),
        forEachFree: p.forEachFree.bind(p),
        find: () => {
          let first = 0;
          p.forEachFree((bp) => {
            if (first === 0) first = bp;
          });
          return first;
        },
      };
    };
    const out = fc.check(policyModelProperty(sloppy), { numRuns: 100, seed: 1 });
    expect(out.failed).toBe(true);
    expect(out.counterexample![1].length).toBeLessThanOrEqual(5);
  }, 60_000);

  it("heap: a realloc that does not copy the payload, in <= 5 steps", () => {
    class NoCopy extends Malloc {
      override realloc(bp: number, size: number): number | null {
        if (bp === 0) return this.malloc(size);
        if (size === 0) {
          this.free(bp);
          return null;
        }
        const nb = this.malloc(size);
        this.free(bp);
        return nb;
      }
    }
    const out = fc.check(
      heapModelProperty((kv) => new NoCopy(kv)),
      { numRuns: 100, seed: 1 },
    );
    expect(out.failed).toBe(true);
    expect(out.counterexample![0].length).toBeLessThanOrEqual(5);
  }, 60_000);

  it("slab cache: an alloc that does not take a freed object off its list, in <= 5 steps", () => {
    const out = fc.check(
      cacheModelProperty((pages, mmu, size) => {
        const inner = new SlabAllocator(pages, mmu).createCache({ size });
        let lastFreed: number | null = null;
        // The planted bug: the freed object is handed out, but stays on the free list.
        return {
          objectSize: size,
          alloc: () => lastFreed ?? inner.alloc(),
          free: (va: number) => {
            if (va !== lastFreed) inner.free(va);
            lastFreed = va;
          },
        };
      }),
      { numRuns: 100, seed: 1 },
    );
    expect(out.failed).toBe(true);
    expect(out.counterexample![1].length).toBeLessThanOrEqual(5);
  }, 60_000);
});
