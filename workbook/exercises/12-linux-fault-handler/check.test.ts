/**
 * The Linux fault-handler exercise's checks: demand paging on a Linux booted
 * with your handler, read back through the MMU and physically, with the
 * zones' free counts as the independent witness of frames taken and given
 * back.
 */
import { GFP } from "@mm386/allocation/linux";
import { createMachine, PF_ERROR, PTE } from "@mm386/hw-i386";
import {
  bootLinux,
  type LinuxPaging,
  type MmStruct,
  PROT,
  SegmentationFault,
  type UserFaultHandler,
} from "@mm386/paging/linux";
import { describe, expect, it } from "vitest";
import { implLabel, loadExercise } from "../../src/kit.js";

const { faultHandler } = await loadExercise<{ faultHandler: UserFaultHandler }>(12);

const MiB = 1024 * 1024;
const PAGE = 4096;
const RW = PROT.READ | PROT.WRITE;

function setup(mib = 64): { l: LinuxPaging; mm: MmStruct } {
  const l = bootLinux(createMachine({ ramBytes: mib * MiB }), { faultHandler });
  const mm = l.createAddressSpace()!;
  l.switchTo(mm);
  return { l, mm };
}

function pte(l: LinuxPaging, mm: MmStruct, va: number): number | null {
  const pde = l.machine.ram.read32(mm.cr3 + 4 * (va >>> 22));
  if ((pde & 1) === 0) return null;
  return l.machine.ram.read32((pde & ~0xfff) + 4 * ((va >>> 12) & 1023));
}

function segv(f: () => unknown): SegmentationFault {
  try {
    f();
  } catch (e) {
    if (e instanceof SegmentationFault) return e;
    throw e;
  }
  throw new Error("expected a segmentation fault, the access succeeded");
}

describe(`exercise 12, Linux: the fault handler (${implLabel(12)})`, () => {
  it("a write to a fresh page gets a zeroed frame of its own, writable", () => {
    const { l, mm } = setup();
    l.mmap(mm, 0x0804_8000, 2 * PAGE, RW);
    const free = l.zones.freeCounts();
    l.write32(0x0804_8010, 0xbeef, 3);
    const e = pte(l, mm, 0x0804_8000)!;
    expect(e & (PTE.P | PTE.RW | PTE.US)).toBe(PTE.P | PTE.RW | PTE.US);
    expect(l.machine.ram.read32((e & ~0xfff) + 0x10)).toBe(0xbeef);
    expect(l.read32(0x0804_8ffc, 3)).toBe(0);
    const now = l.zones.freeCounts();
    // A page table, the frame and the zero page: three pages from the zones.
    expect(free.DMA + free.NORMAL - now.DMA - now.NORMAL).toBe(3);
  });

  it("a read maps the zero page read-only; the first write copies it", () => {
    const { l, mm } = setup();
    l.mmap(mm, 0x1000_0000, 2 * PAGE, RW);
    expect(l.read32(0x1000_0000, 3)).toBe(0);
    expect(l.read32(0x1000_1000, 3)).toBe(0);
    const a = pte(l, mm, 0x1000_0000)!;
    expect(a & PTE.RW).toBe(0);
    expect(pte(l, mm, 0x1000_1000)! & ~0xfff).toBe(a & ~0xfff);
    l.write32(0x1000_0000, 9, 3);
    expect(pte(l, mm, 0x1000_0000)! & ~0xfff).not.toBe(a & ~0xfff);
    expect(l.read32(0x1000_1000, 3)).toBe(0);
    expect(l.stats).toMatchObject({ zeroPageMaps: 2, zeroPageCopies: 1, minorFaults: 3 });
  });

  it("refuses what the areas do not allow, as a segmentation fault naming the address", () => {
    const { l, mm } = setup();
    l.mmap(mm, 0x0800_0000, PAGE, PROT.READ);
    l.mmap(mm, 0x0900_0000, PAGE, PROT.NONE);
    expect(segv(() => l.read32(0x0700_0000, 3)).address).toBe(0x0700_0000);
    expect(segv(() => l.write32(0x0800_0000, 1, 3)).errorCode).toBe(PF_ERROR.W | PF_ERROR.U);
    segv(() => l.read32(0x0900_0000, 3));
    l.read32(0x0800_0000, 3);
    segv(() => l.write32(0x0800_0000, 1, 3)); // the zero page in a read-only area
  });

  it("the seed's example: a user page at 120 MiB and the direct map see the same bytes", () => {
    const { l, mm } = setup(512);
    l.mmap(mm, 120 * MiB, PAGE, RW);
    l.write32(120 * MiB, 0x5151, 3);
    const frame = pte(l, mm, 120 * MiB)! & ~0xfff;
    expect(l.read32(l.va(frame), 0)).toBe(0x5151);
  });

  it("munmap and teardown give back every frame the handler took (highmem too)", () => {
    const l = bootLinux(createMachine({ ramBytes: 1024 * MiB }), { faultHandler });
    const warm = l.createAddressSpace()!;
    l.switchTo(warm);
    l.mmap(warm, 0, PAGE, RW);
    l.read32(0, 3); // the zero page, made once for good
    l.switchTo(l.reference);
    l.destroyAddressSpace(warm);
    const before = l.zones.freeCounts();
    const mm = l.createAddressSpace()!;
    l.switchTo(mm);
    l.mmap(mm, 0x0040_0000, 4 * PAGE, RW);
    for (let i = 0; i < 4; i++) l.write32(0x0040_0000 + i * PAGE, i, 3);
    // Four frames and, with HIGHPTE (on by default with highmem), the page table: all highmem.
    expect(before.HIGHMEM - l.zones.freeCounts().HIGHMEM).toBe(5);
    l.munmap(mm, 0x0040_0000, 2 * PAGE);
    expect(before.HIGHMEM - l.zones.freeCounts().HIGHMEM).toBe(3);
    l.switchTo(l.reference);
    l.destroyAddressSpace(mm);
    expect(l.zones.freeCounts()).toEqual(before);
  });

  it("out of memory is a typed error and maps nothing", () => {
    const { l, mm } = setup(16);
    l.mmap(mm, 0x0040_0000, PAGE, RW);
    l.read32(0x0040_0000, 3);
    while (l.zones.allocPages(GFP.HIGHUSER, 0) !== null);
    const before = pte(l, mm, 0x0040_0000);
    let code: unknown;
    try {
      l.write32(0x0040_0000, 1, 3);
    } catch (e) {
      code = (e as { code?: unknown }).code;
    }
    expect(code).toBe("E_NO_MEMORY");
    expect(pte(l, mm, 0x0040_0000)).toBe(before);
  });
});
