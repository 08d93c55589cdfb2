/**
 * Fuzz: every public call of paging with bad values (the shared harness of
 * @mm386/hw-i386/testing) must throw a typed error with a code and change
 * nothing: page-directory and page-table words read physically, the page
 * allocators, CR3, the MMU counters and the TLB entries.
 * `MM386_DEEP=1` tries many more random values.
 *
 * The mapper's own helpers (kernelTablePhys, kernelPteVa, freeUserTable,
 * window) are ports for MapMem implementations that trust their caller, and
 * are not fuzzed here.
 */
import { createMachine, type Cpl, hex32, PDE, type PhysicalMemory } from "@mm386/hw-i386";
import { describeRefusals, type FuzzCall } from "@mm386/hw-i386/testing";
import { describe } from "vitest";
import {
  PTE_PRESENT as P,
  PTE_USER as U,
  PTE_WRITE as W,
  type Pagedir,
  type Paging,
  startPaging,
} from "../src/index.js";
import { bootLinux, type LinuxPaging, type MmStruct, PROT } from "../src/linux/index.js";
import {
  VirtMemManagerInit,
  WHITIX,
  type Whitix,
  type WhitixPageSource,
  type WhitixSpace,
  whitixPageSource,
} from "../src/whitix/index.js";

const MiB = 1024 * 1024;

/** A 32-bit address in either spelling: the MMU takes [-2^31, 2^32) (signed results of bit operators). */
const u32 = (v: unknown) =>
  Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 32;

/** A positive page count: legal even when it cannot be met. */
const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;

interface World {
  readonly p: Paging;
  readonly user: Pagedir;
  readonly frame: number;
}

/** 16 MiB, one user address space with one page mapped, one kernel page mapped. */
function world(): World {
  const m = createMachine({ ramBytes: 16 * MiB });
  const p = startPaging(m);
  const user = p.createAddressSpace()!;
  const frame = p.allocators.ppalloc(2, 2)!.start;
  p.mapMem(user, frame, 0x0040_0000, 1, P | W | U);
  const kva = p.allocators.vpalloc(1, 1)!.start;
  p.mapMem(null, frame + 4096, kva, 1, P | W);
  p.switchTo(user);
  p.probe(0x0040_0000, 3);
  return { p, user, frame };
}

/**
 * A 4 KiB frame as one string: cheap to compare, and a mismatch still shows which frame.
 * Read a word at a time: a snapshot is taken for every bad value, and a byte at a time
 * (readBytes) made the snapshots most of this file's time.
 */
function page(ram: PhysicalMemory, pa: number): string {
  const words = new Uint32Array(1024);
  for (let i = 0; i < 1024; i++) words[i] = ram.read32(pa + 4 * i);
  return Buffer.from(words.buffer).toString("base64");
}

/** Every word of every pagedir and of every page table they point to, read physically. */
function tables(p: Paging): string[] {
  const ram = p.machine.ram;
  const out: string[] = [];
  const seen = new Set<number>();
  for (const pd of p.pagedirs()) {
    const dir = Array.from({ length: 1024 }, (_, i) => ram.read32(pd.phys + 4 * i));
    out.push(`${hex32(pd.phys)} ${page(ram, pd.phys)}`);
    for (const pde of dir) {
      const t = (pde & 0xffff_f000) >>> 0;
      if ((pde & PDE.P) === 0 || (pde & PDE.PS) !== 0 || seen.has(t)) continue;
      seen.add(t);
      out.push(`${hex32(t)} ${page(ram, t)}`);
    }
  }
  return out;
}

function snapshot(w: World) {
  const { p } = w;
  return {
    tables: tables(p),
    pagedirs: p.pagedirs().map((pd) => [pd.phys, pd.virt, [...pd.vpde]]),
    kvpd: [...p.kvpd],
    free: [p.allocators.physical.freePages, p.allocators.kernel.freePages, w.user.vpa.freePages],
    cr3: p.mmu.cr3,
    current: p.current.phys,
    stats: { ...p.mmu.stats },
    tlb: p.mmu.tlb.entries().map((e) => ({ ...e })),
  };
}

