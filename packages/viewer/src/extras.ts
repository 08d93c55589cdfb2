/**
 * Design-specific extras for the viewer, found without touching the
 * `PagingDesign` interface: a design object may carry a `viewer` property
 * ({@link ViewerExtras}), and the viewer registers extras by design name for
 * the designs it knows ({@link VIEWER_EXTRAS}). Both are optional; without
 * them the viewer shows what the interface and the page tables give.
 *
 * @module
 */
import { BuddyRangeAllocator, PageRangeAllocator, type PageAllocators } from "@mm386/allocation";
import type { DesignStack } from "@mm386/malloc";
import type { ViewerExtras } from "./inspect.js";

/** The hobby kernel's extras: its physical allocator is `ppalloc` over a range allocator (a buddy by default). */
function hobbyExtras(stack: DesignStack): ViewerExtras {
  const allocators = (stack.design as { allocators?: PageAllocators }).allocators;
  const physical = allocators?.physical;
  const ranges = physical instanceof PageRangeAllocator ? physical.ranges : null;
  return {
    frameStates: () => (ranges ? { basePfn: ranges.base, states: ranges.states() } : null),
    buddyLists: () =>
      ranges instanceof BuddyRangeAllocator ? { lists: ranges.buddy.freeLists() } : null,
  };
}

/** Extras by design name, for designs that do not carry a `viewer` property themselves. */
export const VIEWER_EXTRAS: Readonly<Record<string, (stack: DesignStack) => ViewerExtras>> = {
  hobby: hobbyExtras,
};

/** The extras for `stack`: the registry's, overridden member by member by the design's own `viewer` property. */
export function extrasFor(stack: DesignStack): ViewerExtras {
  const registered = Object.hasOwn(VIEWER_EXTRAS, stack.designName)
    ? VIEWER_EXTRAS[stack.designName]!(stack)
    : {};
  const own = (stack.design as { viewer?: ViewerExtras }).viewer ?? {};
  return { ...registered, ...own };
}
