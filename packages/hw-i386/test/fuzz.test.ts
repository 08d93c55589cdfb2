/**
 * Fuzz: every public call of the machine with bad values (the shared harness of
 * @mm386/hw-i386/testing) must throw a typed error with a code and change
 * nothing: RAM words, control registers, counters and TLB entries.
 * `MM386_DEEP=1` tries many more random values.
 */
import { describe } from "vitest";
import {
  CR0,
  createMachine,
  type Machine,
  Mmu,
  PhysicalMemory,
  PTE,
  SetAssociativeTlb,
  type Tlb,
  UnboundedTlb,
} from "../src/index.js";
import { describeRefusals, type FuzzCall } from "../src/testing.js";

/** A small paged machine: pd 0x1000, table 0x2000, va 0x5000 -> 0x7000, one TLB entry. */
function machine(tlb?: Tlb): Machine {
  const m = createMachine({ ramBytes: 16 * 1024 * 1024, ...(tlb ? { tlb } : {}) });
  m.ram.write32(0x1000, 0x2000 | PTE.P | PTE.RW | PTE.US);
  m.ram.write32(0x2000 + 4 * 5, 0x7000 | PTE.P | PTE.RW | PTE.US);
  m.ram.write32(0x7000, 0x1234_5678);
  m.mmu.loadCr3(0x1000);
  m.mmu.loadCr0(CR0.PE | CR0.PG);
  m.mmu.read32(0x5000);
  return m;
}

const WATCHED = [0x0, 0x1000, 0x2000, 0x2014, 0x5000, 0x7000, 0x7ffc, 0x8000];

/** Everything the machine shows: watched words, touched frames, CRs, counters, TLB. */
function snapshot(m: Machine) {
  return {
    words: WATCHED.map((pa) => m.ram.read32(pa)),
    touched: m.ram.touchedFrames,
    cr: [m.mmu.cr0, m.mmu.cr2, m.mmu.cr3, m.mmu.cr4],
    stats: { ...m.mmu.stats },
    tlb: m.mmu.tlb.entries().map((e) => ({ ...e })),
  };
}

/**
 * A 32-bit value in either spelling: the machine takes integers in
 * [-2^31, 2^32), since JavaScript's bit operators give signed results
 * (`0x80000000 | 1` is negative). Those are legal addresses, not bad ones.
 */
const u32 = (v: unknown) =>
  Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 32;
/** A value that fits `size` bytes, signed or unsigned. */
const fits = (size: number) => (v: unknown) =>
  Number.isInteger(v) && (v as number) >= -(2 ** (8 * size - 1)) && (v as number) < 2 ** (8 * size);

/** A missing CPL is CPL 0, the default. */
const defaultCpl = (v: unknown) => v === undefined;

const ramCalls: FuzzCall<Machine>[] = [
  { name: "ram.read8(pa)", call: (m, v) => m.ram.read8(v as number), accepts: u32 },
  { name: "ram.read16(pa)", call: (m, v) => m.ram.read16(v as number), accepts: u32 },
  { name: "ram.read32(pa)", call: (m, v) => m.ram.read32(v as number), accepts: u32 },
  { name: "ram.write8(pa, 1)", call: (m, v) => m.ram.write8(v as number, 1), accepts: u32 },
  { name: "ram.write16(pa, 1)", call: (m, v) => m.ram.write16(v as number, 1), accepts: u32 },
  { name: "ram.write32(pa, 1)", call: (m, v) => m.ram.write32(v as number, 1), accepts: u32 },
  {
    name: "ram.write8(0x7000, value)",
    call: (m, v) => m.ram.write8(0x7000, v as number),
    accepts: fits(1),
  },
  {
    name: "ram.write16(0x7000, value)",
    call: (m, v) => m.ram.write16(0x7000, v as number),
    accepts: fits(2),
  },
  {
    name: "ram.write32(0x7000, value)",
    call: (m, v) => m.ram.write32(0x7000, v as number),
    accepts: fits(4),
  },
  { name: "ram.readBytes(pa, 4)", call: (m, v) => m.ram.readBytes(v as number, 4), accepts: u32 },
  { name: "ram.readBytes(0x7000, length)", call: (m, v) => m.ram.readBytes(0x7000, v as number) },
  { name: "ram.clearFrame(pfn)", call: (m, v) => m.ram.clearFrame(v as number) },
];