const calls: FuzzCall<World>[] = [
  {
    name: "mapMem(pd, frame, 0x800000, 1, P|W|U)",
    call: (w, v) => w.p.mapMem(v as Pagedir, w.frame, 0x80_0000, 1, P | W | U),
  },
  {
    name: "mapMem(user, phys, 0x800000, 1, P|W|U)",
    call: (w, v) => w.p.mapMem(w.user, v as number, 0x80_0000, 1, P | W | U),
  },
  {
    name: "mapMem(user, frame, virt, 1, P|W|U)",
    call: (w, v) => w.p.mapMem(w.user, w.frame, v as number, 1, P | W | U),
  },
  {
    name: "mapMem(user, frame, 0x800000, nPages, P|W|U)",
    call: (w, v) => w.p.mapMem(w.user, w.frame, 0x80_0000, v as number, P | W | U),
  },
  {
    name: "mapMem(user, frame, 0x800000, 1, flags)",
    call: (w, v) => w.p.mapMem(w.user, w.frame, 0x80_0000, 1, v as number),
  },
  {
    name: "mapMem(null, frame, virt, 1, P|W) (kernel)",
    call: (w, v) => w.p.mapMem(null, w.frame, v as number, 1, P | W),
  },
  {
    name: "mapMem(user, frame, 0x400000, 1, flags) (unmap path)",
    call: (w, v) => w.p.mapMem(w.user, w.frame, 0x40_0000, 1, v as number),
  },
  { name: "switchTo(pd)", call: (w, v) => w.p.switchTo(v as Pagedir) },
  { name: "destroyAddressSpace(pd)", call: (w, v) => w.p.destroyAddressSpace(v as Pagedir) },
  { name: "dump(pd)", call: (w, v) => w.p.dump(v as Pagedir), accepts: (v) => v === undefined },
  {
    name: "formatDump(pd)",
    call: (w, v) => w.p.formatDump(v as Pagedir),
    accepts: (v) => v === undefined,
  },
  { name: "translate(va)", call: (w, v) => w.p.translate(v as number), accepts: u32 },
  {
    name: "translate(0x400000, pd)",
    call: (w, v) => w.p.translate(0x40_0000, v as Pagedir),
    accepts: (v) => v === undefined,
  },
  { name: "explain(va)", call: (w, v) => w.p.explain(v as number), accepts: u32 },
  { name: "probe(va, 0)", call: (w, v) => w.p.probe(v as number, 0), accepts: u32 },
  { name: "probe(0x400000, cpl)", call: (w, v) => w.p.probe(0x40_0000, v as Cpl) },
  {
    name: "probe(0x400000, 3, pd)",
    call: (w, v) => w.p.probe(0x40_0000, 3, v as Pagedir),
    accepts: (v) => v === undefined,
  },
  // The design interface (PagingDesign), in its own argument order.
  {
    name: "map(space, 0x800000, frame, 1, P|W|U)",
    call: (w, v) => w.p.map(v as Pagedir, 0x80_0000, w.frame, 1, P | W | U),
  },
  {
    name: "map(user, virt, frame, 1, P|W|U)",
    call: (w, v) => w.p.map(w.user, v as number, w.frame, 1, P | W | U),
  },
  {
    name: "map(user, 0x800000, phys, 1, P|W|U)",
    call: (w, v) => w.p.map(w.user, 0x80_0000, v as number, 1, P | W | U),
  },
  {
    name: "map(user, 0x800000, frame, nPages, P|W|U)",
    call: (w, v) => w.p.map(w.user, 0x80_0000, w.frame, v as number, P | W | U),
  },
  {
    name: "map(user, 0x800000, frame, 1, flags)",
    call: (w, v) => w.p.map(w.user, 0x80_0000, w.frame, 1, v as number),
  },
  { name: "unmap(space, 0x400000, 1)", call: (w, v) => w.p.unmap(v as Pagedir, 0x40_0000, 1) },
  { name: "unmap(user, virt, 1)", call: (w, v) => w.p.unmap(w.user, v as number, 1) },
  {
    name: "unmap(user, 0x400000, nPages)",
    call: (w, v) => w.p.unmap(w.user, 0x40_0000, v as number),
  },
  // A huge count is a count that cannot be met: null, like any other out-of-memory.
  { name: "allocFrames(n)", call: (w, v) => w.p.allocFrames(v as number), accepts: count },
  { name: "freeFrames(phys, 1)", call: (w, v) => w.p.freeFrames(v as number, 1) },
  { name: "freeFrames(frame, n)", call: (w, v) => w.p.freeFrames(w.frame, v as number) },
  {
    name: "allocKernelRegion(n)",
    call: (w, v) => w.p.allocKernelRegion(v as number),
    accepts: count,
  },
  { name: "freeKernelRegion(va, 1)", call: (w, v) => w.p.freeKernelRegion(v as number, 1) },
  // A fault is an outcome of the access, not a refusal: addresses are tried only when not 32-bit.
  { name: "read32(va, 3)", call: (w, v) => w.p.read32(v as number, 3), accepts: u32 },
  { name: "read32(0x400000, cpl)", call: (w, v) => w.p.read32(0x40_0000, v as Cpl) },
  {
    name: "write32(0x400000, value, 3)",
    call: (w, v) => w.p.write32(0x40_0000, v as number, 3),
    accepts: u32,
  },
];

