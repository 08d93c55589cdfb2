/**
 * Exercise 8: malloc / free / realloc. Read README.md first.
 * Every header and link lives in simulated memory: use read/write, which go
 * through the MMU at CPL 0.
 */
import type { KernelPageAllocator } from "@mm386/kvmalloc";
import type { HeapAllocator } from "@mm386/malloc";
import type { MallocExercise } from "../../src/exercise-api.js";

/** A refused call: E_NOT_ALLOCATED (never returned) or E_DOUBLE_FREE. */
export class HeapError extends Error {
  constructor(
    readonly code: "E_NOT_ALLOCATED" | "E_DOUBLE_FREE",
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

class StudentMalloc implements HeapAllocator {
  readonly name = "student malloc";

  constructor(readonly kv: KernelPageAllocator) {}

  /** The word at kernel virtual address va. */
  private read(va: number): number {
    return this.kv.mmu.read32(va, 0);
  }

  /** Write the word at kernel virtual address va. */
  private write(va: number, value: number): void {
    this.kv.mmu.write32(va, value, 0);
  }

  malloc(size: number): number | null {
    // TODO: find a free block (or grow with this.kv.kvmalloc), split, mark allocated.
    void size;
    void this.read;
    void this.write;
    return null;
  }

  free(bp: number): void {
    // TODO: refuse bad pointers (HeapError), mark free, coalesce with free neighbours.
    void bp;
  }

  realloc(bp: number, size: number): number | null {
    // TODO: realloc(0, n) = malloc(n); realloc(bp, 0) frees; otherwise move and copy.
    void [bp, size];
    return null;
  }
}

export const createMalloc: MallocExercise["createMalloc"] = (kv) => new StudentMalloc(kv);
