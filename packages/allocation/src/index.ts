/**
 * @mm386/allocation: the hobby kernel's page allocators. `ppalloc`/`ppfree`
 * hand out runs of physical pages from the memory map; `vpcreate`, `vpalloc`
 * and `vpfree` do the same for regions of virtual space. Underneath is a
 * swappable {@link RangeAllocator}: buddy by default, a first-fit bitmap as
 * the alternative.
 *
 * @packageDocumentation
 */
export * from "./api.js";
export { BuddyRangeAllocator, buddyRanges } from "./range-buddy.js";
export { FirstFitBitmapAllocator, firstFitRanges } from "./range-bitmap.js";
export { SparseRangeAllocator, sparseRanges } from "./range-sparse.js";
export { describeValue } from "./values.js";
export {
  PageAllocators,
  PageRangeAllocator,
  pageRangeAllocator,
  type VirtualPageAllocator,
  createPageAllocators,
} from "./pages.js";
