/**
 * The MMU's fast path (fast-path.ts) must change speed, never behaviour. Two
 * identical machines run the same random programs; on one the fast path is
 * off (an event listener forces every access down the general path). Every
 * result, fault, register, counter, TLB entry and memory word must agree.
 *
 * The programs reach everything the fast path does: frames in the flat part
 * of RAM (cached) and in the sparse part (not cached), RAM becoming flat in the
 * middle of a run, 4 MiB pages, copyWords, WP and PGE changes, and every
 * shipped TLB, LRU included (whose recency the fast path must report).
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  CR0,
  CR4,
  type Cpl,
  Mmu,
  PageFault,
  PhysicalMemory,
  SetAssociativeTlb,
  type Tlb,
  UnboundedTlb,
} from "../src/index.js";
import { FLAT_AFTER, HINT, HINTS } from "../src/fast-path.js";
import { ENTRY } from "../src/packed.js";
import { codeOf } from "../src/testing.js";

const PD = 0x1000;
const PT = [0x2000, 0x3000];
// Four pages in each of two 4 MiB regions, eight candidate frames: six in the
// part of RAM that a new machine keeps flat (below 256 KiB), two above it.
const PAGES = [0, 1, 2, 3].flatMap((i) => [i * 0x1000, 0x40_0000 + i * 0x1000]);
const FRAMES = [0, 1, 2, 3, 4, 5].map((i) => 0x1_0000 + i * 0x1000).concat([0x10_0000, 0x10_1000]);

type Op =
  | { kind: "setPte"; page: number; frame: number; flags: number }
  | { kind: "setPde"; region: number; flags: number; large: boolean }
  | { kind: "read"; page: number; offset: number; size: 1 | 2 | 4; cpl: Cpl }
  | { kind: "write"; page: number; offset: number; size: 1 | 2 | 4; cpl: Cpl; value: number }
  | { kind: "invlpg"; page: number }
  | { kind: "cr3" }
  | { kind: "cr4"; pse: boolean; pge: boolean }
  | { kind: "wp"; on: boolean }
  | { kind: "copy"; to: number; from: number; offset: number; words: number; cpl: Cpl }
  | { kind: "flatten" };

const page = fc.integer({ min: 0, max: PAGES.length - 1 });
const cpl = fc.constantFrom<Cpl>(0, 3);
const size = fc.constantFrom<1 | 2 | 4>(1, 2, 4);
// Mostly aligned words (the fast path), some page-crossing and unaligned accesses.
const offset = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 4, 8, 0xffc) },
  { weight: 1, arbitrary: fc.constantFrom(0xffe, 0xfff) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xfff }) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("setPte" as const),
      page,
      frame: fc.integer({ min: 0, max: 7 }),
      // Mostly present entries, so that accesses get far enough to be cached.
      flags: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 0, max: 0x1ff }).map((f) => f | 1) },
        fc.integer({ min: 0, max: 0x1ff }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("setPde" as const),
      region: fc.integer({ min: 0, max: 1 }),
      flags: fc.integer({ min: 0, max: 0x1ff }),
      large: fc.boolean(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("read" as const), page, offset, size, cpl }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      page,
      offset,
      size,
      cpl,
      value: fc.integer({ min: 0, max: 0xff }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("invlpg" as const), page }) },
  { weight: 1, arbitrary: fc.constant({ kind: "cr3" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("cr4" as const),
      pse: fc.boolean(),
      pge: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wp" as const), on: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("copy" as const),
      to: page,
      from: page,
      offset: fc.constantFrom(0, 4, 0x800, 0xff0, 2),
      words: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(1030)),
      cpl,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "flatten" as const }) },
);

function boot(tlb: Tlb): Mmu {
  // 4 MiB of RAM: "flatten" makes it flat; the 4 MiB page's frame at 8 MiB stays sparse.
  const ram = new PhysicalMemory({ installedBytes: 4 * 1024 * 1024 });
  const mmu = new Mmu(ram, { tlb });
  ram.write32(PD, PT[0]! | 7);
  ram.write32(PD + 4, PT[1]! | 7);
  for (const f of FRAMES) ram.write32(f + 8, f); // give the frames storage
  // Every page starts mapped (P, R/W, U/S) to its own frame.
  PAGES.forEach((va, i) => ram.write32(PT[va >>> 22]! + 4 * ((va >>> 12) & 0x3ff), FRAMES[i]! | 7));
  mmu.loadCr3(PD);
  mmu.loadCr0(CR0.PE | CR0.PG);
  // Enough accesses for the MMU to ask a built-in TLB for the flat slots that the fast path reads.
  for (let i = 0; i < 2 * FLAT_AFTER; i++) mmu.read32(PAGES[i % PAGES.length]!);
  return mmu;
}

function step(mmu: Mmu, o: Op): string {
  const ram = mmu.ram;
  try {
    switch (o.kind) {
      case "setPte": {
        const va = PAGES[o.page]!;
        ram.write32(PT[va >>> 22]! + 4 * ((va >>> 12) & 0x3ff), FRAMES[o.frame]! | o.flags);
        return "ok";
      }
      case "setPde": {
        const entry = o.large
          ? (0x0080_0000 | o.flags | 0x80) >>> 0
          : PT[o.region]! | (o.flags & 0x7f);
        ram.write32(PD + 4 * o.region, entry);
        return "ok";
      }
      case "read": {
        // The sized methods, not read(va, size): read32 is where the fast path lives.
        const va = PAGES[o.page]! + o.offset;
        const v =
          o.size === 4
            ? mmu.read32(va, o.cpl)
            : o.size === 2
              ? mmu.read16(va, o.cpl)
              : mmu.read8(va, o.cpl);
        return String(v);
      }
      case "write": {
        const va = PAGES[o.page]! + o.offset;
        if (o.size === 4) mmu.write32(va, o.value, o.cpl);
        else if (o.size === 2) mmu.write16(va, o.value, o.cpl);
        else mmu.write8(va, o.value, o.cpl);
        return "ok";
      }
      case "invlpg":
        mmu.invlpg(PAGES[o.page]!);
        return "ok";
      case "cr3":
        mmu.loadCr3(PD);
        return "ok";
      case "cr4":
        mmu.loadCr4((o.pse ? CR4.PSE : 0) | (o.pge ? CR4.PGE : 0));
        return "ok";
      case "wp":
        mmu.loadCr0(CR0.PE | CR0.PG | (o.on ? CR0.WP : 0));
        return "ok";
      case "copy":
        mmu.copyWords(PAGES[o.to]! + o.offset, PAGES[o.from]! + o.offset, o.words, o.cpl);
        return "ok";
      case "flatten":
        // Writes to many frames of RAM make all of RAM flat (ram.ts): the cached storage moves.
        for (let f = 0; f < 40; f++) ram.write32(0x20_0000 + f * 0x1000, f);
        return "ok";
    }
  } catch (e) {
    if (e instanceof PageFault) return `#PF ${e.errorCode} ${e.cr2}`;
    throw e;
  }
}

describe.each([
  ["unbounded TLB", () => new UnboundedTlb()],
  ["4-entry 2-way LRU TLB", () => new SetAssociativeTlb({ entries: 4, ways: 2 })],
  [
    "4-entry 2-way FIFO TLB",
    () => new SetAssociativeTlb({ entries: 4, ways: 2, replacement: "fifo" }),
  ],
  [
    "4-entry fully associative random TLB",
    () => new SetAssociativeTlb({ entries: 4, ways: 4, replacement: "random", seed: 3 }),
  ],
])("fast path on vs off, %s", (_name, makeTlb) => {
  it("agrees on every result, fault, counter, TLB entry and memory word", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 30, maxLength: 120, size: "max" }), (ops) => {
        const fast = boot(makeTlb());
        const slow = boot(makeTlb());
        slow.subscribe(() => {});
        const seen = (m: Mmu) => ops.map((o, i) => `${i} ${o.kind}: ${step(m, o)}`);
        expect(seen(fast)).toEqual(seen(slow));
        expect(fast.stats).toEqual(slow.stats);
        expect(fast.cr2).toBe(slow.cr2);
        const key = (t: Tlb) => JSON.stringify(t.entries().sort((a, b) => a.vpn - b.vpn));
        expect(key(fast.tlb)).toBe(key(slow.tlb));
        const words = (m: Mmu) => {
          const out: number[] = [];
          for (const f of [...FRAMES, PD, ...PT]) {
            for (let w = 0; w < 1024; w++) out.push(m.ram.read32(f + 4 * w));
          }
          return out;
        };
        expect(words(fast)).toEqual(words(slow));
      }),
      { numRuns: process.env.MM386_DEEP ? 2000 : 60 },
    );
    // A limit that holds on a loaded 2-core machine (about 2 s when it is quiet).
  }, 60_000);
});

describe("the miss path's hints", () => {
  it("gives what the rule gives, worked by hand for every US/RW/D and written", () => {
    // The rule (fast-path.ts), stated independently: reads always at CPL 0,
    // at CPL 3 only through US; writes need a written frame and D, then WN
    // always, W0 with RW, W3 with RW and US.
    const A = 0x20;
    const unwritten = 0x1_6000; // in flat RAM, never written (boot writes only FRAMES)
    for (const us of [0, ENTRY.US])
      for (const rw of [0, ENTRY.RW])
        for (const d of [0, ENTRY.D])
          for (const written of [0, 1]) {
            const tlb = new UnboundedTlb();
            const mmu = boot(tlb);
            const va = PAGES[2]!;
            const frame = written ? FRAMES[2]! : unwritten;
            // A already set, so that the read is a miss that walks and sets nothing.
            mmu.ram.write32(PT[0]! + 4 * (va >>> 12), frame | ENTRY.P | us | rw | d | A);
            mmu.ram.write32(PD, PT[0]! | 7 | A);
            mmu.invlpg(va);
            const general = vi.spyOn(mmu, "word32");
            mmu.read32(va + 8);
            // Served by missWord32, not the general path.
            expect(general).not.toHaveBeenCalled();
            let want = HINT.R0 | (us ? HINT.R3 : 0);
            if (written && d) want |= HINT.WN | (rw ? HINT.W0 | (us ? HINT.W3 : 0) : 0);
            const slot = tlb.slots![va >>> 12]!;
            const label = `US=${us} RW=${rw} D=${d} written=${written}`;
            expect(slot & HINTS, label).toBe(want);
            expect(slot & ~HINTS, label).toBe(frame | ENTRY.P | us | rw | d);
          }
  });
});

describe("the fast path is in use", () => {
  it("refuses an address of 2^32 or more even when its low 32 bits name a hinted page", () => {
    for (const tlb of [new UnboundedTlb(), new SetAssociativeTlb({ entries: 16, ways: 4 })]) {
      const mmu = boot(tlb);
      const va = PAGES[1]!; // 0x1000, read by boot(): hinted for reads
      mmu.write32(va, 0x1234_5678);
      expect(mmu.read32(va)).toBe(0x1234_5678);
      const before = mmu.stats;
      // 2^32 + 0x1000 is 0x1000 as an int32: it must still be refused, not served from page 1.
      expect(codeOf(() => mmu.read32(2 ** 32 + va))).toBe("E_BAD_ADDRESS");
      expect(codeOf(() => mmu.write32(2 ** 32 + va, 1))).toBe("E_BAD_ADDRESS");
      expect(mmu.stats).toEqual(before);
      expect(mmu.ram.read32(FRAMES[1]!)).toBe(0x1234_5678);
    }
  });

  it("a miss hands back a word of 2^31 or more as the uint32 it is, at low and kernel addresses", () => {
    // The miss path passes words as int32s (fast-path.ts): read32 must turn them back.
    const FRAME = 0x5000;
    for (const va of [0x0040_1000, 0xc040_1000])
      for (const cpl of [0, 3] as const) {
        const ram = new PhysicalMemory({ installedBytes: 4 * 1024 * 1024 });
        const mmu = new Mmu(ram);
        ram.write32(PD + 4 * (va >>> 22), PT[0]! | 7 | 0x20);
        ram.write32(PT[0]! + 4 * ((va >>> 12) & 0x3ff), FRAME | 7 | 0x60);
        ram.write32(FRAME + 8, 0xdead_beef);
        ram.write32(FRAME + 12, 0x8000_0000);
        mmu.loadCr3(PD);
        mmu.loadCr0(CR0.PE | CR0.PG);
        const where = `va ${va.toString(16)} CPL ${cpl}`;
        // Misses until the TLB keeps flat slots and the fast path serves them.
        for (let i = 0; i < 2 * FLAT_AFTER; i++) {
          expect(mmu.read32(va + 8, cpl), where).toBe(0xdead_beef);
          mmu.invlpg(va);
        }
        const general = vi.spyOn(mmu, "word32");
        const before = mmu.stats;
        expect(mmu.read32(va + 12, cpl), where).toBe(0x8000_0000);
        mmu.invlpg(va);
        // A write miss of a negative int32 stores its uint32 form.
        mmu.write32(va + 16, -2, cpl);
        expect(general, where).not.toHaveBeenCalled();
        expect(ram.read32(FRAME + 16), where).toBe(0xffff_fffe);
        expect(mmu.read32(va + 16, cpl), where).toBe(0xffff_fffe);
        const after = mmu.stats;
        expect(after.tlbMisses - before.tlbMisses, where).toBe(2);
        expect(after.walks - before.walks, where).toBe(2);
        expect(after.tlbHits - before.tlbHits, where).toBe(1);
      }
  });

  it("serves repeated accesses without asking the TLB, and stops when someone listens", () => {
    let lookups = 0;
    const inner = new UnboundedTlb();
    // A TLB that only counts lookups: the MMU asks it on every access (not a built-in).
    const counting: Tlb = {
      name: "counting",
      capacity: Infinity,
      lookup: (vpn) => {
        lookups++;
        return inner.lookup(vpn);
      },
      insert: (e) => inner.insert(e),
      invalidatePage: (vpn) => inner.invalidatePage(vpn),
      flushNonGlobal: () => inner.flushNonGlobal(),
      flushAll: () => inner.flushAll(),
      entries: () => inner.entries(),
    };
    const other = boot(counting);
    const before = lookups;
    for (let i = 0; i < 100; i++) other.read32(PAGES[0]!);
    expect(lookups - before).toBe(100);
    // A built-in TLB: the fast path serves them (the TLB is not probed), and the
    // counters still count every access as a hit.
    const tlb = new UnboundedTlb();
    const mmu = boot(tlb);
    mmu.resetStats();
    const probe = vi.spyOn(tlb, "probe");
    for (let i = 0; i < 100; i++) mmu.read32(PAGES[0]!);
    expect(probe).toHaveBeenCalledTimes(0);
    expect(mmu.stats).toMatchObject({ tlbHits: 100, tlbMisses: 0, accesses: 100 });
    // While someone listens, every access reaches the TLB.
    const stop = mmu.subscribe(() => {});
    for (let i = 0; i < 10; i++) mmu.read32(PAGES[0]!);
    expect(probe).toHaveBeenCalledTimes(10);
    stop();
  });
});

describe("adversarial lifecycles: the fast path shows exactly what the TLB model says", () => {
  const pteAt = (va: number) => PT[va >>> 22]! + 4 * ((va >>> 12) & 0x3ff);
  const P_RW_US = 7;
  const A = 0x20;
  const D = 0x40;
  const G = 0x100;
  /**
   * Runs `scenario` on a machine with the fast path and on its twin without
   * (a listener turns it off); both must give `expected`, worked out by hand
   * from the SDM's TLB rules, and end with the same counters.
   */
  function onBoth(scenario: (m: Mmu) => unknown[], expected: unknown[]): void {
    const tlb = new UnboundedTlb();
    const fast = boot(tlb);
    const slow = boot(new UnboundedTlb());
    slow.subscribe(() => {});
    const probe = vi.spyOn(tlb, "probe");
    expect(scenario(fast)).toEqual(expected);
    // The fast machine served some of it without asking the TLB: the fast path was in use.
    expect(probe.mock.calls.length).toBeLessThan(fast.stats.tlbHits);
    expect(scenario(slow)).toEqual(expected);
    expect(fast.stats).toEqual(slow.stats);
  }

  it("a page remapped without invlpg still reads and writes its old frame, until invlpg", () => {
    const va = PAGES[0]!;
    const [oldFrame, newFrame] = [FRAMES[0]!, FRAMES[1]!];
    onBoth(
      (m) => {
        m.ram.write32(oldFrame + 0x10, 0xaaaa);
        m.ram.write32(newFrame + 0x10, 0xbbbb);
        m.write32(va + 0x10, 0xaaaa); // walks (clean entry): the entry is now dirty
        const before = [m.read32(va + 0x10), m.read32(va + 0x10)];
        m.ram.write32(pteAt(va), newFrame | P_RW_US | A | D); // behind the TLB's back
        const stale = [m.read32(va + 0x10), m.read32(va + 0x10)];
        m.write32(va + 0x10, 0xcccc); // through the stale, dirty entry: the old frame
        const frames = [m.ram.read32(oldFrame + 0x10), m.ram.read32(newFrame + 0x10)];
        m.invlpg(va);
        return [...before, ...stale, ...frames, m.read32(va + 0x10)];
      },
      [0xaaaa, 0xaaaa, 0xaaaa, 0xaaaa, 0xcccc, 0xbbbb, 0xbbbb],
    );
  });

  it("a CR3 reload drops the non-global entry and keeps the global one (CR4.PGE)", () => {
    const [g, n] = [PAGES[2]!, PAGES[4]!];
    onBoth(
      (m) => {
        m.loadCr4(CR4.PGE); // flushes everything; the next walks see G
        m.ram.write32(pteAt(g), FRAMES[2]! | P_RW_US | G);
        m.ram.write32(pteAt(n), FRAMES[4]! | P_RW_US);
        for (let i = 0; i < 3; i++) {
          m.read32(g + 8);
          m.read32(n + 8);
        }
        // Both remapped behind the TLB's back, then a new CR3 load of the same directory.
        m.ram.write32(pteAt(g), FRAMES[3]! | P_RW_US | G);
        m.ram.write32(pteAt(n), FRAMES[5]! | P_RW_US);
        m.loadCr3(PD);
        return [m.read32(g + 8), m.read32(n + 8)];
      },
      // boot() left each frame's own address at offset 8.
      [FRAMES[2]!, FRAMES[5]!],
    );
  });

  it("A/D are written by walks only: not while a dirty entry is used, after the PTE was cleared", () => {
    const va = PAGES[6]!;
    const frame = FRAMES[6]!;
    onBoth(
      (m) => {
        m.ram.write32(pteAt(va), frame | P_RW_US);
        m.invlpg(va);
        m.write32(va, 1); // walk: A and D set
        const walked = m.ram.read32(pteAt(va));
        m.ram.write32(pteAt(va), frame | P_RW_US); // A and D cleared behind the TLB's back
        for (let i = 0; i < 4; i++) m.write32(va + 4 * i, i); // the dirty entry: no walk
        const untouched = m.ram.read32(pteAt(va));
        m.invlpg(va);
        m.read32(va); // a read walk: A only
        const afterRead = m.ram.read32(pteAt(va));
        m.write32(va, 2); // a write through the clean entry walks again: D
        return [walked, untouched, afterRead, m.ram.read32(pteAt(va))];
      },
      [frame | P_RW_US | A | D, frame | P_RW_US, frame | P_RW_US | A, frame | P_RW_US | A | D],
    );
  });
});
