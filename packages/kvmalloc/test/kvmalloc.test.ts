import { createPageAllocators } from "@mm386/allocation";
import { createMachine, defaultMemoryMap, type Machine, PageFault } from "@mm386/hw-i386";
import {
  boot,
  createInitPagedir,
  describeValue,
  hobbyMapMem,
  type MapMem,
  type Paging,
  PagingError,
  PTE_PRESENT,
  startPaging,
} from "@mm386/paging";
import { describe, expect, it } from "vitest";
import { describeKvmallocConformance } from "../src/conformance.js";
import { Kvmalloc, resizeKernelPages } from "../src/index.js";

const MiB = 1024 * 1024;

function setup(ramBytes = 16 * MiB, guardPages = false): { m: Machine; p: Paging; kv: Kvmalloc } {
  const m = createMachine({ ramBytes });
  const p = startPaging(m);
  return { m, p, kv: new Kvmalloc(p, { guardPages }) };
}

describeKvmallocConformance("Kvmalloc", (paging) => new Kvmalloc(paging));
describeKvmallocConformance(
  "Kvmalloc with guard pages",
  (paging) => new Kvmalloc(paging, { guardPages: true }),
);

describe("kvmalloc", () => {
  it("leaves nothing half-allocated when memory runs out", () => {
    const { p, kv } = setup(4 * MiB);
    const tables = () => p.kvpd.filter((t) => t !== null).length;
    const [phys, virt, tablesBefore] = [
      p.allocators.physical.freePages,
      p.allocators.kernel.freePages,
      tables(),
    ];
    expect(kv.kvmalloc(phys + 1)).toBeNull();
    // Every frame and page kvmalloc took is back; only kernel page tables made on the way stay
    // (one frame and one kernel page each), as paging documents.
    const made = tables() - tablesBefore;
    expect(p.allocators.physical.freePages).toBe(phys - made);
    expect(p.allocators.kernel.freePages).toBe(virt - made);
    expect(kv.allocations).toBe(0);
    expect(kv.pages).toBe(0);
  });

  it("puts an unmapped guard page after each allocation in debugging mode", () => {
    const { m, kv } = setup(16 * MiB, true);
    const va = kv.kvmalloc(2)!;
    m.mmu.write32(va + 2 * 4096 - 4, 1);
    let fault: PageFault | undefined;
    try {
      m.mmu.write32(va + 2 * 4096, 1);
    } catch (e) {
      fault = e as PageFault;
    }
    expect(fault).toBeInstanceOf(PageFault);
    expect(fault!.cr2).toBe(va + 2 * 4096);
    expect(fault!.errorCode).toBe(2); // not present, write, supervisor
    const next = kv.kvmalloc(1)!;
    expect(next === va + 2 * 4096).toBe(false); // the guard page is not handed out
  });

  it("serves as paging's page source for page tables and directories", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    let kv: Kvmalloc | undefined;
    const p = startPaging(m, {
      pageSource: (paging) => {
        kv = new Kvmalloc(paging);
        return kv.asPageSource();
      },
    });
    const as = p.createAddressSpace()!;
    expect(kv!.allocations).toBe(1); // the directory
    p.mapMem(as, p.allocators.ppalloc(1, 1)!.start, 0x0040_0000, 1, 7);
    expect(kv!.allocations).toBe(2); // and a page table
    p.destroyAddressSpace(as);
    expect(kv!.allocations).toBe(0);
  });
});

