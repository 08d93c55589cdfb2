/**
 * @mm386/paging: the hobby kernel's paging. The boot page table, the first
 * pagedir, pagedirs with vpde/kvpd bookkeeping, a kernel half shared by every
 * address space, mapMem, and address spaces, all editing page tables through
 * the MMU at their kernel virtual addresses.
 *
 * @packageDocumentation
 */
export * from "./api.js";
export * from "./design.js";
/** How paging's errors name a bad value (`5n`, `Symbol(x)`, `null`): re-exported from `@mm386/allocation` for the layers above. */
export { describeValue } from "@mm386/allocation";
export { boot, checkMachine, checkSplit } from "./boot.js";
export {
  Pagedir,
  Paging,
  createInitPagedir,
  kernelPageSource,
  type InitPagedirOptions,
} from "./paging.js";
export { hobbyMapMem } from "./map-mem.js";
export { startPaging, type StartPagingOptions } from "./start.js";
