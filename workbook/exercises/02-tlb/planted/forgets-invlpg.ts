/** Planted mistake: invalidatePage (what invlpg calls) drops nothing. */
import { type Tlb, UnboundedTlb } from "@mm386/hw-i386";
import type { TlbExercise } from "../../../src/exercise-api.js";

export const createTlb: TlbExercise["createTlb"] = (): Tlb => {
  // Delegation, not a subclass: the MMU would use a built-in TLB's fast path and skip overrides.
  const t = new UnboundedTlb();
  return {
    name: "planted forgets-invlpg",
    capacity: t.capacity,
    lookup: (vpn) => t.lookup(vpn),
    insert: (e) => t.insert(e),
    invalidatePage: () => 0,
    flushNonGlobal: () => t.flushNonGlobal(),
    flushAll: () => t.flushAll(),
    entries: () => t.entries(),
  };
};