describe("fuzz: Paging", () => {
  describeRefusals(world, snapshot, calls);
});

describe("fuzz: startPaging options", () => {
  const none = () => null;
  const start = (o: Record<string, unknown>) =>
    startPaging(createMachine({ ramBytes: 16 * MiB }), o);
  const optional = (v: unknown) => v === undefined;
  describeRefusals(
    none,
    none,
    [
      { name: "startPaging(machine)", call: (_, v) => startPaging(v as never) },
      { name: "startPaging(m, { split })", call: (_, v) => start({ split: v }), accepts: optional },
      {
        name: "startPaging(m, { kernelLoad })",
        call: (_, v) => start({ kernelLoad: v }),
        accepts: optional,
      },
      {
        name: "startPaging(m, { kernelSize })",
        call: (_, v) => start({ kernelSize: v }),
        accepts: optional,
      },
      {
        name: "startPaging(m, { mapMem })",
        call: (_, v) => start({ mapMem: v }),
        accepts: optional,
      },
    ],
    { runs: 5 },
  );
});

// ------------------------------------------------------------------ Whitix

interface WhitixWorld {
  readonly w: Whitix;
  readonly user: WhitixSpace;
  readonly other: WhitixSpace;
  readonly frame: number;
  readonly heap: number;
  readonly src: WhitixPageSource;
}

/** 16 MiB, two user spaces (one current, with a page), a kernel region mapped, a heap page. */
function whitixWorld(): WhitixWorld {
  const m = createMachine({ ramBytes: 16 * MiB });
  const w = VirtMemManagerInit(m);
  const user = w.createAddressSpace()!;
  const other = w.createAddressSpace()!;
  const frame = w.allocFrames(2)!;
  w.map(user, 0x0080_0000, frame, 1, P | W | U);
  const kva = w.allocKernelRegion(2)!;
  w.map(null, kva, frame + 4096, 1, P | W);
  const src = whitixPageSource(w);
  const heap = src.allocPages(1)!;
  w.switchTo(user);
  w.read32(0x0080_0000, 3);
  return { w, user, other, frame, heap, src };
}

/** Every word of every directory and the tables they point at (the window's PDE 1023 aside), read physically. */
function whitixTables(w: Whitix): string[] {
  const ram = w.machine.ram;
  const out: string[] = [];
  const seen = new Set<number>();
  for (const s of w.addressSpaces()) {
    out.push(`${hex32(s.cr3)} ${page(ram, s.cr3)}`);
    for (let r = 0; r < 1023; r++) {
      const pde = ram.read32(s.cr3 + 4 * r);
      const t = (pde & 0xffff_f000) >>> 0;
      if ((pde & PDE.P) === 0 || seen.has(t)) continue;
      seen.add(t);
      out.push(`${hex32(t)} ${page(ram, t)}`);
    }
  }
  return out;
}

function whitixSnapshot(x: WhitixWorld) {
  const { w } = x;
  return {
    tables: whitixTables(w),
    spaces: w.addressSpaces().map((s) => s.cr3),
    regions: w.kernelRegions(),
    free: w.allocators.physical.freePages,
    cr3: w.mmu.cr3,
    current: w.current.cr3,
    stats: { ...w.mmu.stats },
    tlb: w.mmu.tlb.entries().map((e) => ({ ...e })),
  };
}

/** An address inside 4 GiB, in the unsigned spelling Whitix takes. */
const addr = (v: unknown) =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32;
const optional = (v: unknown) => v === undefined;
const HEAP_END = WHITIX.HEAP_END;

