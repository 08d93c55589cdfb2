/**
 * Exercise 2's checks: the TLB conformance suite, then the TLB inside a whole
 * booted stack (with your earlier layers).
 */
import { PTE } from "@mm386/hw-i386";
import { describeTlbConformance } from "@mm386/hw-i386/conformance";
import { createStack } from "@mm386/malloc";
import { PTE_PRESENT, PTE_WRITE } from "@mm386/paging";
import { describe, expect, it } from "vitest";
import type { TlbExercise } from "../../src/exercise-api.js";
import { earlierLayers, implLabel, loadExercise } from "../../src/kit.js";

const { createTlb } = await loadExercise<TlbExercise>(2);
const layers = await earlierLayers(2);
const probe = createTlb();

describeTlbConformance(`exercise 2 (${implLabel(2)})`, createTlb, {
  unbounded: probe.capacity === Infinity,
});

describe(`exercise 2 in a booted stack (${implLabel(2)})`, () => {
  it("keeps a stale translation after a PTE edit until invlpg", () => {
    const s = createStack({ ...layers, tlb: createTlb, ramBytes: 16 * 1024 * 1024 });
    const [a, b] = [s.allocators.ppalloc(1, 1)!.start, s.allocators.ppalloc(1, 1)!.start];
    s.machine.ram.write32(a, 0xaaaa);
    s.machine.ram.write32(b, 0xbbbb);
    const va = 0xd000_0000;
    s.paging.mapMem(null, a, va, 1, PTE_PRESENT | PTE_WRITE);
    expect(s.mmu.read32(va)).toBe(0xaaaa); // walked and cached
    // Edit the PTE behind the TLB's back, as a buggy kernel would (no invlpg).
    const pteVa = s.paging.kvpd[(va >>> 22) - s.paging.userPdes]! + 4 * ((va >>> 12) & 1023);
    s.mmu.write32(pteVa, b | PTE.P | PTE.RW);
    expect(s.mmu.read32(va), "the TLB must still answer with the old frame").toBe(0xaaaa);
    s.mmu.invlpg(va);
    expect(s.mmu.read32(va)).toBe(0xbbbb);
  });

  it("keeps a global kernel page across a CR3 load when CR4.PGE=1, and drops a user page", () => {
    const s = createStack({ ...layers, tlb: createTlb, ramBytes: 16 * 1024 * 1024 });
    s.mmu.loadCr4(s.mmu.cr4 | 0x80); // PGE
    const f = s.allocators.ppalloc(2, 2)!.start;
    const as = s.paging.createAddressSpace()!;
    s.paging.mapMem(null, f, 0xd000_0000, 1, PTE_PRESENT | PTE_WRITE | PTE.G);
    s.paging.mapMem(as, f + 4096, 0x0040_0000, 1, PTE_PRESENT | PTE_WRITE);
    s.paging.switchTo(as);
    s.mmu.read32(0xd000_0000);
    s.mmu.read32(0x0040_0000);
    s.mmu.loadCr3(as.phys); // a CR3 load: flushes non-global entries
    const vpns = s.mmu.tlb.entries().map((e) => e.vpn);
    expect(vpns).toContain(0xd000_0000 >>> 12);
    expect(vpns).not.toContain(0x0040_0000 >>> 12);
  });
});
