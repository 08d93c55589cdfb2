/**
 * The Whitix address-space lifecycle against a plain model: random
 * create/destroy/switch, user map/unmap in any space, kernel map/unmap, and
 * kernel-heap runs from the slab page source. After every step: every
 * candidate page of every space translates as the model says (read
 * physically), the current space reads through the MMU as the model says
 * (so a missing invlpg shows as a stale value), every frame is accounted for
 * (free + directories + tables + the test's + the heap's = what was usable),
 * and no temp slot is left mapped. `MM386_DEEP=1` runs many more sequences.
 */
import { createMachine, PageFault, PDE } from "@mm386/hw-i386";
import { deepRun } from "@mm386/hw-i386/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PTE_PRESENT as P, PTE_USER as U, PTE_WRITE as W } from "../src/index.js";
import {
  VirtMemManagerInit,
  WHITIX,
  type WhitixSpace,
  whitixPageSource,
} from "../src/whitix/index.js";

const MiB = 1024 * 1024;
const FRAME = 0xffff_f000;
const USER_PAGES = [0x0080_0000, 0x0080_1000, 0x0804_8000, 0x0804_9000, 0xbfff_f000];
const FLAGS = [P, P | W, P | U, P | W | U];

type Op =
  | { kind: "map"; space: number; page: number; frame: number; flags: number; n: number }
  | { kind: "unmap"; space: number; page: number; n: number }
  | { kind: "kmap"; page: number; frame: number; flags: number }
  | { kind: "kunmap"; page: number }
  | { kind: "heapAlloc"; n: number }
  | { kind: "heapFree"; which: number }
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
      page: fc.nat({ max: 2 }),
      frame: fc.nat({ max: 7 }),
      flags: fc.constantFrom(P, P | W),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("kunmap" as const), page: fc.nat({ max: 2 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("heapAlloc" as const),
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("heapFree" as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "create" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("destroy" as const), space: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("switch" as const), space: fc.nat() }) },
);

interface Mapping {
  frame: number;
  flags: number;
}