const whitixCalls: FuzzCall<WhitixWorld>[] = [
  {
    name: "map(space, ...)",
    call: (x, v) => x.w.map(v as WhitixSpace, 0x90_0000, x.frame, 1, P | U),
  },
  { name: "map(user, virt, ...)", call: (x, v) => x.w.map(x.user, v as number, x.frame, 1, P | U) },
  {
    name: "map(user, 0x900000, phys, ...)",
    call: (x, v) => x.w.map(x.user, 0x90_0000, v as number, 1, P | U),
  },
  {
    name: "map(user, 0x900000, frame, nPages, ...)",
    call: (x, v) => x.w.map(x.user, 0x90_0000, x.frame, v as number, P | U),
  },
  {
    name: "map(user, 0x900000, frame, 1, flags)",
    call: (x, v) => x.w.map(x.user, 0x90_0000, x.frame, 1, v as number),
  },
  {
    name: "map(other, 0x900000, frame, 1, flags) (not current)",
    call: (x, v) => x.w.map(x.other, 0x90_0000, x.frame, 1, v as number),
  },
  {
    name: "map(null, virt, frame, 1, P|W) (kernel)",
    call: (x, v) => x.w.map(null, v as number, x.frame, 1, P | W),
  },
  { name: "unmap(space, 0x800000, 1)", call: (x, v) => x.w.unmap(v as WhitixSpace, 0x80_0000, 1) },
  { name: "unmap(user, virt, 1)", call: (x, v) => x.w.unmap(x.user, v as number, 1) },
  {
    name: "unmap(user, 0x800000, nPages)",
    call: (x, v) => x.w.unmap(x.user, 0x80_0000, v as number),
  },
  {
    name: "VirtMemMapPage(va, frame, P|W)",
    call: (x, v) => x.w.VirtMemMapPage(v as number, x.frame, P | W),
  },
  {
    name: "VirtMemMapPage(0xC1000000, pa, P|W)",
    call: (x, v) => x.w.VirtMemMapPage(0xc100_0000, v as number, P | W),
  },
  {
    name: "VirtMemMapPage(0xC1000000, frame, flags)",
    call: (x, v) => x.w.VirtMemMapPage(0xc100_0000, x.frame, v as number),
  },
  { name: "VirtMapPhysPage(va, P|W)", call: (x, v) => x.w.VirtMapPhysPage(v as number, P | W) },
  {
    name: "VirtMapPhysPage(0xC1000000, flags)",
    call: (x, v) => x.w.VirtMapPhysPage(0xc100_0000, v as number),
  },
  { name: "VirtUnmapPhysPage(va)", call: (x, v) => x.w.VirtUnmapPhysPage(v as number) },
  {
    name: "VirtMapPhysRange(start, ...)",
    call: (x, v) => x.w.VirtMapPhysRange(v as number, HEAP_END, 1, P | W),
  },
  {
    name: "VirtMapPhysRange(heap, end, ...)",
    call: (x, v) => x.w.VirtMapPhysRange(WHITIX.HEAP_START, v as number, 1, P | W),
  },
  {
    name: "VirtMapPhysRange(heap, end, n, ...)",
    call: (x, v) => x.w.VirtMapPhysRange(WHITIX.HEAP_START, HEAP_END, v as number, P | W),
  },
  {
    name: "VirtMapPhysRange(heap, end, 1, flags)",
    call: (x, v) => x.w.VirtMapPhysRange(WHITIX.HEAP_START, HEAP_END, 1, v as number),
  },
  { name: "VirtAllocateTemp(phys)", call: (x, v) => x.w.VirtAllocateTemp(v as number) },
  { name: "VirtFreeTemp(va)", call: (x, v) => x.w.VirtFreeTemp(v as number) },
  { name: "VirtSetCurrent(space)", call: (x, v) => x.w.VirtSetCurrent(v as WhitixSpace) },
  { name: "switchTo(space)", call: (x, v) => x.w.switchTo(v as WhitixSpace) },
  { name: "destroyAddressSpace(space)", call: (x, v) => x.w.destroyAddressSpace(v as WhitixSpace) },
  { name: "allocFrames(n)", call: (x, v) => x.w.allocFrames(v as number), accepts: count },
  { name: "freeFrames(phys, 1)", call: (x, v) => x.w.freeFrames(v as number, 1) },
  { name: "freeFrames(frame, n)", call: (x, v) => x.w.freeFrames(x.frame, v as number) },
  {
    name: "allocKernelRegion(n)",
    call: (x, v) => x.w.allocKernelRegion(v as number),
    accepts: count,
  },
  { name: "freeKernelRegion(start, 1)", call: (x, v) => x.w.freeKernelRegion(v as number, 1) },
  {
    name: "freeKernelRegion(heap, n)",
    call: (x, v) => x.w.freeKernelRegion(WHITIX.HEAP_START, v as number),
  },
  { name: "translate(va)", call: (x, v) => x.w.translate(v as number), accepts: addr },
  {
    name: "translate(0x800000, space)",
    call: (x, v) => x.w.translate(0x80_0000, v as WhitixSpace),
    accepts: optional,
  },
  { name: "dump(space)", call: (x, v) => x.w.dump(v as WhitixSpace), accepts: optional },
  { name: "explain(va)", call: (x, v) => x.w.explain(v as number), accepts: addr },
  {
    name: "explain(0x800000, space)",
    call: (x, v) => x.w.explain(0x80_0000, v as WhitixSpace),
    accepts: optional,
  },
  { name: "probe(va, 0)", call: (x, v) => x.w.probe(v as number, 0), accepts: addr },
  { name: "probe(0x800000, cpl)", call: (x, v) => x.w.probe(0x80_0000, v as Cpl) },
  {
    name: "probe(0x800000, 3, space)",
    call: (x, v) => x.w.probe(0x80_0000, 3, v as WhitixSpace),
    accepts: optional,
  },
  { name: "pageSource.allocPages(n)", call: (x, v) => x.src.allocPages(v as number) },
  { name: "pageSource.freePages(va, 1)", call: (x, v) => x.src.freePages(v as number, 1) },
  { name: "pageSource.freePages(heap, n)", call: (x, v) => x.src.freePages(x.heap, v as number) },
];

