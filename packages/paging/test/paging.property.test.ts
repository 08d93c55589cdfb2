/**
 * Random sequences of mapMem / unmap / create / destroy / switch, checked after
 * every step against a plain model (per address space: virtual page -> frame
 * and flags; one shared map for the kernel half), by translating every
 * candidate page of every address space, and, for the current one, by reading
 * through the MMU itself, so a missing invlpg shows up as a stale value.
 */
import fc from "fast-check";
import { createMachine, PageFault } from "@mm386/hw-i386";
import { describe, expect, it } from "vitest";
import {
  PTE_PRESENT as P,
  PTE_USER as U,
  PTE_WRITE as W,
  type Pagedir,
  startPaging,
} from "../src/index.js";

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

describe("paging against a model", () => {
  it("translates every page of every address space as the model says, after every step", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 60, size: "max" }), (ops) => {
        const m = createMachine({ ramBytes: 32 * 1024 * 1024 });
        const p = startPaging(m);
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
              const w = p.translate(va, pd);
              expect(w.pa, `${va.toString(16)} in ${pd.phys.toString(16)}`).toBe(
                want === undefined ? null : want.frame,
              );
              if (want !== undefined) {
                expect(w.user).toBe((want.flags & U) !== 0);
                expect(w.writable).toBe((want.flags & W) !== 0);
              }
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
            expect(got, `read ${va.toString(16)}`).toBe(
              want === undefined ? "fault" : 0x1000 + frames.indexOf(want.frame),
            );
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});
