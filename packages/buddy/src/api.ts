/**
 * The vocabulary of the buddy allocator: its options, block states, errors.
 *
 * The allocator manages the integers `[base, base + count)`, called units. It
 * knows nothing about pages or memory: a unit may be a page frame, a disk
 * block, a slot in a table.
 *
 * @module
 */

/** Options of a {@link BuddyAllocator}. */
export interface BuddyOptions {
  /** First unit managed. Any integer (may be negative). */
  readonly base: number;
  /** Number of units managed; any positive integer, not only a power of two. */
  readonly count: number;
  /**
   * Largest block order: the biggest block holds 2^maxOrder units. Default:
   * the largest order that fits in `count`, at most 30.
   */
  readonly maxOrder?: number;
}

/** What a block of the partition is. */
export const BLOCK_KIND = {
  /** On a free list, ready to be handed out. */
  FREE: 1,
  /** Handed out by `alloc` or `allocOrder`. */
  ALLOCATED: 2,
  /** Taken out of service by `reserve` (a hole, a kernel image). */
  RESERVED: 3,
} as const;

/** One of the {@link BLOCK_KIND} values. */
export type BlockKind = (typeof BLOCK_KIND)[keyof typeof BLOCK_KIND];

/** One block of the partition, for inspection. */
export interface Block {
  /** First unit of the block. */
  readonly start: number;
  /** The block holds 2^order units. */
  readonly order: number;
  /** Free, allocated or reserved. */
  readonly kind: BlockKind;
}

/** Unit counts by state. They always add up to `count`. */
export interface BuddyStats {
  /** Units on the free lists. */
  readonly free: number;
  /** Units handed out. */
  readonly allocated: number;
  /** Units reserved. */
  readonly reserved: number;
  /** The largest free block, in units (0 when nothing is free). */
  readonly largestFree: number;
}

/** Codes carried by {@link BuddyError}. */
export const BUDDY_ERROR = {
  /** A number that is not an integer, a count below 1, an order out of range. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** Units outside `[base, base + count)`. */
  OUT_OF_RANGE: "E_OUT_OF_RANGE",
  /** `freeOrder(start, k)` with `start` not aligned to 2^k. */
  MISALIGNED: "E_MISALIGNED",
  /** `freeOrder(start, k)` where the block at `start` was allocated with another order. */
  WRONG_SIZE: "E_WRONG_SIZE",
  /** Freeing units that were allocated once and are free again. */
  DOUBLE_FREE: "E_DOUBLE_FREE",
  /** Freeing units that were never handed out (free since the start, or reserved). */
  NOT_ALLOCATED: "E_NOT_ALLOCATED",
  /** Reserving units that are allocated. */
  OVERLAPS_ALLOCATION: "E_OVERLAPS_ALLOCATION",
  /** A request for more units than the largest block holds. */
  TOO_LARGE: "E_TOO_LARGE",
  /** The invariant checker found a broken invariant (a bug in the allocator). */
  INVARIANT: "E_INVARIANT",
} as const;

/** One of the {@link BUDDY_ERROR} codes. */
export type BuddyErrorCode = (typeof BUDDY_ERROR)[keyof typeof BUDDY_ERROR];

/** A refused call. The allocator is exactly as it was before the call. */
export class BuddyError extends Error {
  /** Always `"BuddyError"`. */
  override readonly name = "BuddyError";
  constructor(
    /** Machine-readable reason. */
    readonly code: BuddyErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