describe("fuzz: Whitix", () => {
  describeRefusals(whitixWorld, whitixSnapshot, whitixCalls);
});

describe("fuzz: VirtMemManagerInit options", () => {
  const none = () => null;
  const init = (o: Record<string, unknown>) =>
    VirtMemManagerInit(createMachine({ ramBytes: 16 * MiB }), o);
  describeRefusals(
    none,
    none,
    [
      { name: "VirtMemManagerInit(machine)", call: (_, v) => VirtMemManagerInit(v as never) },
      {
        name: "VirtMemManagerInit(m, options)",
        call: (_, v) => VirtMemManagerInit(createMachine(), v as never),
        // Any object that is not an array is an options object (its unknown keys ignored).
        accepts: (v) =>
          v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v)),
      },
      {
        name: "VirtMemManagerInit(m, { kernelCode })",
        call: (_, v) => init({ kernelCode: v }),
        accepts: optional,
      },
      {
        name: "VirtMemManagerInit(m, { kernelData })",
        call: (_, v) => init({ kernelData: v }),
        accepts: optional,
      },
      {
        name: "VirtMemManagerInit(m, { rangeAllocator })",
        call: (_, v) => init({ rangeAllocator: v }),
        accepts: optional,
      },
    ],
    { runs: 5 },
  );
});

// ------------------------------------------------------------------ Linux

interface LinuxWorld {
  readonly l: LinuxPaging;
  readonly mm: MmStruct;
  readonly frame: number;
  readonly region: number;
}

/** 16 MiB, one user space with a page mapped (current), one vmalloc page mapped. */
function linuxWorld(): LinuxWorld {
  const l = bootLinux(createMachine({ ramBytes: 16 * MiB }));
  const mm = l.createAddressSpace()!;
  const frame = l.allocFrames(2)!;
  l.map(mm, 0x0040_0000, frame, 1, P | W | U);
  const region = l.allocKernelRegion(1)!;
  l.map(null, region, frame + 4096, 1, P | W);
  l.switchTo(mm);
  l.read32(0x0040_0000, 3);
  // An area with one page touched (a frame of its own) and one not.
  l.mmap(mm, AREA, 2 * 4096, PROT.READ | PROT.WRITE);
  l.write32(AREA, 1, 3);
  return { l, mm, frame, region };
}

