/**
 * Issue 17: demand-paged user memory on the Linux design. Areas made with
 * mmap map nothing until touched; the fault handler in read32/write32 maps
 * the zero page on a read and a frame of its own on a write, checked against
 * the page tables read physically and the zones' free counts.
 */
import fc from "fast-check";
import { GFP, LINUX_ERROR } from "@mm386/allocation/linux";
import { createMachine, PageFault, PF_ERROR, PTE } from "@mm386/hw-i386";
import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { PAGING_ERROR } from "../src/index.js";
import {
  bootLinux,
  type LinuxPaging,
  type MmStruct,
  PROT,
  SegmentationFault,
} from "../src/linux/index.js";
import { physPte, segv } from "./helpers.js";

const MiB = 1024 * 1024;
const PAGE = 4096;
const RW = PROT.READ | PROT.WRITE;

function setup(mib = 64): { l: LinuxPaging; mm: MmStruct } {
  const l = bootLinux(createMachine({ ramBytes: mib * MiB }));
  const mm = l.createAddressSpace()!;
  l.switchTo(mm);
  return { l, mm };
}

/** The PTE of `va` in `mm`, read physically (null without a table). */
const pte = (l: LinuxPaging, mm: MmStruct, va: number) => physPte(l.machine, mm.cr3, va);

