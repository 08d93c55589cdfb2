/** Exercise 9, reference: a SlabCache from @mm386/malloc/slab, on its own SlabAllocator. */
import { type ObjectCacheFactory, SlabAllocator } from "@mm386/malloc/slab";

export const createCache: ObjectCacheFactory = (pages, mmu, objectSize) =>
  new SlabAllocator(pages, mmu).createCache({ size: objectSize });
