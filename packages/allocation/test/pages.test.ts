import fc from "fast-check";
import { defaultMemoryMap, E820 } from "@mm386/hw-i386";
import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import {
  AllocationError,
  createPageAllocators,
  buddyRanges,
  firstFitRanges,
  type PageRangeAllocator,
  type PageAllocators,
  SparseRangeAllocator,
} from "../src/index.js";

const MiB = 1024 * 1024;

const refused = (f: () => unknown, code: string, message?: RegExp) =>
  void expectCode(f, code, { type: AllocationError, message });

/** Every page ppalloc will give, by allocating until it says no. */
function drain(pa: PageAllocators): number[] {
  const pages: number[] = [];
  for (let run = pa.ppalloc(1, 64); run !== null; run = pa.ppalloc(1, 64)) {
    for (let i = 0; i < run.pages; i++) pages.push(run.start + i * 4096);
  }
  return pages;
}

describe.each([
  ["buddy", buddyRanges],
  ["first-fit bitmap", firstFitRanges],
])("page allocators on %s", (_name, rangeAllocator) => {
  const make = (extra: Partial<Parameters<typeof createPageAllocators>[0]> = {}) =>
    createPageAllocators({ memoryMap: defaultMemoryMap(16 * MiB), rangeAllocator, ...extra });

  it("hands out exactly the usable RAM above the first MiB and the kernel image", () => {
    const pa = make();
    // 16 MiB = 4096 frames; the first MiB (256) and the 1 MiB kernel image at 1 MiB (256) are reserved.
    expect(pa.usablePages).toBe(4096 - 512);
    const pages = drain(pa);
    expect(pages.length).toBe(3584);
    expect(new Set(pages).size).toBe(3584);
    expect(Math.min(...pages)).toBe(2 * MiB);
    expect(Math.max(...pages)).toBe(16 * MiB - 4096);
    expect(pa.ppalloc(1, 1)).toBeNull();
    pa.ppfree(5 * MiB, 1);
    expect(pa.ppalloc(1, 1)).toEqual({ start: 5 * MiB, pages: 1 });
  });

  it("gives between min and max consecutive pages, as many as it can", () => {
    const pa = make();
    const run = pa.ppalloc(3, 8)!;
    expect(run.pages).toBe(8);
    expect(run.start % 4096).toBe(0);
    expect(pa.ppalloc(4096, 4096)).toBeNull(); // no run that long exists
  });

  it("never hands out a hole or a range the boot code names", () => {
    const pa = createPageAllocators({
      memoryMap: [
        { base: 0, length: 0x9f000, type: E820.USABLE },
        { base: 0x10_0000, length: 7 * MiB, type: E820.USABLE },
        { base: 8 * MiB, length: MiB, type: E820.RESERVED },
        { base: 9 * MiB, length: 7 * MiB - 100, type: E820.USABLE }, // a partial last page
      ],
      reserved: [{ start: 3 * MiB + 10, length: 4096 }], // straddles two pages
      rangeAllocator,
    });
    const pages = drain(pa);
    const hit = (a: number, b: number) => pages.some((p) => p >= a && p < b);
    expect(hit(0, 2 * MiB)).toBe(false);
    expect(hit(8 * MiB, 9 * MiB)).toBe(false);
    expect(hit(3 * MiB, 3 * MiB + 8192)).toBe(false);
    expect(hit(16 * MiB - 4096, 16 * MiB)).toBe(false); // the partial page
    // 16 MiB of frames minus: first 2 MiB (512), the hole (256), the named range (2), the partial page (1).
    expect(pages.length).toBe(4096 - 512 - 256 - 2 - 1);
  });

  it("refuses bad input with a typed error naming the value, and changes nothing", () => {
    const pa = make();
    const run = pa.ppalloc(2, 2)!;
    pa.ppfree(run.start + 4096, 1);
    const before = (pa.physical as PageRangeAllocator).ranges.states();
    refused(() => pa.ppalloc(0, 1), "E_BAD_ARGUMENT", /min 0/);
    refused(() => pa.ppalloc(3, 2), "E_BAD_ARGUMENT", /min 3 is more than max 2/);
    refused(() => pa.ppfree(run.start + 1, 1), "E_UNALIGNED", /0x00200001|not page-aligned/);
    refused(() => pa.ppfree(0x2000_0000, 1), "E_FOREIGN", /0x20000000/);
    refused(
      () => pa.ppfree(run.start + 4096, 1),
      "E_DOUBLE_FREE",
      new RegExp(`0x${(run.start + 4096).toString(16).padStart(8, "0")}`),
    );
    refused(() => pa.ppfree(1 * MiB, 1), "E_NOT_ALLOCATED", /0x00100000 was never allocated/);
    refused(() => pa.ppfree(run.start, 2), "E_DOUBLE_FREE");
    expect((pa.physical as PageRangeAllocator).ranges.states()).toEqual(before);
  });

  it("keeps the kernel's virtual pages and each vpcreate region apart", () => {
    const pa = make({ reservedVirtual: [{ start: 0xc000_0000, length: 4 * MiB }] });
    const k = pa.vpalloc(1, 4)!; // kernel: no allocator argument
    expect(k.start).toBeGreaterThanOrEqual(0xc040_0000);
    const user = pa.vpcreate(0x0040_0000, 16 * 4096);
    const u = pa.vpalloc(user, 16, 16)!;
    expect(u).toEqual({ start: 0x0040_0000, pages: 16 });
    expect(pa.vpalloc(user, 1, 1)).toBeNull();
    // Pages 2-3: an aligned pair, so buddy (one block per run) finds it as well as first fit.
    pa.vpfree(user, 0x0040_0000 + 2 * 4096, 2);
    expect(pa.vpalloc(user, 2, 2)).toEqual({ start: 0x0040_2000, pages: 2 });
    refused(() => pa.vpfree(user, 0xc040_0000, 1), "E_FOREIGN");
    pa.vpfree(k.start, k.pages);
    refused(() => pa.vpfree(k.start, 1), "E_DOUBLE_FREE");
    refused(() => pa.vpcreate(0x1001, 4096), "E_UNALIGNED", /0x00001001/);
    refused(() => pa.vpcreate(0xffff_f000, 0x2000), "E_BAD_ARGUMENT", /past 4 GiB/);
    refused(() => pa.vpcreate(0, 0), "E_BAD_ARGUMENT");
  });

  it("agrees with a model of allocated pages on random ppalloc/ppfree sequences", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant("alloc" as const),
              min: fc.integer({ min: 1, max: 40 }),
              extra: fc.nat({ max: 60 }),
            }),
            fc.record({
              kind: fc.constant("free" as const),
              pick: fc.nat(),
              from: fc.nat(),
              len: fc.nat(),
            }),
          ),
          { minLength: 10, maxLength: 80, size: "max" },
        ),
        (ops) => {
          const pa = createPageAllocators({ memoryMap: defaultMemoryMap(4 * MiB), rangeAllocator });
          const held = new Set<number>();
          const runs: [number, number][] = [];
          for (const o of ops) {
            if (o.kind === "alloc") {
              const run = pa.ppalloc(o.min, o.min + o.extra);
              if (run === null) continue;
              expect(run.pages).toBeGreaterThanOrEqual(o.min);
              expect(run.pages).toBeLessThanOrEqual(o.min + o.extra);
              for (let i = 0; i < run.pages; i++) {
                const p = run.start + i * 4096;
                expect(held.has(p)).toBe(false);
                expect(p).toBeGreaterThanOrEqual(2 * MiB);
                expect(p).toBeLessThan(4 * MiB);
                held.add(p);
              }
              runs.push([run.start, run.pages]);
            } else if (runs.length > 0) {
              const idx = o.pick % runs.length;
              const [start, n] = runs[idx]!;
              const from = o.from % n;
              const len = 1 + (o.len % (n - from));
              pa.ppfree(start + from * 4096, len);
              for (let i = from; i < from + len; i++) held.delete(start + i * 4096);
              const rest: [number, number][] = [];
              if (from > 0) rest.push([start, from]);
              if (from + len < n) rest.push([start + (from + len) * 4096, n - from - len]);
              runs.splice(idx, 1, ...rest);
            }
            expect(pa.physical.freePages).toBe(pa.usablePages - held.size);
          }
        },
      ),
      // A few cases by default (this runs for each allocator); many under MM386_DEEP=1.
      { numRuns: process.env.MM386_DEEP ? 1000 : 25 },
    );
  });
});