describe("demand paging", () => {
  it("maps nothing at mmap; a write takes a zeroed frame of its own, mapped with the area's protection", () => {
    const { l, mm } = setup();
    const before = l.zones.freeCounts();
    expect(l.mmap(mm, 0x0804_8000, 3 * PAGE, RW)).toBe(0x0804_8000);
    expect(pte(l, mm, 0x0804_8000)).toBeNull();
    expect(l.zones.freeCounts()).toEqual(before);
    l.write32(0x0804_9010, 0xdead_beef, 3);
    const entry = pte(l, mm, 0x0804_9000)!;
    expect(entry & (PTE.P | PTE.RW | PTE.US)).toBe(PTE.P | PTE.RW | PTE.US);
    const frame = entry & ~0xfff;
    expect(l.machine.ram.read32(frame + 0x10)).toBe(0xdead_beef);
    // The rest of the page is zero, whatever the frame held before.
    for (const off of [0, 0x14, 0xffc]) expect(l.read32(0x0804_9000 + off, 3)).toBe(0);
    expect(l.stats.minorFaults).toBe(1);
    // One page table and one frame (and, for the zero page, nothing yet).
    const after = l.zones.freeCounts();
    expect(before.NORMAL + before.DMA - (after.NORMAL + after.DMA)).toBe(2 + 1); // table, frame, zero page
  });

  it("answers a read with the shared zero page, read-only, and copies it on the first write", () => {
    const { l, mm } = setup();
    l.mmap(mm, 0x1000_0000, 2 * PAGE, RW);
    expect(l.read32(0x1000_0000, 3)).toBe(0);
    expect(l.read32(0x1000_1000, 3)).toBe(0);
    const zero = pte(l, mm, 0x1000_0000)! & ~0xfff;
    expect(pte(l, mm, 0x1000_1000)! & ~0xfff).toBe(zero);
    expect(pte(l, mm, 0x1000_0000)! & PTE.RW).toBe(0);
    expect(l.stats.zeroPageMaps).toBe(2);
    l.write32(0x1000_0004, 7, 3);
    expect(pte(l, mm, 0x1000_0000)! & ~0xfff).not.toBe(zero);
    expect(l.read32(0x1000_0004, 3)).toBe(7);
    expect(l.read32(0x1000_1004, 3)).toBe(0); // the other page still sees zeros
    expect(l.machine.ram.read32(zero + 4)).toBe(0); // the zero page stayed zero
    expect(l.stats.zeroPageCopies).toBe(1);
    expect(l.stats.minorFaults).toBe(3);
  });

  it("the seed's example: a user page at 120 MiB and the same frame through the direct map see the same bytes", () => {
    const { l, mm } = setup(512);
    const at = 120 * MiB;
    l.mmap(mm, at, PAGE, RW);
    l.write32(at + 0x40, 0x1234_5678, 3);
    const frame = pte(l, mm, at)! & ~0xfff;
    expect(frame).toBeLessThan(l.maxLowPfn * PAGE); // 512 MiB has no highmem
    expect(l.read32(l.va(frame) + 0x40, 0)).toBe(0x1234_5678);
    l.write32(l.va(frame) + 0x44, 0x9abc_def0, 0);
    expect(l.read32(at + 0x44, 3)).toBe(0x9abc_def0);
  });

  it("takes frames from highmem first when there is some", () => {
    const { l, mm } = setup(1024);
    l.mmap(mm, 0x0040_0000, PAGE, RW);
    l.write32(0x0040_0000, 1, 3);
    expect(pte(l, mm, 0x0040_0000)! & ~0xfff).toBeGreaterThanOrEqual(896 * MiB);
    expect(l.read32(0x0040_0000, 3)).toBe(1);
  });

  it("is a typed segmentation fault outside every area, for a write to a read-only area, and on PROT_NONE", () => {
    const { l, mm } = setup();
    l.mmap(mm, 0x0800_0000, PAGE, PROT.READ);
    l.mmap(mm, 0x0900_0000, PAGE, PROT.NONE);
    const outside = segv(() => l.read32(0x0700_0000, 3));
    expect(outside.code).toBe("E_SEGV");
    expect(outside.address).toBe(0x0700_0000);
    expect(outside.errorCode).toBe(PF_ERROR.U);
    expect(outside.message).toContain("0x07000000");
    const ro = segv(() => l.write32(0x0800_0000, 1, 3));
    expect(ro.errorCode).toBe(PF_ERROR.U | PF_ERROR.W);
    l.read32(0x0800_0000, 3); // the zero page, read-only
    expect(segv(() => l.write32(0x0800_0000, 1, 3)).errorCode).toBe(
      PF_ERROR.P | PF_ERROR.U | PF_ERROR.W,
    );
    segv(() => l.read32(0x0900_0000, 3));
    segv(() => l.read32(0xc000_0000, 3));
    // A kernel access outside every area is the kernel's bug: the page fault itself.
    expect(() => l.read32(0x0700_0000, 0)).toThrow(PageFault);
  });

  it("munmap gives every frame back (highmem too), splits the area and invalidates the pages", () => {
    const { l, mm } = setup(1024);
    l.mmap(mm, 0x0040_0000, 4 * PAGE, RW);
    for (let i = 0; i < 4; i++) l.write32(0x0040_0000 + i * PAGE, i + 1, 3);
    const before = l.zones.freeCounts();
    l.munmap(mm, 0x0040_1000, 2 * PAGE);
    const after = l.zones.freeCounts();
    expect(after.HIGHMEM - before.HIGHMEM).toBe(2);
    expect(l.vmAreas(mm)).toEqual([
      { start: 0x0040_0000, end: 0x0040_1000, prot: RW },
      { start: 0x0040_3000, end: 0x0040_4000, prot: RW },
    ]);
    // The TLB held them: no stale translation, a fault outside every area now.
    segv(() => l.read32(0x0040_1000, 3));
    expect(l.read32(0x0040_3000, 3)).toBe(4);
  });

  it("destroying the space gives back every frame, page table and the directory", () => {
    const l = bootLinux(createMachine({ ramBytes: 1024 * MiB }));
    const mm0 = l.createAddressSpace()!;
    l.switchTo(mm0);
    l.mmap(mm0, 0, PAGE, RW);
    l.read32(0, 3); // the zero page exists from now on
    l.switchTo(l.reference);
    l.destroyAddressSpace(mm0);
    const before = l.zones.freeCounts();
    const mm = l.createAddressSpace()!;
    l.switchTo(mm);
    l.mmap(mm, 0x0040_0000, 8 * PAGE, RW);
    l.mmap(mm, 0xbfff_0000, 16 * PAGE, RW);
    for (let i = 0; i < 8; i++) l.write32(0x0040_0000 + i * PAGE, i, 3);
    l.read32(0xbfff_0000, 3);
    l.switchTo(l.reference);
    l.destroyAddressSpace(mm);
    expect(l.zones.freeCounts()).toEqual(before);
  });

  it("mprotect splits areas and rewrites the present PTEs; a downgrade is felt at once", () => {
    const { l, mm } = setup();
    l.mmap(mm, 0x0040_0000, 3 * PAGE, RW);
    l.write32(0x0040_1000, 5, 3);
    l.mprotect(mm, 0x0040_1000, PAGE, PROT.READ);
    expect(l.vmAreas(mm).map((a) => a.prot)).toEqual([RW, PROT.READ, RW]);
    expect(pte(l, mm, 0x0040_1000)! & PTE.RW).toBe(0);
    expect(segv(() => l.write32(0x0040_1000, 6, 3)).errorCode).toBe(
      PF_ERROR.P | PF_ERROR.W | PF_ERROR.U,
    );
    l.mprotect(mm, 0x0040_1000, PAGE, PROT.NONE);
    segv(() => l.read32(0x0040_1000, 3));
    l.mprotect(mm, 0x0040_0000, 3 * PAGE, RW);
    expect(l.read32(0x0040_1000, 3)).toBe(5); // the frame was kept under PROT_NONE
    expectCode(() => l.mprotect(mm, 0x0040_0000, 4 * PAGE, RW), LINUX_ERROR.NOT_MAPPED);
  });

  it("refuses bad areas with typed errors and changes nothing", () => {
    const { l, mm } = setup();
    l.mmap(mm, 0x0040_0000, 2 * PAGE, RW);
    const f = l.allocFrames(1)!;
    l.map(mm, 0x0080_0000, f, 1, PTE.P | PTE.US);
    const state = () => JSON.stringify([l.vmAreas(mm), l.zones.freeCounts(), l.dump(mm)]);
    const before = state();
    expectCode(() => l.mmap(mm, 0x0040_1000, PAGE, RW), LINUX_ERROR.BUSY);
    expectCode(() => l.mmap(mm, 0x0080_0000, PAGE, RW), LINUX_ERROR.BUSY);
    expectCode(() => l.mmap(mm, 0x0050_0800, PAGE, RW), PAGING_ERROR.UNALIGNED);
    expectCode(() => l.mmap(mm, 0xbfff_f000, 2 * PAGE, RW), PAGING_ERROR.CROSSES_SPLIT);
    expectCode(() => l.mmap(mm, 0x0050_0000, 0, RW), PAGING_ERROR.BAD_ARGUMENT);
    expectCode(() => l.mmap(mm, 0x0050_0000, PAGE, 8), PAGING_ERROR.BAD_FLAGS);
    expectCode(() => l.mmap(l.reference, 0x0050_0000, PAGE, RW), PAGING_ERROR.INIT_PAGEDIR);
    expectCode(() => l.map(mm, 0x0040_0000, f, 1, PTE.P | PTE.US), LINUX_ERROR.BUSY);
    expect(state()).toBe(before);
  });

  it("out of memory in a fault is a typed error and maps nothing", () => {
    const { l, mm } = setup(16);
    l.mmap(mm, 0x0040_0000, PAGE, RW);
    l.read32(0x0040_0000, 3); // the zero page and the table exist
    while (l.zones.allocPages(GFP.HIGHUSER, 0) !== null);
    const before = pte(l, mm, 0x0040_0000);
    expectCode(() => l.write32(0x0040_0000, 1, 3), LINUX_ERROR.NO_MEMORY);
    expect(pte(l, mm, 0x0040_0000)).toBe(before);
  });
});

