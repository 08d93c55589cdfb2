/** Planted mistake: a CR3 load (flushNonGlobal) drops the global entries too. */
import { type Tlb, UnboundedTlb } from "@mm386/hw-i386";
import type { TlbExercise } from "../../../src/exercise-api.js";

export const createTlb: TlbExercise["createTlb"] = (): Tlb => {
  const t = new UnboundedTlb();
  return {
    name: "planted flushes-globals",
    capacity: t.capacity,
    lookup: (vpn) => t.lookup(vpn),
    insert: (e) => t.insert(e),
    invalidatePage: (vpn) => t.invalidatePage(vpn),
    flushNonGlobal: () => t.flushAll(),
    flushAll: () => t.flushAll(),
    entries: () => t.entries(),
  };
};