/** Every directory and the tables they point to, read physically, plus allocator and MMU state. */
function linuxSnapshot(w: LinuxWorld) {
  const { l } = w;
  const ram = l.machine.ram;
  const out: string[] = [];
  const seen = new Set<number>();
  for (const mm of l.addressSpaces()) {
    out.push(`${hex32(mm.cr3)} ${page(ram, mm.cr3)}`);
    for (let r = 0; r < 1024; r++) {
      const pde = ram.read32(mm.cr3 + 4 * r);
      const t = (pde & 0xffff_f000) >>> 0;
      if ((pde & PDE.P) === 0 || (pde & PDE.PS) !== 0 || seen.has(t)) continue;
      seen.add(t);
      out.push(`${hex32(t)} ${page(ram, t)}`);
    }
  }
  return {
    tables: out,
    spaces: l.addressSpaces().map((mm) => mm.cr3),
    zones: l.zones.zones.map((z) => z.buddy?.blocks() ?? null),
    regions: l.vmRegions(),
    cr3: l.mmu.cr3,
    cr4: l.mmu.cr4,
    current: l.current.cr3,
    stats: { ...l.mmu.stats },
    design: l.stats,
    areas: l.vmAreas(w.mm),
    tlb: l.mmu.tlb.entries().map((e) => ({ ...e })),
  };
}

const positive = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
/** A page-aligned address in [lo, hi). */
const pageIn = (v: unknown, lo: number, hi: number) =>
  Number.isSafeInteger(v) &&
  (v as number) % 4096 === 0 &&
  (v as number) >= lo &&
  (v as number) < hi;
const isProt = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 7;
const AREA = 0x0100_0000;

const linuxCalls: FuzzCall<LinuxWorld>[] = [
  {
    name: "map(space, 0x800000, frame, 1, P|W|U)",
    call: (w, v) => w.l.map(v as MmStruct, 0x80_0000, w.frame, 1, P | W | U),
  },
  {
    name: "map(mm, virt, frame, 1, P|W|U)",
    call: (w, v) => w.l.map(w.mm, v as number, w.frame, 1, P | W | U),
  },
  {
    name: "map(mm, 0x800000, phys, 1, P|W|U)",
    call: (w, v) => w.l.map(w.mm, 0x80_0000, v as number, 1, P | W | U),
  },
  {
    name: "map(mm, 0x800000, frame, nPages, P|W|U)",
    call: (w, v) => w.l.map(w.mm, 0x80_0000, w.frame, v as number, P | W | U),
  },
  {
    name: "map(mm, 0x800000, frame, 1, flags)",
    call: (w, v) => w.l.map(w.mm, 0x80_0000, w.frame, 1, v as number),
  },
  {
    name: "map(null, virt, frame, 1, P|W) (kernel)",
    call: (w, v) => w.l.map(null, v as number, w.frame, 1, P | W),
  },
  { name: "unmap(mm, virt, 1)", call: (w, v) => w.l.unmap(w.mm, v as number, 1) },
  { name: "unmap(mm, 0x400000, nPages)", call: (w, v) => w.l.unmap(w.mm, 0x40_0000, v as number) },
  { name: "unmap(space, 0x400000, 1)", call: (w, v) => w.l.unmap(v as MmStruct, 0x40_0000, 1) },
  { name: "switchTo(space)", call: (w, v) => w.l.switchTo(v as MmStruct) },
  {
    name: "destroyAddressSpace(space)",
    call: (w, v) => w.l.destroyAddressSpace(v as MmStruct),
  },
  {
    name: "allocFrames(n)",
    call: (w, v) => w.l.allocFrames(v as number),
    accepts: (v) => positive(v) && (v as number) > 1024,
  },
  { name: "freeFrames(phys, 1)", call: (w, v) => w.l.freeFrames(v as number, 1) },
  { name: "freeFrames(frame, n)", call: (w, v) => w.l.freeFrames(w.frame, v as number) },
  {
    name: "allocKernelRegion(n)",
    call: (w, v) => w.l.allocKernelRegion(v as number),
    accepts: (v) => positive(v) && (v as number) >= 2 ** 20,
  },
  { name: "freeKernelRegion(start, 1)", call: (w, v) => w.l.freeKernelRegion(v as number, 1) },
  {
    name: "freeKernelRegion(region, n)",
    call: (w, v) => w.l.freeKernelRegion(w.region, v as number),
  },
  { name: "translate(va)", call: (w, v) => w.l.translate(v as number), accepts: u32 },
  {
    name: "translate(0x400000, space)",
    call: (w, v) => w.l.translate(0x40_0000, v as MmStruct),
    accepts: (v) => v === undefined,
  },
  {
    name: "explain(va)",
    call: (w, v) => w.l.explain(v as number),
    accepts: (v) => u32(v) && (v as number) >= 0,
  },
  { name: "dump(space)", call: (w, v) => w.l.dump(v as MmStruct), accepts: (v) => v === undefined },
  { name: "read32(0x400000, cpl)", call: (w, v) => w.l.read32(0x40_0000, v as Cpl) },
  {
    name: "write32(0x400000, value, 3)",
    call: (w, v) => w.l.write32(0x40_0000, v as number, 3),
    accepts: (v) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 32,
  },
  { name: "va(phys)", call: (w, v) => w.l.va(v as number) },
  {
    name: "mmap(space, 0x2000000, 4096, RW)",
    call: (w, v) => w.l.mmap(v as MmStruct, 0x200_0000, 4096, 3),
  },
  {
    name: "mmap(mm, start, 4096, RW)",
    call: (w, v) => w.l.mmap(w.mm, v as number, 4096, 3),
    accepts: (v) => pageIn(v, 0, 0xc000_0000),
  },
  {
    name: "mmap(mm, 0x2000000, length, RW)",
    call: (w, v) => w.l.mmap(w.mm, 0x200_0000, v as number, 3),
    accepts: (v) => positive(v) && (v as number) <= 0xbe00_0000,
  },
  {
    name: "mmap(mm, 0x2000000, 4096, prot)",
    call: (w, v) => w.l.mmap(w.mm, 0x200_0000, 4096, v as number),
    accepts: isProt,
  },
  {
    name: "munmap(mm, start, 4096)",
    call: (w, v) => w.l.munmap(w.mm, v as number, 4096),
    accepts: (v) => pageIn(v, 0, 0xc000_0000),
  },
  {
    name: "munmap(mm, AREA, length)",
    call: (w, v) => w.l.munmap(w.mm, AREA, v as number),
    accepts: (v) => positive(v) && (v as number) <= 0xc000_0000 - AREA,
  },
  {
    name: "munmap(space, AREA, 4096)",
    call: (w, v) => w.l.munmap(v as MmStruct, AREA, 4096),
  },
  {
    name: "mprotect(mm, AREA, 4096, prot)",
    call: (w, v) => w.l.mprotect(w.mm, AREA, 4096, v as number),
    accepts: isProt,
  },
  {
    name: "mprotect(mm, start, 4096, READ)",
    call: (w, v) => w.l.mprotect(w.mm, v as number, 4096, 1),
    accepts: (v) => pageIn(v, AREA, AREA + 2 * 4096),
  },
  { name: "vmAreas(space)", call: (w, v) => w.l.vmAreas(v as MmStruct) },
  { name: "pa(va)", call: (w, v) => w.l.pa(v as number) },
];

