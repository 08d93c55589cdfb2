/**
 * Exercise 4: runs of pages by address over a range allocator of page
 * numbers (what ppalloc and vpalloc are). Read README.md first.
 */
import {
  ALLOCATION_ERROR,
  AllocationError,
  type ByteRange,
  PAGE_SIZE,
  type PageRanges,
  type PageRun,
  type RangeAllocator,
  type RangeAllocatorFactory,
} from "@mm386/allocation";
import { hex32 } from "@mm386/hw-i386";
import type { PageRangesExercise } from "../../src/exercise-api.js";

class StudentPageRanges implements PageRanges {
  /** The range allocator of page numbers underneath. */
  readonly ranges: RangeAllocator;

  constructor(
    readonly label: string,
    readonly start: number,
    readonly size: number,
    factory: RangeAllocatorFactory,
  ) {
    // TODO: a range allocator over the page numbers [start / PAGE_SIZE, (start + size) / PAGE_SIZE).
    this.ranges = factory(0, 1);
  }

  get freePages(): number {
    // TODO
    return 0;
  }

  alloc(min: number, max: number): PageRun | null {
    // TODO: check min and max (E_BAD_ARGUMENT), ask this.ranges, turn units into an address.
    void [min, max];
    return null;
  }

  free(start: number, pages: number): void {
    // TODO: E_BAD_ARGUMENT, E_UNALIGNED, E_FOREIGN, then this.ranges.free, re-throwing its
    // refusals as AllocationError(code, message with the address in hex).
    void [start, pages, hex32, ALLOCATION_ERROR, AllocationError, PAGE_SIZE];
  }

  reserveBytes(range: ByteRange): void {
    // TODO: every page the byte range touches, clipped to [this.start, this.start + this.size).
    void range;
  }

  contains(address: number): boolean {
    // TODO
    void address;
    return false;
  }
}

export const pageRanges: PageRangesExercise["pageRanges"] = (label, start, size, factory) =>
  new StudentPageRanges(label, start, size, factory);
