/**
 * The contract of a kvmalloc: what malloc builds on, what workbook exercise 7
 * asks for, and what `@mm386/kvmalloc/conformance` checks.
 *
 * @module
 */
import type { Paging } from "@mm386/paging";

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
 * @typeParam P - the paging design underneath (the hobby kernel's {@link Paging} by default).
 */
export interface KernelPageAllocator<P = Paging> {
  /** A short human-readable name. */
  readonly name: string;
  /** The paging it maps with (its MMU is how the pages are reached): the hobby kernel's by default, `LinuxPaging` for vmalloc. */
  readonly paging: P;
  /**
   * n pages of kernel memory, writable and supervisor-only: the first
   * virtual address, or null when out of memory. All or nothing: on null (or
   * when mapMem refuses a page half-way and throws) every frame, the virtual
   * run and every mapping taken so far are given back; only kernel page
   * tables made on the way stay, which paging never frees (see
   * `Paging.mapMem`). n not a positive integer: an error with code
   * E_BAD_ARGUMENT.
   */
  kvmalloc(n: number): number | null;
  /**
   * Give back n pages at `addr`, exactly as `kvmalloc(n)` returned them. An
   * address kvmalloc did not return (or already freed): E_NOT_ALLOCATED; the
   * wrong n: E_WRONG_SIZE; both name the address in hex and change nothing.
   */
  kvfree(addr: number, n: number): void;
}
