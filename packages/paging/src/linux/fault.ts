/**
 * The user page-fault handler of the Linux design, and its swap point.
 *
 * `read32`/`write32` catch a fault below PAGE_OFFSET and hand it to a
 * {@link UserFaultHandler} with a {@link FaultContext}: the few kernel
 * services `handle_mm_fault` uses, on the current address space. The handler
 * resolves the fault (true: the access is retried, as the CPU re-executes
 * the instruction) or says why it cannot (a string: a SegmentationFault at
 * CPL 3). The Linux exercise of the workbook is writing one.
 *
 * ```
 *  not present, read          -> the zero page, read-only (P|US)
 *  not present, write         -> a zeroed frame of its own, P|US|RW
 *  present zero page, write   -> copy on write: a zeroed frame of its own
 *  anything else              -> "why" (segmentation fault)
 * ```
 *
 * @module
 */
import { LINUX_ERROR, LinuxMmError } from "@mm386/allocation/linux";
import { hex32, PAGE_SIZE, PF_ERROR, PTE } from "@mm386/hw-i386";

/** `mmap`'s protection bits (Linux's values). i386 without PAE cannot refuse execution or make a page write-only, so EXEC and WRITE both imply READ. */
export const PROT = {
  /** No access: every touch is a segmentation fault. */
  NONE: 0,
  /** Readable. */
  READ: 1,
  /** Writable (and so readable). */
  WRITE: 2,
  /** Executable (readable; not enforced without NX). */
  EXEC: 4,
} as const;

/** One user memory area of an address space (`vm_area_struct`): `[start, end)` with a protection. */
export interface VmArea {
  /** First address (page-aligned). */
  readonly start: number;
  /** One past the last address (page-aligned). */
  readonly end: number;
  /** {@link PROT} bits. */
  readonly prot: number;
}

/** What a fault handler may do, on the current address space. */
export interface FaultContext {
  /** The area holding `addr`, if any. */
  findArea(addr: number): VmArea | undefined;
  /** The PTE word of user page `page` (0 when none), or null when it has no page table. */
  pte(page: number): number | null;
  /** Write the PTE of `page`, making its table if needed and invalidating an old present entry. False: no memory for a table. */
  setPte(page: number, pte: number): boolean;
  /** A frame for user memory (GFP_HIGHUSER: HIGHMEM, NORMAL, DMA), or null. Contents arbitrary. */
  allocUserFrame(): number | null;
  /** Give back a frame from {@link FaultContext.allocUserFrame} that was not used. */
  freeUserFrame(frame: number): void;
  /** The shared zero page's frame (made on first need). */
  zeroPage(): number;
  /** Zero the user page `page` (mapped writable) through its user address: `clear_user_highpage`. */
  clearUserPage(page: number): void;
  /** Record `frame` as the handler's for `page`: munmap and teardown give it back. */
  ownFrame(page: number, frame: number): void;
  /** Count a zero-page mapping or a zero-page copy. */
  count(what: "zeroPageMap" | "zeroPageCopy"): void;
}

/** true: resolved, retry the access. A string: why it is a segmentation fault. */
export type FaultResult = true | string;

/** The swap point: how a user-range page fault is resolved. */
export interface UserFaultHandler {
  /** A short human-readable name. */
  readonly name: string;
  /**
   * Resolve the fault at `addr` (error code `errorCode`, {@link PF_ERROR}
   * bits) in the current address space. Throw a typed error (E_NO_MEMORY)
   * when memory runs out, with nothing mapped.
   */
  handle(ctx: FaultContext, addr: number, errorCode: number): FaultResult;
}

/** Linux's anonymous private fault path (`do_anonymous_page`, `do_wp_page` on the zero page). */
export const linuxUserFault: UserFaultHandler = {
  name: "do_anonymous_page + zero-page copy on write",
  handle(ctx, addr, errorCode) {
    const area = ctx.findArea(addr);
    if (area === undefined) return "no mapping there (outside every area)";
    if (area.prot === PROT.NONE) return "the area is PROT_NONE";
    const write = (errorCode & PF_ERROR.W) !== 0;
    if (write && (area.prot & PROT.WRITE) === 0) return "a write to a read-only area";
    const page = addr - (addr % PAGE_SIZE);
    const pte = ctx.pte(page);
    const present = pte !== null && (pte & PTE.P) !== 0;
    const zero = ctx.zeroPage();
    if (!present && !write) {
      if (!ctx.setPte(page, zero | PTE.P | PTE.US))
        throw new LinuxMmError(
          LINUX_ERROR.NO_MEMORY,
          `out of memory for a page table at ${hex32(page)}`,
        );
      ctx.count("zeroPageMap");
      return true;
    }
    const onZero = present && (pte & 0xffff_f000) >>> 0 === zero;
    if (present && !(onZero && write)) return "a protection fault the area does not explain";
    const frame = ctx.allocUserFrame();
    if (frame === null)
      throw new LinuxMmError(
        LINUX_ERROR.NO_MEMORY,
        `out of memory for the page at ${hex32(page)} (the kernel would call the OOM killer)`,
      );
    if (!ctx.setPte(page, frame | PTE.P | PTE.US | PTE.RW)) {
      ctx.freeUserFrame(frame);
      throw new LinuxMmError(
        LINUX_ERROR.NO_MEMORY,
        `out of memory for a page table at ${hex32(page)}`,
      );
    }
    ctx.clearUserPage(page);
    ctx.ownFrame(page, frame);
    if (onZero) ctx.count("zeroPageCopy");
    return true;
  },
};

/** Refuse a handler that is not one (E_BAD_CONFIG naming it). */
export function checkFaultHandler(h: unknown): asserts h is UserFaultHandler {
  if (
    typeof h !== "object" ||
    h === null ||
    typeof (h as { handle?: unknown }).handle !== "function" ||
    typeof (h as { name?: unknown }).name !== "string"
  )
    throw new LinuxMmError(
      LINUX_ERROR.BAD_CONFIG,
      "faultHandler must be an object with a name and a handle(ctx, addr, errorCode) method",
    );
}
