import { createMachine, type Machine, PageFault } from "@mm386/hw-i386";
import { expectCode, faultOf as fault } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import {
  PTE_PRESENT as P,
  PTE_USER as U,
  PTE_WRITE as W,
  type MapMemContext,
  Paging,
  PagingError,
  hobbyMapMem,
  boot,
  createInitPagedir,
  describeValue,
  startPaging,
} from "../src/index.js";

const MiB = 1024 * 1024;

function fresh(ramBytes = 64 * MiB, split?: number): { m: Machine; p: Paging } {
  const m = createMachine({ ramBytes });
  return { m, p: startPaging(m, split === undefined ? {} : { split }) };
}

const refused = (f: () => unknown, code: string, message?: RegExp) =>
  void expectCode(f, code, { type: PagingError, message });

describe("boot", () => {
  it("maps low memory 1:1 and the kernel at the split, then turns paging on", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    m.ram.write32(0x10_0040, 0xfeed);
    m.ram.write32(0x3f_f000, 0xbeef);
    const info = boot(m);
    expect(m.mmu.pagingEnabled).toBe(true);
    expect(m.mmu.cr3).toBe(info.pageDirectory);
    expect(m.mmu.read32(0x10_0040)).toBe(0xfeed); // identity
    expect(m.mmu.read32(0x3f_f000)).toBe(0xbeef); // the identity table covers all 4 MiB
    // As the seed says: virtual 0xC0000000 is the kernel at physical 0x00100000.
    expect(m.mmu.read32(0xc000_0040)).toBe(0xfeed);
    expect(info.pageDirectory).toBe(0x20_0000); // right after the 1 MiB image at 1 MiB
    expect(info.pageTable).toBe(0x20_1000);
    expect(info.identityTable).toBe(0x20_2000);
    expect(info.mappedBytes).toBe(0x20_3000);
    // PD[0] -> identity table, PD[768] -> kernel table; KT[0] = 0x00100000, KT[0x102] = the identity table.
    expect(m.ram.read32(0x20_0000) & ~0xfff).toBe(0x20_2000);
    expect(m.ram.read32(0x20_0000 + 4 * 768) & ~0xfff).toBe(0x20_1000);
    expect(m.ram.read32(0x20_1000) & ~0xfff).toBe(0x10_0000);
    expect(m.ram.read32(0x20_1000 + 4 * 0x102) & ~0xfff).toBe(0x20_2000);
    expect(m.ram.read32(0x20_1000 + 4 * 0x103)).toBe(0); // past the boot range
    expect(() => m.mmu.read32(0xc010_3000)).toThrow(PageFault);
    expect(info.reservedPhysical).toEqual([{ start: 0x20_0000, length: 0x3000 }]);
    expect(info.reservedVirtual).toEqual([
      { start: 0xc000_0000, length: 0x10_3000 },
      { start: 0xc03f_f000, length: 0x1000 },
    ]);
  });

  it("takes the kernel load address and size as options, and refuses what does not fit", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    expect(boot(m, { kernelLoad: 0x20_0000, kernelSize: 0x1800 }).pageDirectory).toBe(0x20_2000);
    refused(() => boot(createMachine(), { kernelSize: 4 * MiB }), "E_BAD_CONFIG", /first 4 MiB/);
    refused(() => boot(createMachine(), { split: 0xc000_1000 }), "E_BAD_CONFIG", /0xc0001000/);
  });

  it("has the frames it used reserved: ppalloc never returns them", () => {
    const { p } = fresh(16 * MiB);
    const pages: number[] = [];
    for (let run = p.allocators.ppalloc(1, 64); run; run = p.allocators.ppalloc(1, 64)) {
      for (let i = 0; i < run.pages; i++) pages.push(run.start + i * 4096);
    }
    expect(Math.min(...pages)).toBeGreaterThanOrEqual(0x20_3000);
  });
});

