/**
 * kvmalloc(n): n physical frames, n consecutive kernel virtual pages, mapped.
 *
 * ```
 *  kernel virtual:  [ page 0 | page 1 | page 2 ][ guard ]   one vpalloc run
 *                       |        |        |       (unmapped: an overrun faults here)
 *  physical:        [ f7 ]   [ f2 | f3 ]           frames need not be consecutive:
 *                    run 1     run 2                taken with ppalloc(1, remaining)
 * ```
 *
 * All or nothing: out of memory at any step gives back everything taken so
 * far and returns null; a refusal half-way (mapMem throwing, e.g. E_PAST_RAM
 * for a frame the memory map promised but RAM does not have) gives back the
 * same and rethrows. Kernel page tables made on the way stay: paging never
 * frees one (every pagedir shares it). kvfree(addr, n) unmaps, gives every frame back (found through the
 * page tables) and the virtual range. The live allocations are kept in a map
 * (allocator bookkeeping, as the source design keeps vpallocator state), so a
 * free of something kvmalloc never returned, or with the wrong size, is a
 * typed error that changes nothing.
 *
 * @module
 */
import { PAGE_SIZE, hex32 } from "@mm386/hw-i386";
import type { PageSource } from "@mm386/paging";
import { Paging, PTE_PRESENT, PTE_WRITE, describeValue } from "@mm386/paging";
import type { KernelPageAllocator } from "./api.js";

/** Codes carried by {@link KvmallocError}. */
export const KVMALLOC_ERROR = {
  /** A page count that is not a positive integer. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** kvfree of an address kvmalloc did not return (or already freed). */
  NOT_ALLOCATED: "E_NOT_ALLOCATED",
  /** kvfree with a page count other than the one allocated. */
  WRONG_SIZE: "E_WRONG_SIZE",
} as const;

/** One of the {@link KVMALLOC_ERROR} codes. */
export type KvmallocErrorCode = (typeof KVMALLOC_ERROR)[keyof typeof KVMALLOC_ERROR];

