/**
 * @mm386/buddy: a buddy allocator over any range of integers. It knows nothing
 * about pages or memory, so it serves as a plain range allocator anywhere.
 *
 * @packageDocumentation
 */
export * from "./api.js";
export { BuddyAllocator, MAX_UNITS } from "./buddy.js";