describe("createPageAllocators refuses a memory map it cannot use", () => {
  it.each([
    [[{ base: 0, length: 0x9f000, type: E820.RESERVED }], /no usable page/],
    [[{ base: 0xffff_f000, length: 0x2000, type: E820.USABLE }], /memory map entry 0/],
  ] as const)("%o", (memoryMap, message) => {
    expect(() => createPageAllocators({ memoryMap })).toThrow(message);
  });
});

describe("regressions from the hostile probe (issue 10)", () => {
  const make = (extra: Partial<Parameters<typeof createPageAllocators>[0]> = {}) =>
    createPageAllocators({ memoryMap: defaultMemoryMap(16 * MiB), ...extra });
  const codeOf = (f: () => unknown): { code: unknown; message: string; name: string } | null => {
    try {
      f();
    } catch (e) {
      return {
        code: (e as { code?: unknown }).code,
        message: (e as Error).message,
        name: (e as Error).name,
      };
    }
    return null;
  };

  it("a zero-length reserved range or kernel image at an unaligned address reserves nothing", () => {
    // 16 MiB = 4096 frames, minus the first MiB (256) and, by default, a 1 MiB kernel image (256).
    const plain = make({ kernelImage: { start: 0x10_0000, length: 0 } });
    expect(plain.usablePages).toBe(4096 - 256);
    const pa = make({
      kernelImage: { start: 0x30_0010, length: 0 },
      reserved: [{ start: 0x40_0123, length: 0 }],
    });
    expect(pa.usablePages).toBe(4096 - 256);
    const pages = drain(pa);
    expect(pages).toContain(0x30_0000);
    expect(pages).toContain(0x40_0000);
    // A range of one byte still takes its page.
    expect(make({ kernelImage: { start: 0x30_0fff, length: 1 } }).usablePages).toBe(4096 - 257);
  });

  it("vpalloc and vpfree refuse null, booleans, BigInt, Symbol, strings with a typed error, changing nothing", () => {
    const pa = make();
    const vpa = pa.vpcreate(0x1000, 64 * 4096);
    const held = pa.vpalloc(vpa, 2, 2)!;
    const kheld = pa.vpalloc(1, 1)!;
    const state = () => [pa.kernel.freePages, vpa.freePages, pa.physical.freePages];
    const before = state();
    const bad: unknown[] = [null, undefined, true, false, 5n, Symbol("vpa"), "1", {}, [], () => 1];
    for (const v of bad) {
      for (const [call, fn] of [
        ["vpalloc", () => pa.vpalloc(v as never, 1, 1)],
        ["vpalloc", () => pa.vpalloc(v as number, 1)],
        ["vpfree", () => pa.vpfree(v as never, held.start, 1)],
        ["vpfree", () => pa.vpfree(v as number, 1)],
      ] as const) {
        const r = codeOf(fn);
        expect(r?.name, `${call}(${String(v)})`).toBe("AllocationError");
        expect(r?.code).toBe("E_BAD_ARGUMENT");
        expect(state()).toEqual(before);
      }
    }
    // The value is named as what it is: a BigInt is not the page count 5.
    expect(codeOf(() => pa.vpalloc(5n as unknown as number, 1))?.message).toMatch(/5n/);
    expect(codeOf(() => pa.vpalloc(Symbol("s") as unknown as number, 1))?.message).toMatch(
      /Symbol\(s\)/,
    );
    expect(codeOf(() => pa.vpalloc(vpa, 1, 2n as unknown as number))?.message).toMatch(/2n/);
    pa.vpfree(vpa, held.start, 2);
    pa.vpfree(kheld.start, 1);
  });

  it("BigInt and Symbol anywhere in the allocators' calls are typed errors that change nothing", () => {
    const pa = make();
    const run = pa.ppalloc(1, 1)!;
    const states = () => (pa.physical as PageRangeAllocator).ranges.states();
    const before = states();
    const weird: unknown[] = [7n, Symbol("x"), null, true, "4096", { start: 0 }];
    for (const w of weird) {
      const x = w as number;
      for (const fn of [
        () => pa.ppalloc(x, 2),
        () => pa.ppalloc(1, x),
        () => pa.ppfree(x, 1),
        () => pa.ppfree(run.start, x),
        () => pa.vpcreate(x, 4096),
        () => pa.vpcreate(0x1000, x),
        () => pa.physical.contains(x),
        () => pa.physical.reserveBytes({ start: x, length: 4096 }),
        () => pa.physical.reserveBytes({ start: 0x40_0000, length: x }),
        () => pa.physical.reserveBytes(w as { start: number; length: number }),
      ]) {
        const r = codeOf(fn);
        expect(r?.name, `${fn.toString()} with ${String(w)}`).toBe("AllocationError");
        expect(typeof r?.code).toBe("string");
        expect(states()).toEqual(before);
      }
    }
  });

  it("createPageAllocators refuses options of the wrong shape with E_BAD_CONFIG", () => {
    const map = defaultMemoryMap(16 * MiB);
    const cases: unknown[] = [
      null,
      {},
      { memoryMap: "map" },
      { memoryMap: [null] },
      { memoryMap: [{ base: 0n, length: 4096, type: 1 }] },
      { memoryMap: map, reserved: { start: 0, length: 1 } },
      { memoryMap: map, reserved: [null] },
      { memoryMap: map, reserved: [{ start: Symbol(), length: 1 }] },
      { memoryMap: map, kernelImage: { start: 1n, length: 1 } },
      { memoryMap: map, lowMemoryEnd: 1n },
      { memoryMap: map, rangeAllocator: 3 },
      { memoryMap: map, reservedVirtual: [{ start: 0xc000_0000, length: Symbol() }] },
    ];
    for (const options of cases) {
      const r = codeOf(() =>
        createPageAllocators(options as Parameters<typeof createPageAllocators>[0]),
      );
      expect(
        r?.name,
        JSON.stringify(options, (_k, v: unknown) =>
          typeof v === "bigint" || typeof v === "symbol" ? String(v) : v,
        ),
      ).toBe("AllocationError");
      expect(r?.code).toBe("E_BAD_CONFIG");
    }
  });

  it("user regions cost what they hold: the sparse allocator by default, the chosen one when given", () => {
    const byDefault = make().vpcreate(0x1000, 0xc000_0000 - 0x1000) as PageRangeAllocator;
    expect(byDefault.ranges).toBeInstanceOf(SparseRangeAllocator);
    const chosen = make({ rangeAllocator: firstFitRanges }).vpcreate(
      0x1000,
      64 * 4096,
    ) as PageRangeAllocator;
    expect(chosen.ranges.name).toBe("first-fit bitmap");
    const region = make({ regionRangeAllocator: buddyRanges }).vpcreate(
      0x1000,
      64 * 4096,
    ) as PageRangeAllocator;
    expect(region.ranges.name).toBe("buddy");
    // The kernel half and physical memory stay on buddy by default.
    expect((make().kernel as PageRangeAllocator).ranges.name).toBe("buddy");
  });
});
