/**
 * Mmu.copyWords must do exactly what the word-by-word loop does: same
 * result, same fault and CR2, same accessed/dirty bits, TLB and counters.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CR0,
  type Cpl,
  HwError,
  Mmu,
  PageFault,
  PhysicalMemory,
  SetAssociativeTlb,
  type Tlb,
  UnboundedTlb,
} from "../src/index.js";

const PD = 0x1000;
const PT = 0x2000;
const PAGES = 8; // linear pages 0x400000..0x407fff, frames 0x100000..

function boot(tlb: Tlb, flags: number[], wp: boolean): Mmu {
  const ram = new PhysicalMemory();
  const mmu = new Mmu(ram, { tlb });
  ram.write32(PD + 4, PT | 7);
  flags.forEach((f, i) => {
    ram.write32(PT + 4 * i, (0x10_0000 + i * 0x1000) | f);
    for (let w = 0; w < 1024; w += 97) ram.write32(0x10_0000 + i * 0x1000 + 4 * w, (i << 16) | w);
  });
  mmu.loadCr3(PD);
  mmu.loadCr0(CR0.PE | CR0.PG | (wp ? CR0.WP : 0));
  return mmu;
}

function outcome(mmu: Mmu, run: () => void) {
  let fault: string | null = null;
  try {
    run();
  } catch (e) {
    if (!(e instanceof PageFault)) throw e;
    fault = `${e.errorCode}@${e.cr2}`;
  }
  const memory = Array.from({ length: PAGES * 1024 }, (_, w) => mmu.ram.read32(0x10_0000 + 4 * w));
  const ptes = Array.from({ length: PAGES }, (_, i) => mmu.ram.read32(PT + 4 * i));
  const tlb = JSON.stringify(mmu.tlb.entries().sort((a, b) => a.vpn - b.vpn));
  return { fault, memory, ptes, tlb, stats: mmu.stats, cr2: mmu.cr2 };
}

describe.each([
  ["unbounded", () => new UnboundedTlb()],
  ["2-entry FIFO", () => new SetAssociativeTlb({ entries: 2, ways: 2, replacement: "fifo" })],
  ["4-entry LRU", () => new SetAssociativeTlb({ entries: 4, ways: 2 })],
])("copyWords equals the word loop (%s TLB)", (_name, makeTlb) => {
  it("on random page flags, ranges, CPLs and warm or cold TLBs", () => {
    const flag = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(7, 3, 0x47, 0x67) },
      fc.constantFrom(0, 1, 5),
    );
    fc.assert(
      fc.property(
        fc.array(flag, { minLength: PAGES, maxLength: PAGES }),
        fc.boolean(),
        fc.constantFrom<Cpl>(0, 3),
        fc.integer({ min: 0, max: PAGES * 1024 - 1 }),
        fc.integer({ min: 0, max: PAGES * 1024 - 1 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.boolean(),
        (flags, wp, cpl, srcWord, dstWord, words, warm) => {
          const n = Math.min(words, PAGES * 1024 - Math.max(srcWord, dstWord));
          const src = 0x40_0000 + 4 * srcWord;
          const dst = 0x40_0000 + 4 * dstWord;
          const a = boot(makeTlb(), flags, wp);
          const b = boot(makeTlb(), flags, wp);
          if (warm) {
            for (const m of [a, b])
              for (let p = 0; p < PAGES; p++) outcome(m, () => m.read32(0x40_0000 + p * 4096, cpl));
          }
          const got = outcome(a, () => a.copyWords(dst, src, n, cpl));
          const want = outcome(b, () => {
            for (let i = 0; i < n; i++) b.write32(dst + 4 * i, b.read32(src + 4 * i, cpl), cpl);
          });
          expect(got.fault).toBe(want.fault);
          expect(got.stats).toEqual(want.stats);
          expect(got.ptes).toEqual(want.ptes);
          expect(got.tlb).toBe(want.tlb);
          expect(got.cr2).toBe(want.cr2);
          expect(got.memory).toEqual(want.memory);
        },
      ),
      // 20 random cases a TLB by default (three TLBs, each case a whole copy compared word
      // by word); the deep run tries 2000.
      { numRuns: process.env.MM386_DEEP ? 2000 : 20 },
    );
  }, 60_000);
});

describe("copyWords", () => {
  it("refuses a bad word count", () => {
    const m = boot(new UnboundedTlb(), [7], false);
    expect(() => m.copyWords(0x40_0000, 0x40_0000, -1)).toThrow(HwError);
    expect(() => m.copyWords(0x40_0000, 0x40_0000, 1.5)).toThrow(/1.5/);
  });
});