// ----------------------------------------------------------- Linux highmem

interface HighWorld {
  readonly l: LinuxPaging;
  /** A highmem page kmapped once (pkmap_count 2). */
  readonly held: number;
  /** A highmem page in the KM_USER0 slot. */
  readonly atomic: number;
  /** A vmalloc'd area of 2 pages. */
  readonly area: number;
}

const HIGH = 896 * MiB;
const USER0 = 3;

/** 1 GiB (PSE, for a fast boot): one page kmapped, one in KM_USER0, one vmalloc area, touched. */
function highWorld(): HighWorld {
  const l = bootLinux(createMachine({ ramBytes: 1024 * MiB }), { pse: true });
  const held = HIGH + 0x10_000;
  l.read32(l.kmap(held)!, 0);
  const atomic = HIGH + 0x20_000;
  l.read32(l.kmapAtomic(atomic, USER0), 0);
  const area = l.vmalloc(2 * 4096)!;
  l.write32(area, 5, 0);
  return { l, held, atomic, area };
}

function highSnapshot(w: HighWorld) {
  const { l } = w;
  // One string per table: a deep comparison of 1024-number arrays per bad value was slow.
  const words = (va: number) =>
    Array.from({ length: 1024 }, (_, i) => hex32(l.mmu.read32(va + 4 * i))).join(" ");
  return {
    pkmap: l.highmem.pkmapSlots(),
    pkmapTable: words(l.boot.pkmapPageTable),
    fixmapTable: words(l.boot.fixmapPageTable),
    atomic: Array.from({ length: 13 }, (_, t) => l.highmem.atomicSlot(t)),
    highmem: l.highmem.stats,
    zones: l.zones.freeCounts(),
    regions: l.vmRegions(),
    swapper: words(l.reference.pgd),
    design: l.stats,
    tlb: l.mmu.tlb.entries().map((e) => ({ ...e })),
  };
}

