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
import fc from "fast-check";
import {
  createMachine,
  type Machine,
  type MachineOptions,
  type MmuEvent,
  PageFault,
} from "@mm386/hw-i386";
import { faultOf as fault } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { PTE_PRESENT as P, PTE_USER as U, PTE_WRITE as W } from "./api.js";
import type { Pagedir, Paging } from "./paging.js";

/** Time limit of the long property tests: a minute, or an hour for the deep run (MM386_DEEP=1). */
const DEEP_TIMEOUT = process.env.MM386_DEEP ? 3_600_000 : 60_000;

const MiB = 1024 * 1024;

/** Count invlpg and CR3-load flushes while `f` runs. */
function flushes(m: Machine, f: () => void): { invlpg: number[]; cr3: number } {
  const invlpg: number[] = [];
  let cr3 = 0;
  const stop = m.mmu.subscribe((e: MmuEvent) => {
    if (e.type === "flush" && e.reason === "invlpg") invlpg.push(e.va!);
    if (e.type === "flush" && e.reason === "cr3") cr3++;
  });
  try {
    f();
  } finally {
    stop();
  }
  return { invlpg, cr3 };
}

const USER_PAGES = [0x0040_0000, 0x0040_1000, 0x0040_2000, 0x0080_0000, 0xbfff_f000];
const KERNEL_PAGES = [0xd000_0000, 0xd000_1000, 0xd040_0000, 0xffff_e000];
const FLAGS = [P, P | W, P | U, P | W | U];

type Op =
  | { kind: "map"; space: number; page: number; frame: number; flags: number; n: number }
  | { kind: "unmap"; space: number; page: number; n: number }
  | { kind: "kmap"; page: number; frame: number; flags: number }
  | { kind: "kunmap"; page: number }
  | { kind: "create" }
  | { kind: "destroy"; space: number }
  | { kind: "switch"; space: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("map" as const),
      space: fc.nat(),
      page: fc.nat({ max: USER_PAGES.length - 1 }),
      frame: fc.nat({ max: 7 }),
      flags: fc.constantFrom(...FLAGS),
      n: fc.integer({ min: 1, max: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("unmap" as const),
      space: fc.nat(),
      page: fc.nat({ max: USER_PAGES.length - 1 }),
      n: fc.integer({ min: 1, max: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("kmap" as const),
      page: fc.nat({ max: KERNEL_PAGES.length - 1 }),
      frame: fc.nat({ max: 7 }),
      flags: fc.constantFrom(P, P | W),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("kunmap" as const),
      page: fc.nat({ max: KERNEL_PAGES.length - 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "create" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("destroy" as const), space: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("switch" as const), space: fc.nat() }) },
);

interface Mapping {
  frame: number;
  flags: number;
}

const modelTest = (start: (m: Machine) => Paging, machine: MachineFactory) => {
  it(
    "translates every page of every address space as the model says, after every step",
    () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 20, maxLength: 60, size: "max" }), (ops) => {
          const m = machine({ ramBytes: 32 * 1024 * 1024 });
          const p = start(m);
          const run = p.allocators.ppalloc(8, 8)!;
          const frames = Array.from({ length: 8 }, (_, i) => run.start + i * 4096);
          frames.forEach((f, i) => m.ram.write32(f, 0x1000 + i)); // a marker per frame
          const spaces: Pagedir[] = [p.init];
          const model = new Map<Pagedir, Map<number, Mapping>>([[p.init, new Map()]]);
          const kernel = new Map<number, Mapping>();
          const pick = (i: number) => spaces[i % spaces.length]!;
          for (const o of ops) {
            switch (o.kind) {
              case "map": {
                const pd = pick(o.space);
                const va = USER_PAGES[o.page]!;
                const n = va + o.n * 4096 > 0xc000_0000 ? 1 : o.n;
                const frame = Math.min(o.frame, 8 - n);
                expect(p.mapMem(pd, frames[frame]!, va, n, o.flags)).toBe(true);
                for (let i = 0; i < n; i++)
                  model.get(pd)!.set(va + i * 4096, { frame: frames[frame + i]!, flags: o.flags });
                break;
              }
              case "unmap": {
                const pd = pick(o.space);
                const va = USER_PAGES[o.page]!;
                const n = va + o.n * 4096 > 0xc000_0000 ? 1 : o.n;
                expect(p.mapMem(pd, 0, va, n, 0)).toBe(true);
                for (let i = 0; i < n; i++) model.get(pd)!.delete(va + i * 4096);
                break;
              }
              case "kmap":
                expect(p.mapMem(null, frames[o.frame]!, KERNEL_PAGES[o.page]!, 1, o.flags)).toBe(
                  true,
                );
                kernel.set(KERNEL_PAGES[o.page]!, { frame: frames[o.frame]!, flags: o.flags });
                break;
              case "kunmap":
                p.mapMem(null, 0, KERNEL_PAGES[o.page]!, 1, 0);
                kernel.delete(KERNEL_PAGES[o.page]!);
                break;
              case "create": {
                if (spaces.length >= 4) break;
                const pd = p.createAddressSpace()!;
                spaces.push(pd);
                model.set(pd, new Map());
                break;
              }
              case "destroy": {
                const pd = pick(o.space);
                if (pd === p.init || pd === p.current) break;
                p.destroyAddressSpace(pd);
                spaces.splice(spaces.indexOf(pd), 1);
                model.delete(pd);
                break;
              }
              case "switch":
                p.switchTo(pick(o.space));
                break;
            }
            // Every address space, through the page tables...
            for (const pd of spaces) {
              const mine = model.get(pd)!;
              for (const [va, want] of [
                ...USER_PAGES.map((v) => [v, mine.get(v)] as const),
                ...KERNEL_PAGES.map((v) => [v, kernel.get(v)] as const),
              ]) {
                // A plain comparison finds a difference; expect() (slow in this loop) reports it.
                const w = p.translate(va, pd);
                const seen = [
                  w.pa,
                  w.pa === null ? null : w.user,
                  w.pa === null ? null : w.writable,
                ];
                const meant =
                  want === undefined
                    ? [null, null, null]
                    : [want.frame, (want.flags & U) !== 0, (want.flags & W) !== 0];
                if (seen.some((x, i) => x !== meant[i]))
                  expect(
                    seen,
                    `pa, user, writable of ${va.toString(16)} in ${pd.phys.toString(16)}`,
                  ).toEqual(meant);
              }
            }
            // ...and the current one through the MMU and its TLB.
            const mine = model.get(p.current)!;
            for (const [va, want] of [
              ...USER_PAGES.map((v) => [v, mine.get(v)] as const),
              ...KERNEL_PAGES.map((v) => [v, kernel.get(v)] as const),
            ]) {
              let got: number | string;
              try {
                got = m.mmu.read32(va, 0);
              } catch (e) {
                if (!(e instanceof PageFault)) throw e;
                got = "fault";
              }
              const expected = want === undefined ? "fault" : 0x1000 + frames.indexOf(want.frame);
              if (got !== expected) expect(got, `read ${va.toString(16)}`).toBe(expected);
            }
          }
        }),
        { numRuns: process.env.MM386_DEEP ? 1000 : 40 },
      );
      // About 3 s alone; the default 5 s limit fails it on a loaded machine (pnpm test runs projects in parallel).
    },
    DEEP_TIMEOUT,
  );
};

