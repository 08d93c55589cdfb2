/**
 * Planted mistake: a new kernel page table goes into the current pagedir
 * only, not into every pagedir (the kernel half is no longer shared).
 */
import { type MapMem, type MapMemContext, hobbyMapMem } from "@mm386/paging";

function currentOnly(k: MapMemContext): MapMemContext {
  return {
    ...k,
    current: k.current,
    pagedirs: () => k.pagedirs().filter((pd) => pd === k.current),
  };
}

export const mapMem: MapMem = {
  name: "planted syncs-current-only",
  map: (k, ...rest) => hobbyMapMem.map(currentOnly(k), ...rest),
};