describe("demand paging against a model", () => {
  type Op =
    | { op: "mmap" | "mprotect"; page: number; n: number; prot: number }
    | { op: "munmap"; page: number; n: number }
    | { op: "read"; page: number }
    | { op: "write"; page: number; value: number };
  // 12 pages across two page tables: 0x003f8000 .. 0x00404000.
  const BASE = 0x003f_8000;
  const PAGES = 12;
  const prot = fc.constantFrom(PROT.NONE, PROT.READ, RW, PROT.READ | PROT.EXEC);
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      op: fc.constantFrom("mmap" as const, "mprotect" as const),
      page: fc.nat({ max: PAGES - 1 }),
      n: fc.integer({ min: 1, max: 4 }),
      prot,
    }),
    fc.record({
      op: fc.constant("munmap" as const),
      page: fc.nat({ max: PAGES - 1 }),
      n: fc.integer({ min: 1, max: 4 }),
    }),
    fc.record({ op: fc.constant("read" as const), page: fc.nat({ max: PAGES - 1 }) }),
    fc.record({
      op: fc.constant("write" as const),
      page: fc.nat({ max: PAGES - 1 }),
      value: fc.integer({ min: 1, max: 0x7fff_ffff }),
    }),
  );

  it(
    "reads, writes, segmentation faults and frames as a plain model says; teardown gives everything back",
    () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
          const l = bootLinux(createMachine({ ramBytes: 1024 * MiB }));
          const free0 = l.zones.freeCounts();
          const mm = l.createAddressSpace()!;
          l.switchTo(mm);
          const area: (number | null)[] = new Array<number | null>(PAGES).fill(null);
          const value = new Map<number, number>();
          const va = (p: number) => BASE + p * PAGE;
          let faulted = false;
          for (const o of ops) {
            if (o.op === "read" || o.op === "write") {
              const p = area[o.page]!;
              const allowed =
                area[o.page] !== null &&
                p !== PROT.NONE &&
                (o.op === "read" || (p & PROT.WRITE) !== 0);
              if (!allowed) {
                expect(() =>
                  o.op === "read" ? l.read32(va(o.page), 3) : l.write32(va(o.page), o.value, 3),
                ).toThrow(SegmentationFault);
                continue;
              }
              faulted = true;
              if (o.op === "read") expect(l.read32(va(o.page), 3)).toBe(value.get(o.page) ?? 0);
              else {
                l.write32(va(o.page), o.value, 3);
                value.set(o.page, o.value);
              }
              continue;
            }
            const n = Math.min(o.n, PAGES - o.page);
            const range = Array.from({ length: n }, (_, i) => o.page + i);
            if (o.op === "mmap") {
              if (range.some((p) => area[p] !== null)) {
                expectCode(() => l.mmap(mm, va(o.page), n * PAGE, o.prot), LINUX_ERROR.BUSY);
                continue;
              }
              l.mmap(mm, va(o.page), n * PAGE, o.prot);
              for (const p of range) area[p] = o.prot;
            } else if (o.op === "mprotect") {
              if (range.some((p) => area[p] === null)) {
                expectCode(
                  () => l.mprotect(mm, va(o.page), n * PAGE, o.prot),
                  LINUX_ERROR.NOT_MAPPED,
                );
                continue;
              }
              l.mprotect(mm, va(o.page), n * PAGE, o.prot);
              for (const p of range) area[p] = o.prot;
            } else {
              l.munmap(mm, va(o.page), n * PAGE);
              for (const p of range) {
                area[p] = null;
                value.delete(p);
              }
            }
          }
          // Every page that was written owns a frame; teardown gives back all of them,
          // the tables and the directory: only the zero page stays taken.
          l.switchTo(l.reference);
          l.destroyAddressSpace(mm);
          const free = l.zones.freeCounts();
          const total = (c: typeof free) => c.DMA + c.NORMAL + c.HIGHMEM;
          expect(total(free0) - total(free)).toBe(faulted ? 1 : 0);
        }),
        { numRuns: process.env.MM386_DEEP ? 500 : 15 },
      );
    },
    process.env.MM386_DEEP ? 3_600_000 : 60_000,
  );
});