/** Makes a machine (e.g. with a TLB of your own); default `createMachine`. */
export type MachineFactory = (options: MachineOptions) => Machine;

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
          expect(m.mmu.read32(0xd000_0008, 0)).toBe(0xabcd);
        }
      });

      it("maps 256 MiB of kernel space in 4 KiB pieces from a fresh boot (the recursion ends)", () => {
        const { m, p } = fresh(64 * MiB);
        const frame = p.allocators.ppalloc(1, 1)!;
        for (let i = 0; i < 65536; i++)
          expect(p.mapMem(null, frame.start, 0xe000_0000 + i * 4096, 1, P | W)).toBe(true);
        m.ram.write32(frame.start, 77);
        for (const va of [0xe000_0000, 0xe123_4000, 0xefff_f000]) expect(m.mmu.read32(va)).toBe(77);
        expect(
          p.kvpd
            .slice((0xe000_0000 >>> 22) - 768, (0xf000_0000 >>> 22) - 768)
            .every((v) => v !== null),
        ).toBe(true);
      });
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
        expect(m.ram.read32(f.start + 0x3ffc)).toBe(9);
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
        expect(m.mmu.cr3).toBe(p.init.phys);
        p.switchTo(as);
        expect(m.mmu.read32(0x0080_0000, 3)).toBe(31);
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
        ).toEqual([0x0040_0000, 0x0040_1000, 0x0040_2000, 0x0040_3000]);
        // Another address space: its translations cannot be cached now; none.
        expect(flushes(m, () => p.mapMem(b, f.start + 0x4000, 0x0040_0000, 4, 0)).invlpg).toEqual(
          [],
        );
        // Kernel pages are seen by every address space: always invalidated.
        expect(flushes(m, () => p.mapMem(null, 0, 0xd000_0000, 2, 0)).invlpg).toEqual([
          0xd000_0000, 0xd000_1000,
        ]);
      });

      it("leaves no stale translation behind when it remaps the current address space", () => {
        const { m, p } = fresh();
        const f = p.allocators.ppalloc(2, 2)!;
        m.ram.write32(f.start, 1);
        m.ram.write32(f.start + 4096, 2);
        p.mapMem(null, f.start, 0xd000_0000, 1, P | W);
        expect(m.mmu.read32(0xd000_0000)).toBe(1); // now cached
        p.mapMem(null, f.start + 4096, 0xd000_0000, 1, P | W);
        expect(m.mmu.read32(0xd000_0000)).toBe(2);
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

    describe("against a model", () => {
      modelTest(start, machine);
    });
  });
}
