/**
 * Exercise 7: kvmalloc / kvfree. Read README.md first.
 */
import { PAGE_SIZE as PAGE, hex32, type Mmu } from "@mm386/hw-i386";
import type { KernelPageAllocator } from "@mm386/kvmalloc";
import { PTE_PRESENT, PTE_WRITE, type Paging } from "@mm386/paging";
import type { KvmallocExercise } from "../../src/exercise-api.js";

/** A refused call; `code` is E_BAD_ARGUMENT, E_NOT_ALLOCATED or E_WRONG_SIZE. */
export class KvmallocError extends Error {
  constructor(
    readonly code: "E_BAD_ARGUMENT" | "E_NOT_ALLOCATED" | "E_WRONG_SIZE",
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

class StudentKvmalloc implements KernelPageAllocator {
  readonly name = "student kvmalloc";
  /** Live allocations: address -> pages. */
  private readonly live = new Map<number, number>();

  /** The MMU the heap above reaches your pages through. */
  readonly mmu: Mmu;

  constructor(readonly paging: Paging) {
    this.mmu = paging.mmu;
  }

  kvmalloc(n: number): number | null {
    // TODO: validate n; vpalloc n pages; take frames with ppalloc(1, remaining) and map them;
    // on any failure give everything back and return null.
    void [n, PTE_PRESENT, PTE_WRITE, PAGE];
    return null;
  }

  kvfree(addr: number, n: number): void {
    // TODO: validate against this.live; find the frames, unmap, ppfree, vpfree.
    void [addr, n, hex32, this.live];
  }
}

export const createKvmalloc: KvmallocExercise["createKvmalloc"] = (paging) =>
  new StudentKvmalloc(paging);
