/**
 * The conformance suite of the `MapMem` swap point, and of anything
 * else a paging stack is built from (boot code, page allocators): the same
 * tests run on whatever `start` builds.
 *
 * ```ts
 * import { describePagingConformance } from "@mm386/paging/conformance";
 * describePagingConformance("my mapMem", (m) => startPaging(m, { mapMem: myMapMem }));
 * ```
 *
 * A random sequence of map/unmap/create/destroy/switch is checked after every
 * step against a plain model (per address space: virtual page -> frame and
 * flags; one shared map for the kernel half), by translating every candidate
 * page of every address space, and, for the current one, by reading through
 * the MMU itself, so a missing invlpg shows up as a stale value.
 *
 * Needs `vitest` and `fast-check` (peer dependencies of this entry point only).
 *
 * @module
 */
import { createMachine, hex32, type Machine, type MmuEvent } from "@mm386/hw-i386";
import { expectHex, faultOf as fault, showWord as hex } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { PTE_PRESENT as P, PTE_USER as U, PTE_WRITE as W } from "./api.js";
import { type MachineFactory, describeDesignConformance } from "./design-conformance.js";
import type { Paging } from "./paging.js";

export {
  describeDesignConformance,
  designModelProperty,
  type DesignConformanceOptions,
  type MachineFactory,
} from "./design-conformance.js";

const MiB = 1024 * 1024;

/** Count invlpg and CR3-load flushes while `f` runs (the invlpg addresses in hex, for messages). */
function flushes(m: Machine, f: () => void): { invlpg: string[]; cr3: number } {
  const invlpg: string[] = [];
  let cr3 = 0;
  const stop = m.mmu.subscribe((e: MmuEvent) => {
    if (e.type === "flush" && e.reason === "invlpg") invlpg.push(hex(e.va!));
    if (e.type === "flush" && e.reason === "cr3") cr3++;
  });
  try {
    f();
  } finally {
    stop();
  }
  return { invlpg, cr3 };
}

/** Options of {@link describePagingConformance}. */
export interface PagingConformanceOptions {
  /** Makes the machines the tests boot (default `createMachine`). */
  readonly machine?: MachineFactory;
}

/**
 * Register the paging conformance tests for the stacks `start` builds on a
 * fresh machine (it must boot it and return the paging, as
 * `startPaging` does).
 */