describe("kvmalloc is all or nothing when a page is refused half-way (issue 10)", () => {
  /** Everything a failed kvmalloc must give back, observed from outside. */
  const snapshot = (p: Paging, kv: Kvmalloc) => ({
    physical: p.allocators.physical.freePages,
    kernel: p.allocators.kernel.freePages,
    mappings: p.formatDump(p.init),
    allocations: kv.allocations,
    pages: kv.pages,
  });

  it("gives back frames, kernel pages and mappings when RAM ends before the memory map says", () => {
    // The machine has 16 MiB; the memory map handed to the allocators promises 32 MiB, so
    // ppalloc can return frames mapMem refuses (E_PAST_RAM), as a wrong e820 map would.
    const m = createMachine({ ramBytes: 16 * MiB });
    const info = boot(m);
    const allocators = createPageAllocators({
      memoryMap: defaultMemoryMap(32 * MiB),
      kernelImage: { start: info.kernelLoad, length: info.kernelSize },
      reserved: info.reservedPhysical,
      kernelVirtual: { start: info.split, length: 2 ** 32 - info.split },
      reservedVirtual: info.reservedVirtual,
    });
    let goodRuns = 0;
    const p = createInitPagedir(m, info, allocators, {
      mapMem: {
        name: "counting",
        map: (...args) => {
          if ((args[5] & PTE_PRESENT) !== 0) goodRuns++;
          return hobbyMapMem.map(...args);
        },
      },
    });
    const kv = new Kvmalloc(p);
    kv.kvfree(kv.kvmalloc(1)!, 1); // let the kernel region's page tables exist first
    // Leave an aligned block of four frames below 16 MiB and one frame above. ppalloc(1, 5)
    // takes the largest block first: the four good frames map, then the fifth is refused.
    const hog: number[] = [];
    for (let run = allocators.ppalloc(1, 64); run; run = allocators.ppalloc(1, 64))
      for (let i = 0; i < run.pages; i++) hog.push(run.start + i * 4096);
    expect(hog).toContain(8 * MiB);
    allocators.ppfree(8 * MiB, 4);
    allocators.ppfree(
      hog.find((f) => f >= 16 * MiB)!,
      1,
    );
    const before = snapshot(p, kv);
    goodRuns = 0;
    let err: unknown;
    try {
      kv.kvmalloc(5);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: unknown }).code).toBe("E_PAST_RAM");
    expect(goodRuns, "the first run was mapped before the refusal").toBe(1);
    expect(snapshot(p, kv)).toEqual(before);
    // And the frames below 16 MiB can still be had.
    expect(kv.kvmalloc(4)).not.toBeNull();
  });

  it("for every page k at which mapMem refuses, frames, kernel pages and mappings are all back", () => {
    for (const guardPages of [false, true]) {
      for (let k = 0; k < 6; k++) {
        let budget = Infinity; // pages the mapper still maps before it refuses
        const refusing: MapMem = {
          name: "refuses the k-th page",
          map(k, pd, phys, virt, n, flags) {
            if ((flags & PTE_PRESENT) === 0) return hobbyMapMem.map(k, pd, phys, virt, n, flags);
            // Map page by page, so a refusal can land in the middle of a run (the worst case).
            for (let i = 0; i < n; i++) {
              if (budget === 0) throw new PagingError("E_PAST_RAM", `refusing ${virt + i * 4096}`);
              budget--;
              if (!hobbyMapMem.map(k, pd, phys + i * 4096, virt + i * 4096, 1, flags)) return false;
            }
            return true;
          },
        };
        const m = createMachine({ ramBytes: 16 * MiB });
        const p = startPaging(m, { mapMem: refusing });
        const kv = new Kvmalloc(p, { guardPages });
        kv.kvfree(kv.kvmalloc(8)!, 8); // page tables for the region exist from here on
        // Scatter the free frames so that kvmalloc(6) takes several runs.
        const run = p.allocators.ppalloc(12, 12)!;
        for (let i = 0; i < 12; i += 2) p.allocators.ppfree(run.start + i * 4096, 1);
        const before = snapshot(p, kv);
        budget = k;
        expect(() => kv.kvmalloc(6), `refused at page ${k}`).toThrow(/E_PAST_RAM/);
        expect(snapshot(p, kv), `refused at page ${k}, guard pages ${guardPages}`).toEqual(before);
        budget = Infinity;
        const va = kv.kvmalloc(6)!;
        m.mmu.write32(va + 5 * 4096, 1);
        kv.kvfree(va, 6);
      }
    }
  });

  it("refuses a non-Paging, bad options and BigInt/Symbol arguments with typed errors", () => {
    const { p, kv } = setup();
    const va = kv.kvmalloc(1)!;
    const before = snapshot(p, kv);
    const caught = (f: () => unknown) => {
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
    for (const w of [1n, Symbol("n"), null, "1", true, {}]) {
      const x = w as number;
      for (const call of [() => kv.kvmalloc(x), () => kv.kvfree(x, 1), () => kv.kvfree(va, x)]) {
        const r = caught(call);
        expect(r?.name, `${call.toString()} with ${describeValue(w)}`).toBe("KvmallocError");
        expect(typeof r?.code).toBe("string");
        expect(snapshot(p, kv)).toEqual(before);
      }
    }
    expect(caught(() => kv.kvmalloc(2n as never))?.message).toMatch(/2n/);
    expect(caught(() => kv.kvfree(Symbol("a") as never, 1))?.message).toMatch(/Symbol\(a\)/);
    expect(caught(() => new Kvmalloc({} as never))?.code).toBe("E_BAD_ARGUMENT");
    expect(caught(() => new Kvmalloc(p, { guardPages: "yes" as never }))?.code).toBe(
      "E_BAD_ARGUMENT",
    );
  });
});