/** A refused kvmalloc/kvfree. Nothing changed. */
export class KvmallocError extends Error {
  /** Always `"KvmallocError"`. */
  override readonly name = "KvmallocError";
  constructor(
    /** Machine-readable reason. */
    readonly code: KvmallocErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Options of {@link Kvmalloc}. */
export interface KvmallocOptions {
  /** Leave an unmapped page after every allocation, so an overrun faults at a precise address. */
  readonly guardPages?: boolean;
}

/** The keys a {@link KvmallocOptions} may have. */
const KVMALLOC_OPTION_KEYS: readonly string[] = ["guardPages"] satisfies (keyof KvmallocOptions)[];

/** The kernel's page-granular allocator. */
export class Kvmalloc implements KernelPageAllocator {
  /** Always `"kvmalloc"`. */
  readonly name = "kvmalloc";
  /** The paging it maps with. */
  readonly paging: Paging;
  /** Whether every allocation is followed by an unmapped guard page. */
  readonly guardPages: boolean;
  private readonly live = new Map<number, number>();
  private pagesHeld = 0;

  constructor(paging: Paging, options: KvmallocOptions = {}) {
    if (!(paging instanceof Paging))
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `${describeValue(paging)} is not a Paging (startPaging's result)`,
      );
    // An options object or nothing: `null`, a number or an array is a
    // mistake, and so is a key this class does not know (a typo such as
    // `guardPage: true` would otherwise silently give the default).
    if (typeof options !== "object" || options === null || Array.isArray(options))
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `options ${describeValue(options)} must be an object { guardPages? }`,
      );
    const unknown = Object.keys(options).find((k) => !KVMALLOC_OPTION_KEYS.includes(k));
    if (unknown !== undefined)
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `unknown option ${describeValue(unknown)} (known: ${KVMALLOC_OPTION_KEYS.join(", ")})`,
      );
    const guard: unknown = options.guardPages;
    if (guard !== undefined && typeof guard !== "boolean")
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `guardPages ${describeValue(guard)} must be true or false`,
      );
    this.paging = paging;
    this.guardPages = guard ?? false;
  }

  /** Pages currently handed out (guard pages not counted). */
  get pages(): number {
    return this.pagesHeld;
  }

  /** Number of live allocations. */
  get allocations(): number {
    return this.live.size;
  }

  /** n pages of kernel memory, writable and supervisor-only; the virtual address, or null when out of memory. */
  kvmalloc(n: number): number | null {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `page count ${describeValue(n)} must be a positive integer`,
      );
    const { allocators } = this.paging;
    const span = n + (this.guardPages ? 1 : 0);
    const virt = allocators.vpalloc(span, span);
    if (virt === null) return null;
    const runs: [number, number][] = [];
    let mapped = 0;
    /** Unmap the first `pages` pages, give back every frame run and the virtual run. */
    const undo = (pages: number): void => {
      if (pages > 0) this.paging.mapMem(null, 0, virt.start, pages, 0);
      for (const [start, count] of runs) allocators.ppfree(start, count);
      allocators.vpfree(virt.start, span);
    };
    try {
      while (mapped < n) {
        const run = allocators.ppalloc(1, n - mapped);
        if (run === null) {
          undo(mapped);
          return null;
        }
        runs.push([run.start, run.pages]);
        if (
          !this.paging.mapMem(
            null,
            run.start,
            virt.start + mapped * PAGE_SIZE,
            run.pages,
            PTE_PRESENT | PTE_WRITE,
          )
        ) {
          undo(mapped);
          return null;
        }
        mapped += run.pages;
      }
    } catch (e) {
      // A refusal half-way (mapMem throwing, say E_PAST_RAM for a frame past the end of RAM):
      // undo everything, then let the caller see why. Unmap every page of the run, not only
      // those counted as mapped: a mapMem that threw may have mapped part of its run, and no
      // one else has mappings in a virtual run that is still ours.
      undo(n);
      throw e;
    }
    this.live.set(virt.start, n);
    this.pagesHeld += n;
    return virt.start;
  }

  /** Give back n pages at `addr`, as kvmalloc(n) returned them: unmap, free the frames and the virtual range. */
  kvfree(addr: number, n: number): void {
    const held = this.live.get(addr);
    if (held === undefined)
      throw new KvmallocError(
        KVMALLOC_ERROR.NOT_ALLOCATED,
        `${typeof addr === "number" && Number.isSafeInteger(addr) && addr >= 0 ? hex32(addr) : describeValue(addr)} is not an address kvmalloc returned (or it was freed already)`,
      );
    if (n !== held)
      throw new KvmallocError(
        KVMALLOC_ERROR.WRONG_SIZE,
        `${hex32(addr)} holds ${held} page(s), not ${describeValue(n)}`,
      );
    const { allocators } = this.paging;
    const frames: number[] = [];
    for (let i = 0; i < n; i++) frames.push(this.paging.kernelPhysOf(addr + i * PAGE_SIZE)!);
    this.paging.mapMem(null, 0, addr, n, 0);
    // Give frames back in runs of consecutive pages.
    let i = 0;
    while (i < n) {
      let j = i + 1;
      while (j < n && frames[j] === frames[j - 1]! + PAGE_SIZE) j++;
      allocators.ppfree(frames[i]!, j - i);
      i = j;
    }
    allocators.vpfree(addr, n + (this.guardPages ? 1 : 0));
    this.live.delete(addr);
    this.pagesHeld -= n;
  }

  /** This allocator as paging's page source: kvmalloc(1) and kvfree(va, 1). */
  asPageSource(): PageSource {
    return {
      name: "kvmalloc",
      allocPage: () => this.kvmalloc(1),
      freePage: (va: number) => this.kvfree(va, 1),
    };
  }
}
