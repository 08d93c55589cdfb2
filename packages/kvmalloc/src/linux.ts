/**
 * `@mm386/kvmalloc/linux`: Linux's vmalloc as a {@link KernelPageAllocator},
 * so the kvmalloc contract, its conformance suite and whatever builds on it
 * (malloc, the slab) run on Linux on i386 too.
 *
 * ```ts
 * const l = bootLinux(createMachine({ ramBytes: 1024 * 1024 * 1024 }));
 * const kv = new LinuxVmalloc(l);
 * const va = kv.kvmalloc(16)!;     // vmalloc(16 pages): highmem frames, tables in swapper_pg_dir
 * kv.kvfree(va, 16);               // vfree: one whole-TLB flush, globals included
 * ```
 *
 * @packageDocumentation
 */
import { hex32, PAGE_SIZE, type Mmu } from "@mm386/hw-i386";
import { describeValue } from "@mm386/paging";
import { LinuxPaging } from "@mm386/paging/linux";
import type { KernelPageAllocator } from "./api.js";
import { KVMALLOC_ERROR, KvmallocError } from "./kvmalloc.js";

/** An address in hex when it is one, else the value named as what it is. */
function show(v: unknown): string {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? hex32(v) : describeValue(v);
}

/**
 * kvmalloc(n) = `vmalloc(n pages)`, kvfree(addr, n) = `vfree(addr)` after
 * checking n: the kvmalloc contract on Linux's vmalloc area. Frames come from
 * any zone (highmem first) and need not be consecutive; the area is first fit
 * with a guard page after each region.
 */
export class LinuxVmalloc implements KernelPageAllocator {
  /** Always `"vmalloc"`. */
  readonly name = "vmalloc";
  /** The booted Linux it allocates from. */
  declare readonly paging: LinuxPaging;
  /** The MMU its pages are reached through: `paging.mmu`. */
  declare readonly mmu: Mmu;

  /** vmalloc on `paging` (bootLinux's result); anything else is E_BAD_ARGUMENT. */
  constructor(paging: LinuxPaging) {
    if (!(paging instanceof LinuxPaging))
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `${describeValue(paging)} is not a LinuxPaging (bootLinux's result)`,
      );
    this.paging = paging;
    this.mmu = paging.mmu;
  }

  /** `vmalloc(n * PAGE_SIZE)`: the first address, or null when the area, the frames or a page table run out. */
  kvmalloc(n: number): number | null {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `page count ${describeValue(n)} must be a positive integer`,
      );
    // More pages than the whole area holds is exhaustion (null), even where n * PAGE_SIZE is not a safe integer.
    const { vmallocStart, vmallocEnd } = this.paging.layout;
    if (n > (vmallocEnd - vmallocStart) / PAGE_SIZE) return null;
    return this.paging.vmalloc(n * PAGE_SIZE);
  }

  /** `vfree(addr)` of an area of exactly `n` pages; anything else is refused, nothing changed. */
  kvfree(addr: number, n: number): void {
    const pages = this.paging.vmallocPages(addr);
    if (pages === null)
      throw new KvmallocError(
        KVMALLOC_ERROR.NOT_ALLOCATED,
        `${show(addr)} is not an address vmalloc returned (or it was freed)`,
      );
    if (n !== pages)
      throw new KvmallocError(
        KVMALLOC_ERROR.WRONG_SIZE,
        `the vmalloc area at ${hex32(addr)} has ${pages} pages, not ${describeValue(n)}`,
      );
    this.paging.vfree(addr);
  }
}