export function describePagingConformance(
  name: string,
  start: (machine: Machine) => Paging,
  options: PagingConformanceOptions = {},
): void {
  const machine = options.machine ?? createMachine;
  const fresh = (ramBytes = 64 * MiB): { m: Machine; p: Paging } => {
    const m = machine({ ramBytes });
    return { m, p: start(m) };
  };
  // Everything a design must do, then what the hobby kernel's MapMem contract adds (vpde, kvpd).
  describeDesignConformance(name, start, { machine });
  describe(`paging conformance: ${name}`, () => {
    describe("the kernel half is shared", () => {
      it("a new kernel page table reaches every address space", () => {
        const { m, p } = fresh();
        const spaces = [p.createAddressSpace()!, p.createAddressSpace()!, p.createAddressSpace()!];
        const frame = p.allocators.ppalloc(1, 1)!;
        m.ram.write32(frame.start + 8, 0xabcd);
        expect(p.kvpd[(0xd000_0000 >>> 22) - 768]).toBeNull(); // needs a new table
        expect(p.mapMem(null, frame.start, 0xd000_0000, 1, P | W)).toBe(true);
        for (const as of [...spaces, p.init]) {
          p.switchTo(as);
          expectHex(m.mmu.read32(0xd000_0008, 0), 0xabcd, `read of 0xd0000008 in ${hex(as.phys)}`);
        }
      });

      it("maps 256 MiB of kernel space in 4 KiB pieces from a fresh boot (the recursion ends)", () => {
        const { m, p } = fresh(64 * MiB);
        const frame = p.allocators.ppalloc(1, 1)!;
        // One expect for the whole loop, naming the first page refused: an expect() per
        // call cost ten times the 65536 mapMem calls themselves (measured: 1.2 s against 0.1 s).
        let refused: number | null = null;
        for (let i = 0; i < 65536 && refused === null; i++) {
          const va = 0xe000_0000 + i * 4096;
          if (!p.mapMem(null, frame.start, va, 1, P | W)) refused = va;
        }
        expect(refused === null ? null : hex32(refused), "first kernel page mapMem refused").toBe(
          null,
        );
        m.ram.write32(frame.start, 77);
        for (const va of [0xe000_0000, 0xe123_4000, 0xefff_f000])
          expectHex(m.mmu.read32(va), 77, `read of ${hex(va)}`);
        expect(
          p.kvpd
            .slice((0xe000_0000 >>> 22) - 768, (0xf000_0000 >>> 22) - 768)
            .every((v) => v !== null),
        ).toBe(true);
      }, 30_000); // about 1 s alone; many times that on a loaded 2-core machine
    });

    describe("mapMem", () => {
      it("maps, unmaps, and creates user page tables on demand", () => {
        const { m, p } = fresh();
        const as = p.createAddressSpace()!;
        const f = p.allocators.ppalloc(4, 4)!;
        expect(p.mapMem(as, f.start, 0x0040_0000, 4, P | W | U)).toBe(true);
        expect(as.vpde[1]).not.toBeNull();
        p.switchTo(as);
        m.mmu.write32(0x0040_3ffc, 9, 3);
        expectHex(
          m.ram.read32(f.start + 0x3ffc),
          9,
          `frame ${hex(f.start)} + 0x3ffc after a user write`,
        );
        expect(p.mapMem(as, 0, 0x0040_0000, 4, 0)).toBe(true);
        expect(fault(() => m.mmu.read32(0x0040_3ffc, 3)).errorCode).toBe(4);
      });

      it("edits a non-current address space through its vpde, without loading CR3", () => {
        const { m, p } = fresh();
        const as = p.createAddressSpace()!;
        const f = p.allocators.ppalloc(1, 1)!;
        m.ram.write32(f.start, 31);
        const counted = flushes(m, () => {
          p.mapMem(as, f.start, 0x0080_0000, 1, P | U);
        });
        expect(counted.cr3).toBe(0);
        expectHex(m.mmu.cr3, p.init.phys, "CR3 after mapping in a space that is not current");
        p.switchTo(as);
        expectHex(m.mmu.read32(0x0080_0000, 3), 31, "user read of 0x00800000");
      });

      it("invalidates exactly the TLB entries it must", () => {
        const { m, p } = fresh();
        const a = p.createAddressSpace()!;
        const b = p.createAddressSpace()!;
        const f = p.allocators.ppalloc(8, 8)!;
        // Tables first, so that counting sees only the mappings.
        p.mapMem(a, f.start, 0x0040_0000, 4, P | W);
        p.mapMem(b, f.start, 0x0040_0000, 4, P | W);
        p.mapMem(null, f.start, 0xd000_0000, 4, P | W);
        p.switchTo(a);
        // New mappings over empty PTEs: nothing to invalidate.
        expect(flushes(m, () => p.mapMem(a, f.start, 0x0040_4000, 3, P | W)).invlpg).toEqual([]);
        // Replacing present PTEs of the current address space: one invlpg per page.
        expect(
          flushes(m, () => p.mapMem(a, f.start + 0x4000, 0x0040_0000, 4, P | W)).invlpg,
        ).toEqual([0x0040_0000, 0x0040_1000, 0x0040_2000, 0x0040_3000].map(hex));
        // Another address space: its translations cannot be cached now; none.
        expect(flushes(m, () => p.mapMem(b, f.start + 0x4000, 0x0040_0000, 4, 0)).invlpg).toEqual(
          [],
        );
        // Kernel pages are seen by every address space: always invalidated.
        expect(flushes(m, () => p.mapMem(null, 0, 0xd000_0000, 2, 0)).invlpg).toEqual(
          [0xd000_0000, 0xd000_1000].map(hex),
        );
      });

      it("leaves no stale translation behind when it remaps the current address space", () => {
        const { m, p } = fresh();
        const f = p.allocators.ppalloc(2, 2)!;
        m.ram.write32(f.start, 1);
        m.ram.write32(f.start + 4096, 2);
        p.mapMem(null, f.start, 0xd000_0000, 1, P | W);
        expectHex(m.mmu.read32(0xd000_0000), 1, "read of 0xd0000000"); // now cached
        p.mapMem(null, f.start + 4096, 0xd000_0000, 1, P | W);
        expectHex(m.mmu.read32(0xd000_0000), 2, "read of 0xd0000000 after the remap");
      });

      it("returns false and maps nothing when memory for a page table runs out", () => {
        const { m, p } = fresh(4 * MiB); // 2 MiB usable, minus boot frames
        const as = p.createAddressSpace()!;
        while (p.allocators.ppalloc(1, 1) !== null); // use up every frame
        const before = p.formatDump(as);
        expect(p.mapMem(as, 0x30_0000, 0x0080_0000, 1, P | W | U)).toBe(false); // needs a user page table
        expect(p.formatDump(as)).toBe(before);
        expect(as.vpde[2]).toBeNull();
        expect(p.mmu.pagingEnabled && m.mmu.cr3 === p.init.phys).toBe(true);
      });
    });
  });
}