describe("Whitix against a model", () => {
  it(
    "keeps every space, the TLB and the frame count as the model says, after every step",
    () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 20, maxLength: 60, size: "max" }), (ops) => {
          const m = createMachine({ ramBytes: 32 * MiB });
          const w = VirtMemManagerInit(m);
          const usable = w.allocators.physical.freePages;
          const run = w.allocFrames(8)!;
          const frames = Array.from({ length: 8 }, (_, i) => run + i * 4096);
          frames.forEach((f, i) => m.ram.write32(f, 0x1000 + i)); // a marker per frame
          // Three kernel pages in two page tables: 1025 pages reach into the second.
          const region = w.allocKernelRegion(1025)!;
          const KERNEL = [region, region + 4096, region + 1024 * 4096];
          const src = whitixPageSource(w);
          const spaces: WhitixSpace[] = [w.reference];
          const model = new Map<WhitixSpace, Map<number, Mapping>>([[w.reference, new Map()]]);
          const kernel = new Map<number, Mapping>();
          const heap: { va: number; n: number; marks: number[] }[] = [];
          let nextMark = 0x5000_0000;
          const pick = (i: number) => spaces[i % spaces.length]!;
          for (const o of ops) {
            switch (o.kind) {
              case "map": {
                const s = pick(o.space);
                const va = USER_PAGES[o.page]!;
                const n = va + o.n * 4096 > 0xc000_0000 ? 1 : o.n;
                const f = Math.min(o.frame, 8 - n);
                expect(w.map(s, va, frames[f]!, n, o.flags)).toBe(true);
                for (let i = 0; i < n; i++)
                  model.get(s)!.set(va + i * 4096, { frame: frames[f + i]!, flags: o.flags });
                break;
              }
              case "unmap": {
                const s = pick(o.space);
                const va = USER_PAGES[o.page]!;
                const n = va + o.n * 4096 > 0xc000_0000 ? 1 : o.n;
                w.unmap(s, va, n);
                for (let i = 0; i < n; i++) model.get(s)!.delete(va + i * 4096);
                break;
              }
              case "kmap":
                expect(w.map(null, KERNEL[o.page]!, frames[o.frame]!, 1, o.flags)).toBe(true);
                kernel.set(KERNEL[o.page]!, { frame: frames[o.frame]!, flags: o.flags });
                break;
              case "kunmap":
                w.unmap(null, KERNEL[o.page]!, 1);
                kernel.delete(KERNEL[o.page]!);
                break;
              case "heapAlloc": {
                const va = src.allocPages(o.n);
                expect(va).not.toBeNull();
                const marks = Array.from({ length: o.n }, () => nextMark++);
                marks.forEach((k, i) => w.write32(va! + i * 4096, k, 0));
                heap.push({ va: va!, n: o.n, marks });
                break;
              }
              case "heapFree": {
                if (heap.length === 0) break;
                const [h] = heap.splice(o.which % heap.length, 1);
                src.freePages(h!.va, h!.n);
                break;
              }
              case "create": {
                if (spaces.length >= 4) break;
                const s = w.createAddressSpace()!;
                spaces.push(s);
                model.set(s, new Map());
                break;
              }
              case "destroy": {
                const s = pick(o.space);
                if (s === w.reference || s === w.current) break;
                w.destroyAddressSpace(s);
                spaces.splice(spaces.indexOf(s), 1);
                model.delete(s);
                break;
              }
              case "switch":
                w.switchTo(pick(o.space));
                break;
            }
            check();
          }

          function check(): void {
            // Every space, through its page tables (read physically)...
            for (const s of spaces) {
              const mine = model.get(s)!;
              const cases: [number, Mapping | undefined][] = [
                ...USER_PAGES.map((v) => [v, mine.get(v)] as [number, Mapping | undefined]),
                ...KERNEL.map((v) => [v, kernel.get(v)] as [number, Mapping | undefined]),
              ];
              for (const [va, want] of cases) {
                const t = w.translate(va, s);
                const seen = [
                  t.pa,
                  t.pa === null ? null : t.user,
                  t.pa === null ? null : t.writable,
                ];
                const meant =
                  want === undefined
                    ? [null, null, null]
                    : [want.frame, (want.flags & U) !== 0, (want.flags & W) !== 0];
                if (seen.some((x, i) => x !== meant[i]))
                  expect(seen, `${va.toString(16)} in ${s.cr3.toString(16)}`).toEqual(meant);
              }
            }
            // ...the current one through the MMU and its TLB...
            const mine = model.get(w.current)!;
            const reads: [number, number | "fault"][] = [
              ...USER_PAGES.map((v): [number, number | "fault"] => {
                const x = mine.get(v);
                return [v, x === undefined ? "fault" : 0x1000 + frames.indexOf(x.frame)];
              }),
              ...KERNEL.map((v): [number, number | "fault"] => {
                const x = kernel.get(v);
                return [v, x === undefined ? "fault" : 0x1000 + frames.indexOf(x.frame)];
              }),
              ...heap.flatMap((h) => h.marks.map((k, i): [number, number] => [h.va + i * 4096, k])),
            ];
            for (const [va, want] of reads) {
              let got: number | "fault";
              try {
                got = m.mmu.read32(va, 0);
              } catch (e) {
                if (!(e instanceof PageFault)) throw e;
                got = "fault";
              }
              if (got !== want) expect(got, `read ${va.toString(16)}`).toBe(want);
            }
            // ...every frame accounted for (boot tables and the kernel directory were never the allocator's)...
            const ram = m.ram;
            let tables = 0;
            for (const s of spaces)
              for (let r = WHITIX.IDENTITY_PDES; r < 768; r++)
                if ((ram.read32(s.cr3 + 4 * r) & PDE.P) !== 0) tables++;
            for (let r = 768; r < 1022; r++)
              if ((ram.read32(w.reference.cr3 + 4 * r) & PDE.P) !== 0) tables++;
            const heapFrames = heap.reduce((n, h) => n + h.n, 0);
            const accounted =
              w.allocators.physical.freePages + tables + (spaces.length - 1) + 8 + heapFrames;
            if (accounted !== usable) expect(accounted, "frames accounted for").toBe(usable);
            // ...and no temp slot left mapped.
            for (let i = 0; i < WHITIX.TEMP_SLOTS; i++) {
              const pde = ram.read32(w.reference.cr3 + 4 * 1022);
              const pte = ram.read32(((pde & FRAME) >>> 0) + 4 * (1020 + i));
              if (pte !== 0) expect(pte, `temp slot ${i}`).toBe(0);
            }
          }
        }),
        { numRuns: deepRun() ? 1000 : 30 },
      );
    },
    deepRun() ? 3_600_000 : 60_000,
  );
});