describe("createInitPagedir", () => {
  it("removes the identity map: a low address faults at CPL 0", () => {
    const { m, p } = fresh();
    expect(m.mmu.cr3).toBe(p.init.phys);
    const f = fault(() => m.mmu.read32(0x10_0040));
    expect([f.errorCode, f.cr2]).toEqual([0, 0x10_0040]);
    expect(m.mmu.read32(0xc000_0040)).toBe(0); // the kernel is still there
  });

  it("records the boot kernel table in kvpd and an empty vpde per user PDE", () => {
    const { p } = fresh();
    expect(p.init.vpde).toHaveLength(768);
    expect(p.init.vpde.every((v) => v === null)).toBe(true);
    expect(p.kvpd).toHaveLength(256);
    expect(p.kvpd[0]).toBe(0xc000_0000 + 0x20_1000 - 0x10_0000); // the boot table: split maps the kernel at 1 MiB
    expect(p.kernelPhysOf(p.kvpd[0]!)).toBe(0x20_1000);
  });

  it("follows a configurable split", () => {
    const { m, p } = fresh(64 * MiB, 0x8000_0000);
    expect(p.userPdes).toBe(512);
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(2, 2)!;
    expect(p.mapMem(as, f.start, 0x7fff_f000, 1, P | W | U)).toBe(true);
    expect(p.mapMem(null, f.start + 4096, 0x8000_0000 + 0x40_0000, 1, P | W)).toBe(true);
    refused(() => p.mapMem(as, f.start, 0x7fff_f000, 2, P | W), "E_CROSSES_SPLIT", /0x80000000/);
    p.switchTo(as);
    m.mmu.write32(0x7fff_f000, 5, 3);
    expect(m.ram.read32(f.start)).toBe(5);
  });
});

