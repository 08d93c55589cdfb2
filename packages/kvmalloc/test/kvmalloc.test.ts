import { createMachine, type Machine, PageFault } from "@mm386/hw-i386";
import { type Paging, startPaging } from "@mm386/paging";
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
