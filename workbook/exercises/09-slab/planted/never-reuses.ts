/** Planted mistake: free takes the object off the books but never links it back into the free list. */
import { type ObjectCacheFactory, SlabAllocator } from "@mm386/malloc/slab";

export const createCache: ObjectCacheFactory = (pages, mmu, objectSize) => {
  const cache = new SlabAllocator(pages, mmu).createCache({ size: objectSize });
  const live = new Set<number>();
  return new Proxy(cache, {
    get: (t, key) => {
      if (key === "alloc")
        return () => {
          const p = t.alloc();
          if (p !== null) live.add(p);
          return p;
        };
      // Refuses what the reference refuses (a pointer it does not hold), then leaks the object.
      if (key === "free")
        return (p: number) => {
          if (!live.delete(p)) t.free(p);
        };
      const v = Reflect.get(t, key, t) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
};
