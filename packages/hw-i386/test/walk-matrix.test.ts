/**
 * Every combination of the bits that decide a translation, run through the
 * simulator and compared with a plain model of the SDM rules written here
 * from the manual's text (vol. 3A §4.3, §4.6, §4.7, §4.8), not from the walker.
 */
import { describe, expect, it } from "vitest";
import {
  CR0,
  CR4,
  type Cpl,
  Mmu,
  PageFault,
  PhysicalMemory,
  explainAddress,
  faultFor,
} from "../src/index.js";

// Bit positions, spelled out again on purpose instead of imported.
const P = 1 << 0;
const RW = 1 << 1;
const US = 1 << 2;
const A = 1 << 5;
const D = 1 << 6;
const PS = 1 << 7;

interface Expected {
  /** Page-fault error code, or null when the access completes. */
  fault: number | null;
  pdeAfter: number;
  pteAfter: number;
}

/** The SDM's rules for one access, as a table lookup a student could do by hand. */
function model4k(pde: number, pte: number, wp: boolean, cpl: Cpl, write: boolean): Expected {
  const codeBits = (write ? 2 : 0) | (cpl === 3 ? 4 : 0);
  // §4.7: not present at either level -> P=0 in the error code; nothing is marked accessed
  // below the level that faulted, but the PDE used to reach the table is marked.
  if (!(pde & P)) return { fault: codeBits, pdeAfter: pde, pteAfter: pte };
  const pdeAccessed = pde | A;
  if (!(pte & P)) return { fault: codeBits, pdeAfter: pdeAccessed, pteAfter: pte };
  // §4.6: user-mode access needs U/S=1 in every entry; user writes need R/W=1 in every entry;
  // supervisor writes need R/W=1 in every entry only when CR0.WP=1.
  const userOk = (pde & US) !== 0 && (pte & US) !== 0;
  const writeOk = (pde & RW) !== 0 && (pte & RW) !== 0;
  let allowed: boolean;
  if (cpl === 3) allowed = userOk && (!write || writeOk);
  else allowed = !write || writeOk || !wp;
  if (!allowed) return { fault: 1 | codeBits, pdeAfter: pdeAccessed, pteAfter: pte };
  // §4.8: A in the leaf on any access, D on a write.
  return { fault: null, pdeAfter: pdeAccessed, pteAfter: pte | A | (write ? D : 0) };
}

function model4m(pde: number, pse: boolean, pte: number, wp: boolean, cpl: Cpl, write: boolean) {
  // With CR4.PSE=0 the PS bit is ignored and the PDE references a page table.
  if (!pse || !(pde & PS)) return { large: false, ...model4k(pde, pte, wp, cpl, write) };
  const codeBits = (write ? 2 : 0) | (cpl === 3 ? 4 : 0);
  if (!(pde & P)) return { large: true, fault: codeBits, pdeAfter: pde, pteAfter: pte };
  let allowed: boolean;
  if (cpl === 3) allowed = (pde & US) !== 0 && (!write || (pde & RW) !== 0);
  else allowed = !write || (pde & RW) !== 0 || !wp;
  if (!allowed) return { large: true, fault: 1 | codeBits, pdeAfter: pde, pteAfter: pte };
  return { large: true, fault: null, pdeAfter: pde | A | (write ? D : 0), pteAfter: pte };
}

const CR3 = 0x1000;
const VA = 0x0040_3abc; // directory 1, table 3, offset 0xabc
const PDE_ADDR = CR3 + 4 * 1;
const SMALL_PT = 0x2000;
const PTE_ADDR = SMALL_PT + 4 * 3;
const SMALL_FRAME = 0x5000;
const LARGE_FRAME = 0x0080_0000; // also used as a page-table address when PS is ignored
const OLD = 0x1122_3344;
const NEW = 0x5566_7788;

function bitsOf(n: number, names: [string, number][]): string {
  return names.map(([name, bit]) => `${name}=${n & bit ? 1 : 0}`).join(" ");
}

