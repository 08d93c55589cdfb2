/**
 * Planted mistake: a new kernel page table goes into the current pagedir
 * only, not into every pagedir (the kernel half is no longer shared).
 */
import { type MapMem, type Paging, hobbyMapMem } from "@mm386/paging";

function bind(target: object, v: unknown): unknown {
  return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}

function currentOnly(k: Paging): Paging {
  return new Proxy(k, {
    get: (t, key) =>
      key === "pagedirs"
        ? () => t.pagedirs().filter((pd) => pd.phys === (t.mmu.cr3 & 0xffff_f000) >>> 0)
        : bind(t, Reflect.get(t, key, t)),
  });
}

export const mapMem: MapMem = {
  name: "planted syncs-current-only",
  map: (k, ...rest) => hobbyMapMem.map(currentOnly(k), ...rest),
};
