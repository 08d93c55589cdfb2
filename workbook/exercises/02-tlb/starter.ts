/**
 * Exercise 2: a TLB. Read README.md first.
 *
 * Implement the `Tlb` interface of @mm386/hw-i386. `createTlb` must return a
 * new, empty TLB each time it is called.
 */
import type { Tlb, TlbEntry } from "@mm386/hw-i386";
import type { TlbExercise } from "../../src/exercise-api.js";

class StudentTlb implements Tlb {
  readonly name = "student TLB";
  readonly capacity = Infinity;

  lookup(vpn: number): TlbEntry | undefined {
    // TODO: the entry last inserted for vpn, or undefined.
    void vpn;
    return undefined;
  }

  insert(entry: TlbEntry): TlbEntry | undefined {
    // TODO: remember entry, replacing any entry for the same vpn; return what was evicted.
    void entry;
    return undefined;
  }

  invalidatePage(vpn: number): number {
    // TODO: drop vpn, and every large entry in the same 4 MiB region. Return how many were dropped.
    void vpn;
    return 0;
  }

  flushNonGlobal(): number {
    // TODO: drop every entry that is not global. Return how many.
    return 0;
  }

  flushAll(): number {
    // TODO: drop everything. Return how many.
    return 0;
  }

  entries(): TlbEntry[] {
    // TODO: every entry held.
    return [];
  }
}

export const createTlb: TlbExercise["createTlb"] = () => new StudentTlb();