function run(opts: {
  pde: number;
  pte: number;
  pteAddr: number;
  wp: boolean;
  pse: boolean;
  cpl: Cpl;
  write: boolean;
}) {
  const ram = new PhysicalMemory();
  const mmu = new Mmu(ram);
  ram.write32(PDE_ADDR, opts.pde);
  ram.write32(opts.pteAddr, opts.pte);
  ram.write32(SMALL_FRAME + 0xabc, OLD);
  ram.write32(LARGE_FRAME + 0x3abc, OLD ^ 0xffff);
  mmu.loadCr4(opts.pse ? CR4.PSE : 0);
  mmu.loadCr3(CR3);
  mmu.loadCr0(CR0.PE | CR0.PG | (opts.wp ? CR0.WP : 0));
  // What the inspection tools say before the access; they must agree with the MMU.
  const explained = explainAddress(mmu, VA);
  const predicted = faultFor(explained, mmu, { write: opts.write, cpl: opts.cpl });
  let fault: number | null = null;
  let value: number | null = null;
  try {
    if (opts.write) mmu.write32(VA, NEW, opts.cpl);
    else value = mmu.read32(VA, opts.cpl);
  } catch (e) {
    if (!(e instanceof PageFault)) throw e;
    fault = e.errorCode;
    expect(e.cr2).toBe(VA);
    expect(mmu.cr2).toBe(VA);
  }
  return {
    fault,
    predicted,
    explainedPa: explained.pa,
    value,
    mmu,
    ram,
    pdeAfter: ram.read32(PDE_ADDR),
    pteAfter: ram.read32(opts.pteAddr),
    small: ram.read32(SMALL_FRAME + 0xabc),
    large: ram.read32(LARGE_FRAME + 0x3abc),
  };
}

describe("4 KiB pages: every PDE.{P,RW,US} x PTE.{P,RW,US,A,D} x WP x CPL x R/W", () => {
  const cases: [number, number, boolean, Cpl, boolean][] = [];
  for (let pdeBits = 0; pdeBits < 8; pdeBits++)
    for (let pteBits = 0; pteBits < 32; pteBits++)
      for (const wp of [false, true])
        for (const cpl of [0, 3] as Cpl[])
          for (const write of [false, true]) {
            const pde = SMALL_PT | (pdeBits & 7);
            const pte =
              SMALL_FRAME | (pteBits & 7) | (pteBits & 8 ? A : 0) | (pteBits & 16 ? D : 0);
            cases.push([pde, pte, wp, cpl, write]);
          }

  it(`enumerates ${cases.length} combinations`, () => {
    expect(cases.length).toBe(8 * 32 * 2 * 2 * 2);
  });

  // Each case runs once; both tests below read its outcome.
  let memo: ReturnType<typeof run>[] | undefined;
  const outcomes = () =>
    (memo ??= cases.map(([pde, pte, wp, cpl, write]) =>
      run({ pde, pte, pteAddr: PTE_ADDR, wp, pse: false, cpl, write }),
    ));

  it("matches the model on fault, error code, A/D bits, memory and TLB", () => {
    const failures: string[] = [];
    for (const [i, [pde, pte, wp, cpl, write]] of cases.entries()) {
      const want = model4k(pde, pte, wp, cpl, write);
      const got = outcomes()[i]!;
      const label = `PDE[${bitsOf(pde, [
        ["P", P],
        ["RW", RW],
        ["US", US],
      ])}] PTE[${bitsOf(pte, [
        ["P", P],
        ["RW", RW],
        ["US", US],
        ["A", A],
        ["D", D],
      ])}] WP=${+wp} CPL=${cpl} ${write ? "write" : "read"}`;
      const tlbEntry = got.mmu.tlb.lookup(VA >>> 12);
      const ok =
        got.fault === want.fault &&
        got.pdeAfter === want.pdeAfter &&
        got.pteAfter === want.pteAfter &&
        (want.fault === null ? tlbEntry !== undefined : tlbEntry === undefined) &&
        (want.fault !== null || write ? got.value === null : got.value === OLD) &&
        got.small === (want.fault === null && write ? NEW : OLD);
      if (!ok)
        failures.push(
          `${label}: want ${JSON.stringify(want)}, got fault=${got.fault} pde=${got.pdeAfter.toString(16)} pte=${got.pteAfter.toString(16)}`,
        );
    }
    expect(failures).toEqual([]);
  });

  it("explainWalk and faultFor agree with the MMU on every case (one walk, walk.ts)", () => {
    const disagreements: string[] = [];
    for (const [i, [pde, pte, wp, cpl, write]] of cases.entries()) {
      const got = outcomes()[i]!;
      const pa = pde & P && pte & P ? SMALL_FRAME + 0xabc : null;
      if (got.predicted !== got.fault || got.explainedPa !== pa)
        disagreements.push(
          `${pde}/${pte}/${+wp}/${cpl}/${+write}: ${got.predicted} vs ${got.fault}`,
        );
    }
    expect(disagreements).toEqual([]);
  });
});

