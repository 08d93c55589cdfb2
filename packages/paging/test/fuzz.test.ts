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

/** A 4 KiB frame as one string: cheap to compare, and a mismatch still shows which frame. */
function page(ram: PhysicalMemory, pa: number): string {
  return Buffer.from(ram.readBytes(pa, 4096)).toString("base64");
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