describe("kvresize and reserve", () => {
  const frames = (p: Paging, va: number, n: number) =>
    Array.from({ length: n }, (_, i) => p.translate(va + i * 4096).pa);

  it("grows in place within the reserve, mapping new frames after the last page", () => {
    const { m, p, kv } = setup();
    const va = kv.kvmalloc(2, 8)!;
    m.mmu.write32(va + 4092, 0xabcd);
    const phys = p.allocators.physical.freePages;
    expect(kv.kvresize(va, 2, 5, false)).toBe(va);
    expect(kv.pages).toBe(5);
    expect(p.allocators.physical.freePages).toBe(phys - 3);
    m.mmu.write32(va + 5 * 4096 - 4, 1); // the new last page is mapped
    expect(m.mmu.read32(va + 4092)).toBe(0xabcd);
    expect(() => m.mmu.read32(va + 5 * 4096)).toThrow(PageFault); // reserved, not mapped
  });

  it("shrinks in place: the tail's frames go back and its pages fault", () => {
    const { m, p, kv } = setup();
    const va = kv.kvmalloc(4)!;
    m.mmu.read32(va + 3 * 4096); // in the TLB: the shrink must invalidate it
    const phys = p.allocators.physical.freePages;
    expect(kv.kvresize(va, 4, 1, false)).toBe(va);
    expect(p.allocators.physical.freePages).toBe(phys + 3);
    expect(() => m.mmu.read32(va + 3 * 4096)).toThrow(PageFault);
    kv.kvfree(va, 1);
    expect(kv.pages).toBe(0);
  });

  it("moves the frames, not the bytes, when it cannot grow in place (mremap)", () => {
    const { m, p, kv } = setup();
    const va = kv.kvmalloc(3)!;
    const blocker = kv.kvmalloc(1)!; // may or may not sit right after; the reserve is 3 either way
    for (let i = 0; i < 3; i++) m.mmu.write32(va + i * 4096, 100 + i);
    const before = frames(p, va, 3);
    expect(kv.kvresize(va, 3, 4, false)).toBeNull(); // beyond the reserve, may not move
    expect(kv.pages).toBe(4); // 3 + the blocker: unchanged
    const virt = p.allocators.kernel.freePages;
    const moved = kv.kvresize(va, 3, 4, true)!;
    expect(moved).not.toBe(va);
    expect(frames(p, moved, 3)).toEqual(before); // the same frames, at the new address
    for (let i = 0; i < 3; i++) expect(m.mmu.read32(moved + i * 4096)).toBe(100 + i);
    expect(() => m.mmu.read32(va)).toThrow(PageFault);
    // The old 3 virtual pages came back, the new run is 4 + half as much again reserved.
    expect(p.allocators.kernel.freePages).toBe(virt + 3 - 6);
    expect(() => kv.kvfree(va, 3)).toThrow(/E_NOT_ALLOCATED/);
    kv.kvfree(moved, 4);
    kv.kvfree(blocker, 1);
    expect(kv.pages).toBe(0);
  });

  it("refuses bad calls with a code, changing nothing", () => {
    const { p, kv } = setup();
    const va = kv.kvmalloc(2)!;
    const state = () => [p.allocators.physical.freePages, p.allocators.kernel.freePages, kv.pages];
    const before = state();
    expect(() => kv.kvresize(va, 3, 4, true)).toThrow(/E_WRONG_SIZE.*0x/);
    expect(() => kv.kvresize(va + 4096, 1, 4, true)).toThrow(/E_NOT_ALLOCATED/);
    // Near a live allocation's address but not it: inside its first page, the
    // same page 4 GiB higher (a page number past the address space), a fraction.
    for (const bad of [va + 1, va + 2 ** 32, va + 0.5, va - 2 ** 32])
      expect(() => kv.kvfree(bad, 2), String(bad)).toThrow(/E_NOT_ALLOCATED/);
    expect(() => kv.kvresize(va, 2, 0, true)).toThrow(/E_BAD_ARGUMENT/);
    expect(() => kv.kvmalloc(2, 1)).toThrow(/E_BAD_ARGUMENT: reserve 1/);
    expect(state()).toEqual(before);
  });

  it("returns null and changes nothing when frames run out while growing", () => {
    const { p, kv } = setup(4 * MiB);
    const va = kv.kvmalloc(1, 100_000)!;
    const before = [p.allocators.physical.freePages, kv.pages];
    expect(kv.kvresize(va, 1, before[0]! + 2, false)).toBeNull();
    expect([p.allocators.physical.freePages, kv.pages]).toEqual(before);
  });
});

describe("resizeKernelPages on an allocator without kvresize", () => {
  it("copies through the MMU when it may move, and refuses what needs kvresize", () => {
    const { m, p } = setup();
    const inner = new Kvmalloc(p);
    const plain = {
      name: "plain",
      mmu: m.mmu,
      kvmalloc: (n: number) => inner.kvmalloc(n),
      kvfree: (a: number, n: number) => inner.kvfree(a, n),
    };
    const va = plain.kvmalloc(2)!;
    m.mmu.write32(va + 4096 + 8, 77);
    expect(resizeKernelPages(plain, va, 2, 2, false)).toBe(va);
    expect(resizeKernelPages(plain, va, 2, 1, true)).toBeNull();
    expect(resizeKernelPages(plain, va, 2, 3, false)).toBeNull();
    const moved = resizeKernelPages(plain, va, 2, 3, true)!;
    expect(m.mmu.read32(moved + 4096 + 8)).toBe(77);
    expect(inner.pages).toBe(3);
  });
});
