import { createMachine, type Machine, PageFault } from "@mm386/hw-i386";
import { type Paging, startPaging } from "@mm386/paging";
import { describe, expect, it } from "vitest";
import { Kvmalloc, KvmallocError } from "../src/index.js";

const MiB = 1024 * 1024;

function setup(ramBytes = 16 * MiB, guardPages = false): { m: Machine; p: Paging; kv: Kvmalloc } {
  const m = createMachine({ ramBytes });
  const p = startPaging(m);
  return { m, p, kv: new Kvmalloc(p, { guardPages }) };
}

function refused(f: () => unknown, code: string, message?: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KvmallocError);
    expect((e as KvmallocError).code).toBe(code);
    if (message) expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe("kvmalloc", () => {
  it("maps n consecutive kernel pages, writable and supervisor-only", () => {
    const { m, p, kv } = setup();
    const va = kv.kvmalloc(3)!;
    expect(va).toBeGreaterThanOrEqual(0xc000_0000);
    for (let i = 0; i < 3; i++) {
      const w = p.translate(va + i * 4096);
      expect(w.pa).not.toBeNull();
      expect(w.writable).toBe(true);
      expect(w.user).toBe(false);
    }
    m.mmu.write32(va + 3 * 4096 - 4, 7);
    expect(m.mmu.read32(va + 3 * 4096 - 4)).toBe(7);
    expect(() => m.mmu.read32(va, 3)).toThrow(PageFault);
  });

  it("takes frames that need not be consecutive", () => {
    const { p, kv } = setup();
    // Fragment physical memory: hold every other page of a run.
    const run = p.allocators.ppalloc(64, 64)!;
    for (let i = 0; i < 64; i += 2) p.allocators.ppfree(run.start + i * 4096, 1);
    while (p.allocators.ppalloc(2, 2) !== null); // no two consecutive frames are left
    const va = kv.kvmalloc(4)!;
    const frames = [0, 1, 2, 3].map((i) => p.translate(va + i * 4096).pa!);
    expect(new Set(frames).size).toBe(4);
    expect(frames.some((f, i) => i > 0 && f !== frames[i - 1]! + 4096)).toBe(true);
  });

  it("kvfree gives back the frames, the pages and the mapping", () => {
    const { m, p, kv } = setup();
    const physBefore = p.allocators.physical.freePages;
    const virtBefore = p.allocators.kernel.freePages;
    const va = kv.kvmalloc(5)!;
    const afterAlloc = [p.allocators.physical.freePages, p.allocators.kernel.freePages];
    kv.kvfree(va, 5);
    expect(p.allocators.physical.freePages).toBe(physBefore);
    // Page tables made on the way stay; everything kvmalloc took is back.
    expect(p.allocators.kernel.freePages).toBeGreaterThanOrEqual(virtBefore - 1);
    expect(afterAlloc[0]).toBeLessThanOrEqual(physBefore - 5);
    expect(() => m.mmu.read32(va)).toThrow(PageFault);
    expect(kv.pages).toBe(0);
  });

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

  it("refuses frees of foreign addresses and wrong sizes, changing nothing", () => {
    const { p, kv } = setup();
    const va = kv.kvmalloc(2)!;
    const before = [p.allocators.physical.freePages, p.allocators.kernel.freePages];
    refused(
      () => kv.kvfree(va + 4096, 1),
      "E_NOT_ALLOCATED",
      new RegExp(`0x${(va + 4096).toString(16)}`),
    );
    refused(() => kv.kvfree(va, 3), "E_WRONG_SIZE", /holds 2 page/);
    refused(() => kv.kvmalloc(0), "E_BAD_ARGUMENT");
    expect([p.allocators.physical.freePages, p.allocators.kernel.freePages]).toEqual(before);
    kv.kvfree(va, 2);
    refused(() => kv.kvfree(va, 2), "E_NOT_ALLOCATED", /freed already/);
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
