/**
 * The contract of a kvmalloc: what malloc builds on, what workbook exercise 7
 * asks for, and what `@mm386/kvmalloc/conformance` checks.
 *
 * @module
 */
import { PAGE_SIZE } from "@mm386/hw-i386";
import type { Mmu } from "@mm386/hw-i386";

/**
 * The kernel's page-granular allocator: `kvmalloc(n)` takes n frames (any
 * frames) and n consecutive kernel virtual pages and maps them writable and
 * supervisor-only; `kvfree(addr, n)` unmaps them and gives both back.
 *
 * ```
 *  kernel virtual:  [ page 0 | page 1 | page 2 ]   one vpalloc run
 *                       |        |        |
 *  physical:        [ f7 ]   [ f2 | f3 ]           ppalloc(1, remaining), as often as needed
 * ```
 *
 * The seam hands over pages and the MMU that reaches them, nothing more: a
 * heap built on it cannot reach around it into the paging design (its
 * allocators, its page tables) underneath.
 */
export interface KernelPageAllocator {
  /** A short human-readable name. */
  readonly name: string;
  /**
   * The MMU through which the pages it hands out are read and written (at
   * CPL 0, with their virtual addresses): the machine's MMU of the paging
   * design it maps with.
   */
  readonly mmu: Mmu;
  /**
   * n pages of kernel memory, writable and supervisor-only: the first
   * virtual address, or null when out of memory. All or nothing: on null (or
   * when mapMem refuses a page half-way and throws) every frame, the virtual
   * run and every mapping taken so far are given back; only kernel page
   * tables made on the way stay, which paging never frees (see
   * `Paging.mapMem`). n not a positive integer: an error with code
   * E_BAD_ARGUMENT.
   *
   * `reserve` (default n, at least n): kernel virtual pages to set aside for
   * this allocation, of which only the first n are mapped, so that
   * {@link KernelPageAllocator.kvresize} can later grow it in place. Only
   * virtual space is set aside: no frame is taken for the unmapped pages. An
   * allocator without `kvresize` may ignore it.
   */
  kvmalloc(n: number, reserve?: number): number | null;
  /**
   * Give back n pages at `addr`, exactly as `kvmalloc(n)` returned them. An
   * address kvmalloc did not return (or already freed): E_NOT_ALLOCATED; the
   * wrong n: E_WRONG_SIZE; both name the address in hex and change nothing.
   */
  kvfree(addr: number, n: number): void;
  /**
   * Optional: resize the allocation of n pages at `addr` to m pages, keeping
   * the contents of the first min(n, m). Shrinking unmaps the last n - m
   * pages and gives their frames back (their virtual pages stay set aside
   * for the allocation). Growing maps new frames after the last page when
   * the allocation's reserved virtual pages reach that far; otherwise, when
   * `mayMove` is true, it moves the allocation as `mremap` does: the same
   * frames are mapped at a new virtual run (nothing is copied), and the new
   * address is returned. Null when out of memory, or when growing in place
   * is impossible and `mayMove` is false; the allocation is then unchanged.
   * Errors as {@link KernelPageAllocator.kvfree}, and E_BAD_ARGUMENT for an
   * m that is not a positive integer. Allocators without it still work:
   * {@link resizeKernelPages} is the default every caller goes through.
   */
  kvresize?(addr: number, n: number, m: number, mayMove: boolean): number | null;
}

/**
 * Resize the n pages at `addr` to m pages with `kv.kvresize` when the
 * allocator has one; otherwise the default every allocator gets: the same
 * size returns `addr`, growing with `mayMove` takes m new pages, copies the
 * n pages through the MMU (as `rep movsd` would) and frees the old ones;
 * anything else (shrinking, or growing in place) cannot be done with
 * kvmalloc and kvfree alone and returns null, leaving the allocation as it
 * was.
 */
export function resizeKernelPages(
  kv: KernelPageAllocator,
  addr: number,
  n: number,
  m: number,
  mayMove: boolean,
): number | null {
  if (kv.kvresize !== undefined) return kv.kvresize(addr, n, m, mayMove);
  if (m === n) return addr;
  if (m < n || !mayMove) return null;
  const to = kv.kvmalloc(m);
  if (to === null) return null;
  kv.mmu.copyWords(to, addr, (n * PAGE_SIZE) / 4, 0);
  kv.kvfree(addr, n);
  return to;
}
