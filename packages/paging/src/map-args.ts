/**
 * The argument rules every design's `map`/`unmap` shares, in one place: whole
 * numbers, page alignment, PTE flags in the low 12 bits, a range that neither
 * runs past 4 GiB nor crosses the user/kernel split, no PTE_USER on a kernel
 * address and no PTE_GLOBAL on a user one. What only a design knows (its
 * address spaces, where kernel mappings may go, the end of RAM) it checks
 * around this.
 *
 * @module
 */
import { PAGE_SIZE, PTE, hex32, pageOffset } from "@mm386/hw-i386";
import { describeValue } from "@mm386/allocation";
import { PAGING_ERROR, PagingError, type PagingErrorCode } from "./api.js";

/** What {@link checkMapArgs} learnt about a good range. */
export interface MapRangeFacts {
  /** One past the last byte of the range. */
  readonly end: number;
  /** True for a kernel range (at or above the split). */
  readonly kernel: boolean;
  /** True when `flags` maps (PTE_PRESENT), false when it unmaps. */
  readonly present: boolean;
}

/** How {@link checkMapArgs} names things in its messages. */
export interface MapArgsNames {
  /** The split ("PAGE_OFFSET" for Linux; default "the user/kernel split"). */
  readonly split?: string;
  /**
   * The function the caller exports (Whitix's "VirtMemMapPage"): every
   * message then starts with it and a colon, so a refusal says which call it was.
   */
  readonly caller?: string;
}

/**
 * Refuse `nPages` pages from `virt` to `phys` with `flags` unless they obey
 * the shared rules (a {@link PagingError} naming the value). `names` names
 * the split in messages (a plain string is the split's name) and, if given,
 * the calling function every message starts with.
 */
export function checkMapArgs(
  split: number,
  phys: number,
  virt: number,
  nPages: number,
  flags: number,
  names: string | MapArgsNames = {},
): MapRangeFacts {
  // No closure, array or object made before a refusal: kvmalloc and kvfree
  // call this on every map and unmap, and each allocation here was garbage
  // the collector then spent a fifth of a kvmalloc/kvfree pair on.
  if (!isNonNegative(phys)) badValue(names, "phys", phys);
  if (!isNonNegative(virt)) badValue(names, "virt", virt);
  if (!isNonNegative(flags)) badValue(names, "flags", flags);
  if (!Number.isSafeInteger(nPages) || nPages < 1)
    refuseMap(
      names,
      PAGING_ERROR.BAD_ARGUMENT,
      `page count ${describeValue(nPages)} must be a positive integer`,
    );
  if (pageOffset(virt) !== 0)
    refuseMap(names, PAGING_ERROR.UNALIGNED, `virtual address ${hex32(virt)} is not page-aligned`);
  if (pageOffset(phys) !== 0)
    refuseMap(names, PAGING_ERROR.UNALIGNED, `physical address ${hex32(phys)} is not page-aligned`);
  if (flags > 0xfff)
    refuseMap(
      names,
      PAGING_ERROR.BAD_FLAGS,
      `flags ${hex32(flags)} go past the low 12 bits of a PTE`,
    );
  const end = virt + nPages * PAGE_SIZE;
  if (end > 2 ** 32)
    refuseMap(names, PAGING_ERROR.WRAPS, `[${hex32(virt)}, +${nPages} pages) runs past 4 GiB`);
  if (virt < split && end > split)
    refuseMap(
      names,
      PAGING_ERROR.CROSSES_SPLIT,
      `[${hex32(virt)}, ${hex32(end)}) crosses ${splitNameOf(names)} at ${hex32(split)}`,
    );
  const kernel = virt >= split;
  const present = (flags & PTE.P) !== 0;
  if (kernel && present && (flags & PTE.US) !== 0)
    refuseMap(names, PAGING_ERROR.USER_ON_KERNEL, `PTE_USER on kernel address ${hex32(virt)}`);
  if (!kernel && present && (flags & PTE.G) !== 0)
    refuseMap(
      names,
      PAGING_ERROR.GLOBAL_ON_USER,
      `PTE_GLOBAL on user address ${hex32(virt)}: the translation would survive the switch to another address space`,
    );
  return { end, kernel, present };
}

/** A whole number, 0 or more. */
function isNonNegative(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/** The split's name in messages. */
function splitNameOf(names: string | MapArgsNames): string {
  return (typeof names === "string" ? names : names.split) ?? "the user/kernel split";
}

/** Throw the refusal, prefixed with the calling function's name if `names` gives one. */
function refuseMap(names: string | MapArgsNames, code: PagingErrorCode, message: string): never {
  const caller = typeof names === "string" ? undefined : names.caller;
  throw new PagingError(code, caller === undefined ? message : `${caller}: ${message}`);
}

/** Refuse argument `name`, which is not a non-negative integer. */
function badValue(names: string | MapArgsNames, name: string, v: number): never {
  return refuseMap(
    names,
    PAGING_ERROR.BAD_ARGUMENT,
    `${name} ${describeValue(v)} is not a non-negative integer`,
  );
}
