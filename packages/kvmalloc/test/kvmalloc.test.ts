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
import { Kvmalloc } from "../src/index.js";

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
