/**
 * The hobby kernel's page source for the slab: kvmalloc and kvfree. The
 * other designs supply their own `SlabPageSource` (Whitix: VirtMapPhysRange
 * in 0xC0000000-0xD0000000; Linux: `__va` of `allocPages`).
 *
 * @module
 */
import type { KernelPageAllocator } from "@mm386/kvmalloc";
import { describeValue } from "@mm386/paging";
import { SLAB_ERROR, SlabError, type SlabPageSource } from "./api.js";

/**
 * The slab's pages from a kvmalloc: `allocPages(n)` is `kvmalloc(n)` (n
 * frames, n consecutive kernel pages, mapped writable and supervisor-only),
 * `freePages(va, n)` is `kvfree(va, n)`, whose own checks refuse a run it did
 * not hand out.
 */
export function kvPageSource(kv: KernelPageAllocator): SlabPageSource {
  if (
    typeof kv !== "object" ||
    kv === null ||
    typeof kv.kvmalloc !== "function" ||
    typeof kv.kvfree !== "function"
  )
    throw new SlabError(
      SLAB_ERROR.BAD_ARGUMENT,
      `kv ${describeValue(kv)} is not a kvmalloc (an object with kvmalloc and kvfree)`,
    );
  return {
    name: kv.name,
    allocPages: (n) => kv.kvmalloc(n),
    freePages: (va, n) => kv.kvfree(va, n),
  };
}
