/**
 * Planted mistake: when memory for a later page table runs out, returns
 * false but keeps the user page tables it made earlier in the same call.
 */
import { type MapMem, type MapMemContext, hobbyMapMem } from "@mm386/paging";

function keepsTables(k: MapMemContext): MapMemContext {
  return { ...k, current: k.current, freeUserTable: () => undefined };
}

export const mapMem: MapMem = {
  name: "planted leaks-on-oom",
  map: (k, ...rest) => hobbyMapMem.map(keepsTables(k), ...rest),
};