describe("4 MiB pages: PDE.{P,RW,US,A,D,PS} x CR4.PSE x WP x CPL x R/W", () => {
  // When PS is ignored the PDE points at a page table at LARGE_FRAME whose PTE allows everything.
  const permissivePte = SMALL_FRAME | P | RW | US | A | D;
  const cases: [number, boolean, boolean, Cpl, boolean][] = [];
  for (let bits = 0; bits < 64; bits++)
    for (const pse of [false, true])
      for (const wp of [false, true])
        for (const cpl of [0, 3] as Cpl[])
          for (const write of [false, true]) {
            const pde =
              LARGE_FRAME |
              (bits & 7) |
              (bits & 8 ? A : 0) |
              (bits & 16 ? D : 0) |
              (bits & 32 ? PS : 0);
            cases.push([pde, pse, wp, cpl, write]);
          }

  let memo: ReturnType<typeof run>[] | undefined;
  const outcomes = () =>
    (memo ??= cases.map(([pde, pse, wp, cpl, write]) =>
      run({ pde, pte: permissivePte, pteAddr: LARGE_FRAME + 4 * 3, wp, pse, cpl, write }),
    ));

  it("matches the model, including PS being ignored while CR4.PSE=0", () => {
    const failures: string[] = [];
    for (const [i, [pde, pse, wp, cpl, write]] of cases.entries()) {
      const want = model4m(pde, pse, permissivePte, wp, cpl, write);
      const got = outcomes()[i]!;
      const expectedValue = want.large ? OLD ^ 0xffff : OLD;
      const entry = got.mmu.tlb.lookup(VA >>> 12);
      const ok =
        got.fault === want.fault &&
        got.pdeAfter === want.pdeAfter &&
        got.pteAfter === want.pteAfter &&
        (want.fault === null ? entry?.large === want.large : entry === undefined) &&
        (want.fault === null && !write ? got.value === expectedValue : got.value === null) &&
        (want.fault === null && write
          ? (want.large ? got.large : got.small) === NEW
          : got.small === OLD && got.large === (OLD ^ 0xffff));
      if (!ok)
        failures.push(
          `PDE=${pde.toString(16)} PSE=${+pse} WP=${+wp} CPL=${cpl} ${write ? "W" : "R"}: want ${JSON.stringify(want)}, got fault=${got.fault} pde=${got.pdeAfter.toString(16)}`,
        );
    }
    expect(cases.length).toBe(1024);
    expect(failures).toEqual([]);
  });

  it("explainWalk and faultFor agree with the MMU on every case (one walk, walk.ts)", () => {
    const disagreements: string[] = [];
    for (const [i, [pde, pse, wp, cpl, write]] of cases.entries()) {
      const got = outcomes()[i]!;
      const large = pse && (pde & PS) !== 0;
      const pa = !(pde & P) ? null : large ? LARGE_FRAME + 0x3abc : SMALL_FRAME + 0xabc;
      if (got.predicted !== got.fault || got.explainedPa !== pa)
        disagreements.push(
          `${pde}/${+pse}/${+wp}/${cpl}/${+write}: ${got.predicted} vs ${got.fault}`,
        );
    }
    expect(disagreements).toEqual([]);
  });
});