describe("mapMem", () => {
  it("refuses bad input with a typed error naming the value and changes nothing", () => {
    const { m, p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!;
    p.mapMem(as, f.start, 0x0040_0000, 1, P | W | U);
    const before = [
      p.formatDump(as),
      p.allocators.physical.freePages,
      p.allocators.kernel.freePages,
      m.mmu.stats.flushes,
    ];
    refused(() => p.mapMem(as, f.start, 0x0040_0800, 1, P), "E_UNALIGNED", /0x00400800/);
    refused(() => p.mapMem(as, f.start + 1, 0x0040_1000, 1, P), "E_UNALIGNED", /physical/);
    refused(() => p.mapMem(as, f.start, 0xbfff_f000, 2, P), "E_CROSSES_SPLIT", /0xbffff000/);
    refused(() => p.mapMem(null, f.start, 0xffff_f000, 2, P), "E_WRAPS", /0xfffff000/);
    refused(() => p.mapMem(null, f.start, 0xd000_0000, 1, P | U), "E_USER_ON_KERNEL", /0xd0000000/);
    refused(() => p.mapMem(as, 64 * MiB - 4096, 0x0040_1000, 2, P), "E_PAST_RAM", /0x04000000/);
    refused(() => p.mapMem(as, f.start, 0x0040_1000, 1, 0x1001), "E_BAD_FLAGS", /0x00001001/);
    refused(() => p.mapMem(null, f.start, 0x0040_1000, 1, P), "E_NO_PAGEDIR");
    refused(() => p.mapMem(as, f.start, 0x0040_1000, 0, P), "E_BAD_ARGUMENT", /page count 0/);
    expect([
      p.formatDump(as),
      p.allocators.physical.freePages,
      p.allocators.kernel.freePages,
      m.mmu.stats.flushes,
    ]).toEqual(before);
  });
});

describe("address spaces", () => {
  it("are isolated: user cannot read the kernel (error 5), and a page of one is absent in another", () => {
    const { m, p } = fresh();
    const a = p.createAddressSpace()!;
    const b = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!;
    p.mapMem(a, f.start, 0x0040_0000, 1, P | W | U);
    p.switchTo(a);
    expect(fault(() => m.mmu.read32(0xc000_0000, 3)).errorCode).toBe(5);
    m.mmu.write32(0x0040_0000, 1, 3);
    p.switchTo(b);
    expect(fault(() => m.mmu.read32(0x0040_0000, 3)).errorCode).toBe(4);
    expect(fault(() => m.mmu.read32(0x0040_0000, 0)).errorCode).toBe(0);
  });

  it("give every page table and the directory back when destroyed, but not the mapped frames", () => {
    const { p } = fresh();
    const freeBefore = p.allocators.physical.freePages;
    const kernelBefore = p.allocators.kernel.freePages;
    const frames = p.allocators.ppalloc(2, 2)!;
    const as = p.createAddressSpace()!;
    p.mapMem(as, frames.start, 0x0040_0000, 1, P | U);
    p.mapMem(as, frames.start + 4096, 0x8000_0000, 1, P | U);
    expect(as.vpde.filter((v) => v !== null)).toHaveLength(2);
    p.destroyAddressSpace(as);
    expect(p.allocators.physical.freePages).toBe(freeBefore - 2); // only the caller's two frames stay out
    expect(p.allocators.kernel.freePages).toBe(kernelBefore);
    expect(p.pagedirs()).toEqual([p.init]);
    refused(() => p.switchTo(as), "E_DESTROYED");
  });

  it("refuses to destroy the current or the first address space", () => {
    const { p } = fresh();
    const as = p.createAddressSpace()!;
    p.switchTo(as);
    refused(() => p.destroyAddressSpace(as), "E_CURRENT");
    refused(() => p.destroyAddressSpace(p.init), "E_INIT_PAGEDIR");
  });

  it("each has its own user-half virtual page allocator, page 0 excluded", () => {
    const { p } = fresh();
    const a = p.createAddressSpace()!;
    const b = p.createAddressSpace()!;
    const ra = p.allocators.vpalloc(a.vpa, 4, 4)!;
    const rb = p.allocators.vpalloc(b.vpa, 4, 4)!;
    expect(ra).toEqual(rb); // separate regions: both get the same first pages
    expect(ra.start).toBeGreaterThanOrEqual(0x1000);
    expect(ra.start + 4 * 4096).toBeLessThanOrEqual(0xc000_0000);
    expect(a.vpa).toBe(a.vpa); // made once
  });

  it("keep every pagedir on one circular list", () => {
    const { p } = fresh();
    const a = p.createAddressSpace()!;
    const b = p.createAddressSpace()!;
    expect(p.pagedirs()).toEqual([p.init, a, b]);
    expect([p.init.next, a.next, b.next]).toEqual([a, b, p.init]);
    p.destroyAddressSpace(a);
    expect(p.pagedirs()).toEqual([p.init, b]);
  });
});

describe("inspection", () => {
  it("dumps mappings coalesced into runs, with flags", () => {
    const { p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(8, 8)!;
    p.mapMem(as, f.start, 0x0040_0000, 4, P | W | U);
    p.mapMem(as, f.start + 5 * 4096, 0x0040_4000, 2, P | U); // the frames jump: a new run
    const user = p.dump(as).filter((r) => r.virt < 0xc000_0000);
    expect(user).toEqual([
      { virt: 0x0040_0000, phys: f.start, pages: 4, flags: P | W | U },
      { virt: 0x0040_4000, phys: f.start + 5 * 4096, pages: 2, flags: P | U },
    ]);
    expect(p.formatDump(as)).toContain("0x00400000-0x00403fff -> ");
  });

  it("explains one address with its PDE, PTE and the table's kernel address", () => {
    const { p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!;
    p.mapMem(as, f.start, 0x0040_5000, 1, P | U);
    const text = p.explain(0x0040_5123, as);
    expect(text).toContain("PDE 1 ");
    expect(text).toContain("PTE 5 ");
    expect(text).toContain(`frame 0x${f.start.toString(16).padStart(8, "0")}`);
    expect(text).toContain(`vpde[1] = 0x${as.vpde[1]!.toString(16)}`);
  });
});

describe("regressions from the hostile probe (issue 10)", () => {
  const caught = (f: () => unknown): { name: string; code: unknown; message: string } | null => {
    try {
      f();
    } catch (e) {
      return {
        name: (e as Error).name,
        code: (e as { code?: unknown }).code,
        message: (e as Error).message,
      };
    }
    return null;
  };

  it("probe checks its arguments before it switches: a refused probe flushes nothing", () => {
    const { m, p } = fresh();
    const other = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!.start;
    p.mapMem(null, f, 0xd000_0000, 1, P | W);
    m.mmu.read32(0xd000_0000); // cached
    const gone = p.createAddressSpace()!;
    p.destroyAddressSpace(gone);
    const before = [m.mmu.stats.flushes, m.mmu.cr3];
    for (const [call, code] of [
      [() => p.probe(2 ** 32, 0, other), "E_BAD_ARGUMENT"],
      [() => p.probe(-4, 0, other), "E_BAD_ARGUMENT"],
      [() => p.probe(0xd000_0000, 1 as 0, other), "E_BAD_ARGUMENT"],
      [() => p.probe(5n as unknown as number, 0, other), "E_BAD_ARGUMENT"],
      [() => p.probe(0xd000_0000, 0, gone), "E_DESTROYED"],
      [() => p.probe(0xd000_0000, 0, {} as never), "E_NOT_PAGEDIR"],
    ] as const) {
      expect(caught(call)?.code).toBe(code);
      expect([m.mmu.stats.flushes, m.mmu.cr3]).toEqual(before);
    }
    expect(p.probe(0xd000_0000, 0, other)).toBe(0); // a good probe still works
  });

  it("anything but one of this paging's pagedirs is E_NOT_PAGEDIR, naming it, and changes nothing", () => {
    const { m, p } = fresh();
    const as = p.createAddressSpace()!;
    const foreign = fresh().p.createAddressSpace()!; // a real Pagedir, of another machine
    const f = p.allocators.ppalloc(1, 1)!.start;
    const state = () => [
      p.formatDump(as),
      p.pagedirs().length,
      p.allocators.physical.freePages,
      p.allocators.kernel.freePages,
      m.mmu.stats.flushes,
      m.mmu.cr3,
    ];
    const before = state();
    const bad: unknown[] = [
      0,
      1n,
      Symbol("pd"),
      "pd",
      true,
      {},
      { phys: as.phys, virt: as.virt, vpde: [] },
      foreign,
    ];
    for (const v of bad) {
      const pd = v as never;
      for (const call of [
        () => p.mapMem(pd, f, 0x0040_0000, 1, P | U),
        () => p.mapMem(pd, f, 0xd000_0000, 1, P), // pd is ignored for kernel addresses, but not garbage
        () => p.switchTo(pd),
        () => p.destroyAddressSpace(pd),
        () => p.dump(pd),
        () => p.formatDump(pd),
        () => p.translate(0x0040_0000, pd),
        () => p.explain(0x0040_0000, pd),
        () => p.freeUserTable(pd, 1),
      ]) {
        const r = caught(call);
        expect(r?.name, `${call.toString()} with ${String(v)}`).toBe("PagingError");
        expect(r?.code).toBe("E_NOT_PAGEDIR");
        expect(state()).toEqual(before);
      }
    }
    expect(caught(() => p.switchTo(1n as never))?.message).toMatch(/1n is not a pagedir/);
    expect(caught(() => p.switchTo(Symbol("pd") as never))?.message).toMatch(/Symbol\(pd\)/);
  });

  it("BigInt, Symbol, null and strings in any numeric argument are typed errors that change nothing", () => {
    const { m, p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!.start;
    p.mapMem(as, f, 0x0040_0000, 1, P | U);
    const state = () => [p.formatDump(as), p.allocators.physical.freePages, m.mmu.stats.flushes];
    const before = state();
    for (const w of [3n, Symbol("x"), null, "4096", true, 1.5, NaN]) {
      const x = w as number;
      for (const call of [
        () => p.mapMem(as, x, 0x0040_1000, 1, P),
        () => p.mapMem(as, f, x, 1, P),
        () => p.mapMem(as, f, 0x0040_1000, x, P),
        () => p.mapMem(as, f, 0x0040_1000, 1, x),
        () => p.translate(x, as),
        () => p.explain(x, as),
        () => p.probe(x, 0),
        () => p.kernelTablePhys(x),
        () => p.kernelPteVa(x, 0),
        () => p.kernelPteVa(800, x),
        () => p.window(x),
        () => p.freeUserTable(as, x),
        () => p.pageSource.freePage(x),
      ]) {
        const r = caught(call);
        expect(r?.name, `${call.toString()} with ${String(w)}`).toBe("PagingError");
        expect(typeof r?.code).toBe("string");
        expect(state()).toEqual(before);
      }
    }
    expect(p.kernelPhysOf(3n as never)).toBeNull(); // a question, not a command: no such mapping
    expect(caught(() => p.mapMem(as, f, 0x0040_1000, 2n as never, P))?.message).toMatch(
      /page count 2n/,
    );
  });

  it("boot, startPaging and createInitPagedir refuse non-machines and BigInt/Symbol options with typed errors", () => {
    const m16 = () => createMachine({ ramBytes: 16 * MiB });
    const calls = (w: unknown) => [
      () => startPaging(w as never),
      () => boot(w as never),
      // null and {} are fine as options and as option values ("not given"); the rest are not.
      ...(w === null || (typeof w === "object" && w !== null)
        ? []
        : [
            () => startPaging(m16(), w),
            () => startPaging(m16(), { split: w as never }),
            () => startPaging(m16(), { kernelLoad: w as never }),
            () => startPaging(m16(), { kernelSize: w as never }),
            () => startPaging(m16(), { rangeAllocator: w as never }),
          ]),
    ];
    for (const w of [1n, Symbol("s"), null, "0xc0000000", true, {}]) {
      for (const call of calls(w)) {
        const r = caught(call);
        expect(
          ["PagingError", "AllocationError"],
          `${call.toString()} with ${describeValue(w)}`,
        ).toContain(r?.name);
        expect(r?.code).toBe("E_BAD_CONFIG");
      }
    }
    expect(caught(() => boot(createMachine(), { split: 3n as never }))?.message).toMatch(
      /split 3n/,
    );
    const m = createMachine({ ramBytes: 16 * MiB });
    boot(m);
    expect(caught(() => startPaging(m))?.message).toMatch(/paging is already on/);
    expect(caught(() => createInitPagedir(m, null as never, {} as never))?.code).toBe(
      "E_BAD_CONFIG",
    );
  });

  it("a mapMem that runs out of memory keeps the kernel page tables it made, as documented", () => {
    // Kernel page tables are shared by every pagedir and never freed (as in Linux and the
    // hobby kernel): a failed call may leave new, empty ones; the next call reuses them.
    const { m, p } = fresh(4 * MiB);
    const hog: number[] = [];
    for (let run = p.allocators.ppalloc(1, 64); run; run = p.allocators.ppalloc(1, 64))
      for (let i = 0; i < run.pages; i++) hog.push(run.start + i * 4096);
    p.allocators.ppfree(hog.pop()!, 1); // one frame left: enough for one table
    const frame = hog[0]!;
    const tables = () => p.kvpd.filter((t) => t !== null).length;
    const r = 0xd000_0000 >>> 22;
    expect(p.kernelTablePhys(r)).toBeNull();
    const t0 = tables();
    // Two regions need two tables; only one frame: refused, no mapping, the first table stays.
    expect(p.mapMem(null, frame, 0xd03f_f000, 2, P | W)).toBe(false);
    expect(p.kernelTablePhys(r)).not.toBeNull();
    expect(p.kernelPhysOf(0xd03f_f000)).toBeNull();
    expect(p.allocators.physical.freePages).toBe(0);
    expect(fault(() => m.mmu.read32(0xd03f_f000)).errorCode).toBe(0);
    // Still reached (through the window when it has no address of its own): a mapping in it needs no new frame.
    expect(tables() - t0).toBeLessThanOrEqual(1);
    expect(p.mapMem(null, frame, 0xd03f_f000, 1, P | W)).toBe(true);
    expect(m.mmu.read32(0xd03f_f000)).toBe(m.ram.read32(frame));
  });
});

describe("narrow seams (issue 12)", () => {
  it("keeps vpde, kvpd and the pagedir links out of reach of writers", () => {
    const { m, p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!.start;
    p.mapMem(as, f, 0x0040_0000, 1, P | W | U);
    const table = as.vpde[1];
    expect(table).not.toBeNull();
    // The arrays handed out are frozen copies: writing throws, and paging's own is untouched.
    expect(() => ((as.vpde as (number | null)[])[1] = null)).toThrow(TypeError);
    expect(() => ((p.kvpd as (number | null)[])[0] = 0)).toThrow(TypeError);
    expect(as.vpde[1]).toBe(table);
    // Links and the destroyed flag have getters only.
    expect(() => Object.assign(as, { next: p.init })).toThrow(TypeError);
    expect(() => Object.assign(as, { destroyed: true })).toThrow(TypeError);
    p.switchTo(as);
    m.ram.write32(f, 0x5eed);
    expect(m.mmu.read32(0x0040_0000, 3)).toBe(0x5eed);
  });

  it("hands a MapMem a context of a few operations, not the Paging or its allocators", () => {
    let seen: object | undefined;
    const m = createMachine({ ramBytes: 16 * MiB });
    const p = startPaging(m, {
      mapMem: {
        name: "spy",
        map: (k, ...rest) => {
          seen ??= k;
          return hobbyMapMem.map(k, ...rest);
        },
      },
    });
    p.mapMem(null, p.allocators.ppalloc(1, 1)!.start, 0xd000_0000, 1, P | W);
    expect(seen).toBeDefined();
    expect(seen).not.toBeInstanceOf(Paging);
    expect(Object.keys(seen!)).not.toContain("allocators");
    expect(Object.keys(seen!)).not.toContain("kvpd");
    // A bookkeeping write it is given is checked: an address that is not a mapped kernel page.
    const k = seen as MapMemContext;
    expect(() => k.setKernelTable(800, 0x1234_5000)).toThrow(/not a mapped kernel page/);
    expect(() => k.setUserTable(p.init, 768, null)).toThrow(/not a user region/);
  });
});