const highCalls: FuzzCall<HighWorld>[] = [
  {
    name: "kmap(page)",
    call: (w, v) => w.l.kmap(v as number),
    accepts: (v) => pageIn(v, 0, 1024 * MiB),
  },
  {
    name: "kunmap(page)",
    call: (w, v) => w.l.kunmap(v as number),
    accepts: (v) => pageIn(v, 0, HIGH) || v === HIGH + 0x10_000,
  },
  {
    name: "kmapAtomic(page, KM_USER1)",
    call: (w, v) => w.l.kmapAtomic(v as number, USER0 + 1),
    accepts: (v) => pageIn(v, 0, 1024 * MiB),
  },
  {
    name: "kmapAtomic(high page, type)",
    call: (w, v) => w.l.kmapAtomic(HIGH + 0x30_000, v as number),
    accepts: (v) =>
      Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < 13 && v !== USER0,
  },
  {
    name: "kunmapAtomic(addr, KM_USER0)",
    call: (w, v) => w.l.kunmapAtomic(v as number, USER0),
    accepts: (v) =>
      Number.isSafeInteger(v) &&
      (((v as number) >= 0xc000_0000 && (v as number) < 0xf800_0000) ||
        ((v as number) >= 0xffff_b000 && (v as number) < 0xffff_c000)),
  },
  {
    name: "kunmapAtomic(KM_USER0 slot, type)",
    call: (w, v) => w.l.kunmapAtomic(0xffff_b000, v as number),
    accepts: (v) => v === USER0,
  },
  { name: "vmalloc(size)", call: (w, v) => w.l.vmalloc(v as number), accepts: positive },
  {
    name: "vfree(addr)",
    call: (w, v) => w.l.vfree(v as number),
    accepts: (v) => v === 0xf880_0000,
  },
  {
    name: "highmem.isHighmem(page)",
    call: (w, v) => w.l.highmem.isHighmem(v as number),
    accepts: (v) => pageIn(v, 0, 1024 * MiB),
  },
  {
    name: "highmem.pageAddress(page)",
    call: (w, v) => w.l.highmem.pageAddress(v as number),
    accepts: (v) => pageIn(v, 0, 1024 * MiB),
  },
  {
    name: "highmem.pkmapAddr(nr)",
    call: (w, v) => w.l.highmem.pkmapAddr(v as number),
    accepts: (v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < 1024,
  },
  {
    name: "highmem.atomicSlot(type)",
    call: (w, v) => w.l.highmem.atomicSlot(v as number),
    accepts: (v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < 13,
  },
];

describe("fuzz: Linux highmem and vmalloc", () => {
  describeRefusals(highWorld, highSnapshot, highCalls, { runs: 5 });
});

describe("fuzz: Linux paging", () => {
  describeRefusals(linuxWorld, linuxSnapshot, linuxCalls);
});

describe("fuzz: bootLinux options", () => {
  const none = () => null;
  const start = (o: Record<string, unknown>) => bootLinux(createMachine({ ramBytes: 16 * MiB }), o);
  const optional = (v: unknown) => v === undefined;
  describeRefusals(
    none,
    none,
    [
      { name: "bootLinux(machine)", call: (_, v) => bootLinux(v as never) },
      {
        name: "bootLinux(m, options)",
        call: (_, v) => bootLinux(createMachine(), v as never),
        // {} means every default.
        accepts: (v) =>
          v === undefined ||
          (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0),
      },
      {
        name: "bootLinux(m, { pageOffset })",
        call: (_, v) => start({ pageOffset: v }),
        accepts: optional,
      },
      {
        name: "bootLinux(m, { pse })",
        call: (_, v) => start({ pse: v }),
        accepts: (v) => v === undefined || typeof v === "boolean",
      },
      {
        name: "bootLinux(m, { pge })",
        call: (_, v) => start({ pge: v }),
        accepts: (v) => v === undefined || typeof v === "boolean",
      },
      {
        name: "bootLinux(m, { highpte })",
        call: (_, v) => start({ highpte: v }),
        accepts: (v) => v === undefined || typeof v === "boolean",
      },
      {
        name: "bootLinux(m, { faultHandler })",
        call: (_, v) => start({ faultHandler: v }),
        accepts: optional,
      },
      {
        name: "bootLinux(m, { kernelSize })",
        call: (_, v) => start({ kernelSize: v }),
        accepts: optional,
      },
    ],
    { runs: 5 },
  );
});
