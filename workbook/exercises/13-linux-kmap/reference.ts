/**
 * Linux exercise, reference: the pkmap area of @mm386/paging/linux's
 * Highmem, which keeps its own state; here written out against KmapKernel
 * so the checks can run the student's and this one alike.
 */
import type { KmapKernel, Pkmap, PkmapSlotView } from "./kernel.js";

const LAST_PKMAP = 1024;
const PAGE = 4096;

/** The persistent kmap area (mm/highmem.c). */
export function createPkmap(k: KmapKernel): Pkmap {
  const count = new Uint16Array(LAST_PKMAP);
  const slotPage: number[] = new Array<number>(LAST_PKMAP).fill(0);
  const pageSlot = new Map<number, number>();
  let last = 0;
  let flushCount = 0;
  const high = (page: number) => page >= k.maxLowPfn * PAGE;

  const flushAllZeroPkmaps = (): void => {
    for (let nr = 0; nr < LAST_PKMAP; nr++) {
      if (count[nr] !== 1) continue;
      count[nr] = 0;
      k.mmu.write32(k.pkmapPageTable + 4 * nr, 0);
      pageSlot.delete(slotPage[nr]!);
    }
    k.flushTlbAll();
    flushCount++;
  };

  const mapNewVirtual = (page: number): number | null => {
    let tries = LAST_PKMAP;
    for (;;) {
      last = (last + 1) % LAST_PKMAP;
      if (last === 0) {
        flushAllZeroPkmaps();
        tries = LAST_PKMAP;
      }
      if (count[last] === 0) break;
      if (--tries === 0) return null;
    }
    k.mmu.write32(k.pkmapPageTable + 4 * last, page | k.kmapProt);
    count[last] = 1;
    slotPage[last] = page;
    pageSlot.set(page, last);
    return last;
  };

  return {
    kmap(page) {
      if (!high(page)) return k.pageOffset + page;
      let nr = pageSlot.get(page);
      if (nr === undefined) {
        const got = mapNewVirtual(page);
        if (got === null) return null;
        nr = got;
      }
      count[nr]!++;
      return k.pkmapBase + nr * PAGE;
    },
    kunmap(page) {
      if (!high(page)) return;
      const nr = pageSlot.get(page);
      if (nr === undefined || count[nr]! < 2)
        throw new Error(`kunmap(0x${page.toString(16)}): the page has no user`);
      count[nr]!--;
    },
    flushAllZeroPkmaps,
    slots() {
      const out: PkmapSlotView[] = [];
      for (let nr = 0; nr < LAST_PKMAP; nr++)
        if (count[nr] !== 0) out.push({ nr, page: slotPage[nr]!, count: count[nr]! });
      return out;
    },
    flushes: () => flushCount,
  };
}
