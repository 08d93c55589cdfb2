/**
 * @mm386/malloc/slab: the slab allocator. Object caches (size, alignment,
 * optional constructor) on slabs whose header, bitmap and free-object list
 * live inside the slab in simulated memory, reached through the MMU; full,
 * partial and empty lists per cache; colouring; and kmalloc/kfree/ksize on
 * power-of-two size classes, which implement the malloc package's heap
 * contract. Pages come from a small port, {@link SlabPageSource}, that each
 * kernel design implements ({@link kvPageSource} for the hobby kernel).
 *
 * ```ts
 * const kv = new Kvmalloc(startPaging(createMachine()));
 * const slab = new SlabAllocator(kvPageSource(kv), kv.mmu);
 * const inodes = slab.createCache({ size: 96, align: 16 });
 * const a = inodes.alloc()!;
 * inodes.free(a);
 * ```
 *
 * @packageDocumentation
 */
export * from "./api.js";
export {
  SlabAllocator,
  SlabCache,
  slabGeometry,
  type ObjectLocation,
  type SlabGeometry,
  type SlabLocation,
} from "./cache.js";
export { Kmalloc, KMALLOC_CLASSES, slabHeap, type KmallocOptions } from "./kmalloc.js";
export { kvPageSource } from "./port.js";