const mmuCalls: FuzzCall<Machine>[] = [
  { name: "mmu.loadCr0(value)", call: (m, v) => m.mmu.loadCr0(v as number) },
  { name: "mmu.loadCr2(value)", call: (m, v) => m.mmu.loadCr2(v as number), accepts: u32 },
  { name: "mmu.loadCr3(value)", call: (m, v) => m.mmu.loadCr3(v as number), accepts: u32 },
  { name: "mmu.loadCr4(value)", call: (m, v) => m.mmu.loadCr4(v as number) },
  { name: "mmu.invlpg(va)", call: (m, v) => m.mmu.invlpg(v as number), accepts: u32 },
  { name: "mmu.read8(va)", call: (m, v) => m.mmu.read8(v as number), accepts: u32 },
  { name: "mmu.read16(va)", call: (m, v) => m.mmu.read16(v as number), accepts: u32 },
  { name: "mmu.read32(va)", call: (m, v) => m.mmu.read32(v as number), accepts: u32 },
  {
    name: "mmu.read32(0x5000, cpl)",
    call: (m, v) => m.mmu.read32(0x5000, v as 0),
    accepts: defaultCpl,
  },
  { name: "mmu.write8(va, 1)", call: (m, v) => m.mmu.write8(v as number, 1), accepts: u32 },
  { name: "mmu.write16(va, 1)", call: (m, v) => m.mmu.write16(v as number, 1), accepts: u32 },
  { name: "mmu.write32(va, 1)", call: (m, v) => m.mmu.write32(v as number, 1), accepts: u32 },
  {
    name: "mmu.write32(0x5000, value)",
    call: (m, v) => m.mmu.write32(0x5000, v as number),
    accepts: fits(4),
  },
  {
    name: "mmu.write8(0x5000, value)",
    call: (m, v) => m.mmu.write8(0x5000, v as number),
    accepts: fits(1),
  },
  {
    name: "mmu.write32(0x5000, 1, cpl)",
    call: (m, v) => m.mmu.write32(0x5000, 1, v as 0),
    accepts: defaultCpl,
  },
  { name: "mmu.read(va, 4)", call: (m, v) => m.mmu.read(v as number, 4), accepts: u32 },
  { name: "mmu.read(0x5000, size)", call: (m, v) => m.mmu.read(0x5000, v as 4) },
  { name: "mmu.write(0x5000, size, 1)", call: (m, v) => m.mmu.write(0x5000, v as 4, 1) },
  {
    name: "mmu.copyWords(dst, 0x5000, 1)",
    call: (m, v) => m.mmu.copyWords(v as number, 0x5000, 1),
    accepts: u32,
  },
  {
    name: "mmu.copyWords(0x5000, src, 1)",
    call: (m, v) => m.mmu.copyWords(0x5000, v as number, 1),
    accepts: u32,
  },
  {
    name: "mmu.copyWords(0x5000, 0x5004, words)",
    call: (m, v) => m.mmu.copyWords(0x5000, 0x5004, v as number),
  },
  {
    name: "mmu.copyWords(0x5000, 0x5004, 1, cpl)",
    call: (m, v) => m.mmu.copyWords(0x5000, 0x5004, 1, v as 0),
    accepts: defaultCpl,
  },
  {
    name: "mmu.subscribe(listener)",
    call: (m, v) => m.mmu.subscribe(v as () => void),
    accepts: (v) => typeof v === "function",
  },
];

describe("fuzz: PhysicalMemory", () => {
  describeRefusals(() => machine(), snapshot, ramCalls);
});

describe("fuzz: Mmu", () => {
  describeRefusals(() => machine(), snapshot, mmuCalls);
});

describe("fuzz: TLBs through the MMU", () => {
  // The same calls on a one-entry TLB and an unbounded one: a refused call
  // must not evict, insert or flush anything either.
  const some = mmuCalls.filter((c) => /invlpg|read32\(va\)|write32\(va|loadCr3/.test(c.name));
  describe("1-entry", () => {
    describeRefusals(() => machine(new SetAssociativeTlb({ entries: 1, ways: 1 })), snapshot, some);
  });
  describe("unbounded", () => {
    describeRefusals(() => machine(new UnboundedTlb()), snapshot, some);
  });
});

/** Constructors: nothing to change, but the refusal must be typed. */
const none = () => null;
describe("fuzz: constructors and options", () => {
  describeRefusals(none, none, [
    {
      name: "new PhysicalMemory({ installedBytes })",
      call: (_, v) => new PhysicalMemory({ installedBytes: v as number }),
      accepts: (v) => v === undefined,
    },
    {
      name: "new PhysicalMemory({ memoryMap })",
      call: (_, v) => new PhysicalMemory({ memoryMap: v as [] }),
      accepts: (v) => v === undefined,
    },
    { name: "new Mmu(ram)", call: (_, v) => new Mmu(v as PhysicalMemory) },
    {
      name: "new Mmu(ram, { tlb })",
      call: (_, v) => new Mmu(new PhysicalMemory(), { tlb: v as Tlb }),
      accepts: (v) => v === undefined,
    },
    {
      name: "new SetAssociativeTlb({ entries })",
      call: (_, v) => new SetAssociativeTlb({ entries: v as number }),
      accepts: (v) => v === undefined,
    },
    {
      name: "new SetAssociativeTlb({ ways })",
      call: (_, v) => new SetAssociativeTlb({ ways: v as number }),
      accepts: (v) => v === undefined,
    },
    {
      name: "new SetAssociativeTlb({ replacement })",
      call: (_, v) => new SetAssociativeTlb({ replacement: v as "lru" }),
      accepts: (v) => v === undefined,
    },
    {
      name: "new SetAssociativeTlb({ seed })",
      call: (_, v) => new SetAssociativeTlb({ seed: v as number }),
      accepts: (v) => v === undefined || Number.isSafeInteger(v), // any integer seeds the generator
    },
    {
      name: "createMachine({ ramBytes })",
      call: (_, v) => createMachine({ ramBytes: v as number }),
      accepts: (v) => v === undefined,
    },
  ]);
});
