/**
 * Planted mistake: invlpg drops only the entry of that exact page, not the
 * other cached pieces of the same 4 MiB page.
 */
import type { Tlb, TlbEntry } from "@mm386/hw-i386";
import type { TlbExercise } from "../../../src/exercise-api.js";

export const createTlb: TlbExercise["createTlb"] = (): Tlb => {
  const map = new Map<number, TlbEntry>();
  return {
    name: "planted small-pieces-stay",
    capacity: Infinity,
    lookup: (vpn) => map.get(vpn),
    insert: (e) => {
      map.set(e.vpn, e);
      return undefined;
    },
    invalidatePage: (vpn) => (map.delete(vpn) ? 1 : 0),
    flushNonGlobal: () => {
      let n = 0;
      for (const [vpn, e] of map) if (!e.global && map.delete(vpn)) n++;
      return n;
    },
    flushAll: () => {
      const n = map.size;
      map.clear();
      return n;
    },
    entries: () => [...map.values()],
  };
};
