/**
 * A buddy allocator over the integers `[base, base + count)`.
 *
 * The range is always a partition into aligned blocks of 2^k units (k <=
 * maxOrder), each free, allocated or reserved. Positions are kept relative to
 * `base`, so "aligned" means aligned from the start of the range:
 *
 * ```
 *  count = 13, maxOrder = 3. At first: [0..8) order 3, [8..12) order 2, [12] order 0.
 *  alloc(3) takes the order-2 block at 8: 3 = 2 + 1 units allocated, unit 11 back.
 *  reserve(base + 4, 1) splits [0..8) until unit 4 is a block of its own.
 *
 *   0   1   2   3   4   5   6   7   8   9  10  11  12
 *  [F             ][R ][F ][F     ][A     ][A ][F ][F ]
 *   order 2         0   0   1       1       0   0   0
 * ```
 *
 * The buddy of the block at offset o of order k is the block at o ^ 2^k.
 * Allocating order k pops a block from the smallest non-empty free list of
 * order >= k and splits it, pushing each upper half back. Freeing a block
 * merges it with its buddy while the buddy is a free block of the same
 * order. `alloc(n)` takes the smallest block that holds n units and gives
 * the tail back at once, as aligned free blocks, so nothing is wasted.
 * `free(start, n)` may free any allocated units, e.g. part of a run: the
 * allocated blocks at the edges are split first.
 *
 * The metadata is what xv6 and Pintos keep, in two typed arrays indexed by
 * offset, so no operation allocates:
 *
 * ```
 *  meta  Int8Array, two bytes per unit q (they share a cache line):
 *        meta[2q]      the tag: -1 inside a block; at a block head kind + order,
 *                      kind FREE 0, ALLOCATED 32, RESERVED 64, order in bits 0-4.
 *                      One load answers "is my buddy b a free block of order k?":
 *                      tag(b) === k. A guard unit at q = count has tag -1: a
 *                      buddy is never further than that.
 *        meta[2q + 1]  everOrder: the largest order ever allocated at head q
 *                      (-1: none), to tell a double free from a never-allocated
 *                      free; unit q was ever allocated iff for some j the head
 *                      q aligned down to 2^j has everOrder >= j.
 *  link  Int32Array, the free lists, threaded through the free block heads
 *        themselves (intrusive): link[2i] = next, link[2i + 1] = prev, so a
 *        node is one 8-byte pair. The lists are circular with one sentinel
 *        node per order after the units, so linking and unlinking never
 *        branch on an empty list:
 *
 *            sentinel S = count + 2 (the list of order 2)
 *              S ──next──► [8] ──next──► [20] ──next──► S
 *              S ◄──prev── [8] ◄──prev── [20] ◄──prev── S
 *
 *  mask  bit k set iff free list k is not empty. The smallest order >= k with
 *        a free block is the lowest set bit of mask & (-1 << k), found with
 *        Math.clz32 instead of a scan over the orders.
 * ```
 *
 * `allocOrder` and `freeOrder` are the fast paths: `freeOrder` checks its
 * arguments and that the tag at `start` says "allocated, order k" (which
 * implies the alignment and the range); only when that fails does a cold path
 * work out which error to raise. Every tag is written once per change, and
 * the free units are not counted separately (count - allocated - reserved).
 * Every other operation touches O(maxOrder) heads per block of the range it
 * covers. Validation runs to completion before anything changes, so a
 * refused call leaves the allocator as it was.
 *
 * @module
 */
import {
  BLOCK_KIND,
  type Block,
  BUDDY_ERROR,
  BuddyError,
  type BuddyOptions,
  type BuddyStats,
} from "./api.js";

/** The kind bits of a head's tag; the order is in the low five bits. */
const TAG = {
  /** A free block head: the tag is its order. */
  FREE: 0,
  /** An allocated block head: 32 + its order. */
  ALLOCATED: 32,
  /** A reserved block head: 64 + its order. */
  RESERVED: 64,
  /** Inside a block, not its head. */
  INSIDE: -1,
  /** Mask of the order bits. */
  ORDER: 31,
} as const;

/** The most units one allocator manages (its metadata is about 10 bytes per unit). */
export const MAX_UNITS = 2 ** 28;

function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/**
 * A bad value as an error message names it. `String(v)` would throw on an
 * object whose `toString` and `valueOf` are not functions, and a refused call
 * must throw the typed error, never a TypeError from its own message. (Buddy
 * has no runtime dependency, so it cannot use the helpers of the layers above.)
 */
function show(v: unknown): string {
  switch (typeof v) {
    case "bigint":
      return `${v.toString()}n`;
    case "string":
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case "symbol":
      return v.toString();
    case "function":
      return "a function";
    case "object":
      return v === null ? "null" : Array.isArray(v) ? "an array" : "an object";
    default:
      return String(v);
  }
}

function isInt(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n);
}

/** Smallest k with 2^k >= n (n >= 1). */
function ceilLog2(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

/** The public kind of a head's tag. */
function kindOf(tag: number): Block["kind"] {
  if (tag >= TAG.RESERVED) return BLOCK_KIND.RESERVED;
  return tag >= TAG.ALLOCATED ? BLOCK_KIND.ALLOCATED : BLOCK_KIND.FREE;
}

/** A buddy allocator over `[base, base + count)`. */
export class BuddyAllocator {
  // `declare`: with ES2022 class fields, a plain declaration would first
  // define the field as undefined, and V8 would then keep these numbers as
  // generic tagged values, checked on every use in the fast paths.
  /** First unit managed. */
  declare readonly base: number;
  /** Number of units managed. */
  declare readonly count: number;
  /** The biggest block holds 2^maxOrder units. */
  declare readonly maxOrder: number;

  /**
   * Two bytes per unit, plus a guard unit at `count`: `meta[2q]` is the tag of
   * unit q, `meta[2q + 1]` its everOrder (see the module comment).
   */
  declare private readonly meta: Int8Array;
  /**
   * The free lists: `link[2i]` is the next node of node i, `link[2i + 1]` the
   * previous one. Nodes `0 .. count - 1` are units; node `count + k` is the
   * sentinel of list k.
   */
  declare private readonly link: Int32Array;
  /** Bit k set iff free list k is not empty. */
  private mask = 0;
  // Free units are count - allocated - reserved: one counter less to keep on
  // the fast paths.
  private allocatedUnits = 0;
  private reservedUnits = 0;

  constructor(options: BuddyOptions) {
    // Checked before destructuring, so `new BuddyAllocator(null)` is a typed
    // refusal and not a TypeError from the destructuring itself.
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `options ${show(options)} must be an object { base, count, maxOrder? }`,
      );
    }
    const { base, count } = options;
    if (!isInt(base))
      throw new BuddyError(BUDDY_ERROR.BAD_ARGUMENT, `base ${show(base)} is not a safe integer`);
    if (!isInt(count) || count < 1 || count > MAX_UNITS) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `count ${show(count)} must be an integer in [1, 2^28]`,
      );
    }
    if (!Number.isSafeInteger(base + count)) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `range ${hex(base)} + ${count} passes the safe integers`,
      );
    }
    const fits = Math.min(30, 31 - Math.clz32(count));
    // Only undefined means "the default": an explicit null is a mistake to
    // report, not a request for the largest order.
    const maxOrder = options.maxOrder === undefined ? fits : options.maxOrder;
    if (!isInt(maxOrder) || maxOrder < 0 || maxOrder > 30) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `maxOrder ${show(maxOrder)} must be an integer in [0, 30]`,
      );
    }
    this.base = base;
    this.count = count;
    this.maxOrder = maxOrder;
    // Every tag INSIDE (-1) and every everOrder -1 (never allocated) until the
    // initial blocks are pushed below.
    this.meta = new Int8Array(2 * (count + 1)).fill(-1);
    this.link = new Int32Array(2 * (count + maxOrder + 1));
    for (let s = count; s <= count + maxOrder; s++) {
      // An empty circular list: the sentinel is its own next and previous.
      this.link[s << 1] = s;
      this.link[(s << 1) | 1] = s;
    }
    // The initial partition: the largest aligned blocks that fit, in order.
    let q = 0;
    while (q < count) {
      let k = q === 0 ? maxOrder : Math.min(maxOrder, 31 - Math.clz32(q & -q));
      while (q + (1 << k) > count) k--;
      this.push(q, k);
      q += 1 << k;
    }
  }

  // ------------------------------------------------------------------ public

  /** Unit counts by state. */
  get stats(): BuddyStats {
    return {
      free: this.unitsFree,
      allocated: this.allocatedUnits,
      reserved: this.reservedUnits,
      largestFree: this.largestFree,
    };
  }

  /** Units in the largest free block (0 when nothing is free): the longest run one `alloc` can give. */
  get largestFree(): number {
    return this.mask === 0 ? 0 : 1 << (31 - Math.clz32(this.mask));
  }

  /** Units free now (the same as `stats.free`, without building an object). */
  get unitsFree(): number {
    return this.count - this.allocatedUnits - this.reservedUnits;
  }

  /**
   * Allocate one block of 2^k units, aligned to 2^k from `base`. Returns its
   * first unit, or null when no block of order k or more is free.
   */
  allocOrder(k: number): number | null {
    // k an integer in [0, 31] here; above maxOrder, no list is non-empty, so
    // take fails and the order is refused there, off the fast path.
    if (typeof k !== "number" || (k & 31) !== k) this.refuseOrder(k);
    const o = this.take(k);
    if (o < 0) {
      if (k > this.maxOrder) this.refuseOrder(k);
      return null;
    }
    this.meta[o << 1] = TAG.ALLOCATED + k;
    // Almost always false once a head has been used: a predictable branch.
    if (this.meta[(o << 1) | 1]! < k) this.meta[(o << 1) | 1] = k;
    this.allocatedUnits += 1 << k;
    return this.base + o;
  }

  /**
   * Allocate exactly `n` consecutive units: the smallest block that holds n,
   * with the unused tail given straight back. Returns the first unit, or null
   * when no block big enough is free.
   */
  alloc(n: number): number | null {
    if (!isInt(n) || n < 1)
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `unit count ${show(n)} must be a positive integer`,
      );
    if (n > 1 << this.maxOrder) {
      throw new BuddyError(
        BUDDY_ERROR.TOO_LARGE,
        `${n} units is more than the largest block (2^${this.maxOrder} units)`,
      );
    }
    const k = ceilLog2(n);
    const o = this.take(k);
    if (o < 0) return null;
    // The allocated part: the binary digits of n, largest block first.
    let q = o;
    for (let j = k; j >= 0; j--) {
      if (n & (1 << j)) {
        this.meta[q << 1] = TAG.ALLOCATED + j;
        if (this.meta[(q << 1) | 1]! < j) this.meta[(q << 1) | 1] = j;
        q += 1 << j;
      }
    }
    // The tail: aligned free blocks up to the end of the 2^k block. Their buddies
    // overlap the allocated part, so none of them can coalesce.
    const end = o + (1 << k);
    while (q < end) {
      const j = 31 - Math.clz32(q & -q);
      this.push(q, j);
      q += 1 << j;
    }
    // `| 0`: n is a checked integer <= 2^30, and as an int32 the counter stays
    // a small integer. Added as a double (n read from a Float64Array, say), it
    // would turn the field into a boxed double in every allocator, and slow
    // down every allocOrder and freeOrder after it.
    this.allocatedUnits += n | 0;
    return this.base + o;
  }

  /**
   * Free `n` allocated units from `start`: a whole allocation, part of one, or
   * several adjacent ones. Everything coalesces as far as it can.
   */
  free(start: number, n: number): void {
    const o = this.checkRange(start, n, "free");
    const end = o + (n | 0);
    const meta = this.meta;
    for (let q = o; q < end;) {
      const h = this.containing(q);
      const t = meta[h << 1]!;
      if (t < TAG.ALLOCATED || t >= TAG.RESERVED) this.refuseFree(q, start, n);
      q = h + (1 << (t & TAG.ORDER));
    }
    for (let q = o; q < end;) {
      const h = this.containing(q);
      const k = meta[h << 1]! & TAG.ORDER;
      if (h >= o && h + (1 << k) <= end) {
        this.allocatedUnits -= 1 << k;
        this.release(h, k);
        q = h + (1 << k);
      } else {
        // Straddles an edge of the range: split it and look again. everOrder
        // needs no update: the lower half's head still records order k.
        meta[h << 1] = TAG.ALLOCATED + k - 1;
        meta[(h + (1 << (k - 1))) << 1] = TAG.ALLOCATED + k - 1;
      }
    }
  }

  /** Free the block of 2^k units at `start`, which must have been allocated as exactly that block. */
  freeOrder(start: number, k: number): void {
    // The fast path: the tag at start says "allocated, order k", which implies
    // start is aligned and the block lies in the range. Anything else goes to
    // the cold path, which finds the right error.
    if (typeof start === "number" && typeof k === "number" && (k & 31) === k) {
      const d = start - this.base;
      // o: d as an int32, so the code V8 makes for release does not depend on
      // whether callers pass small integers or doubles. With o in the range,
      // o + base === start says that start is a safe integer and o its exact
      // offset, more cheaply than Number.isSafeInteger: a fraction, or a start
      // past 2^53, cannot survive the round trip (base + count is safe).
      const o = d | 0;
      if (
        o >= 0 &&
        o < this.count &&
        o + this.base === start &&
        this.meta[o << 1] === TAG.ALLOCATED + k
      ) {
        this.allocatedUnits -= 1 << k;
        this.release(o, k);
        return;
      }
    }
    this.refuseFreeOrder(start, k);
  }

  /**
   * Take `n` units from `start` out of service (a hole, a kernel image), before
   * or after allocation has started. Refused if any of them is allocated;
   * reserving units that are already reserved changes nothing.
   */
  reserve(start: number, n: number): void {
    const o = this.checkRange(start, n, "reserve");
    const end = o + n;
    const meta = this.meta;
    for (let q = o; q < end;) {
      const h = this.containing(q);
      const t = meta[h << 1]!;
      if (t >= TAG.ALLOCATED && t < TAG.RESERVED) {
        throw new BuddyError(
          BUDDY_ERROR.OVERLAPS_ALLOCATION,
          `cannot reserve [${hex(start)}, ${hex(start + n)}): units from ${hex(this.base + Math.max(h, o))} are allocated`,
        );
      }
      q = h + (1 << (t & TAG.ORDER));
    }
    for (let q = o; q < end;) {
      const h = this.containing(q);
      const t = meta[h << 1]!;
      const k = t & TAG.ORDER;
      if (t >= TAG.RESERVED) {
        q = h + (1 << k);
      } else if (h >= o && h + (1 << k) <= end) {
        this.unlink(h, k);
        meta[h << 1] = TAG.RESERVED + k;
        this.reservedUnits += 1 << k;
        q = h + (1 << k);
      } else {
        this.unlink(h, k);
        this.push(h, k - 1);
        this.push(h + (1 << (k - 1)), k - 1);
      }
    }
  }

  /** True if every unit of `[start, start + n)` is allocated. */
  isAllocated(start: number, n = 1): boolean {
    const o = this.checkRange(start, n, "query");
    for (let q = o; q < o + n;) {
      const h = this.containing(q);
      const t = this.meta[h << 1]!;
      if (t < TAG.ALLOCATED || t >= TAG.RESERVED) return false;
      q = h + (1 << (t & TAG.ORDER));
    }
    return true;
  }

  /** The partition, in address order. */
  blocks(): Block[] {
    const out: Block[] = [];
    for (let q = 0; q < this.count;) {
      const t = this.meta[q << 1]!;
      if (t < 0) throw new BuddyError(BUDDY_ERROR.INVARIANT, `offset ${q} should start a block`);
      out.push({ start: this.base + q, order: t & TAG.ORDER, kind: kindOf(t) });
      q += 1 << (t & TAG.ORDER);
    }
    return out;
  }

  /** The free lists: for each order, the first unit of every free block on it, in list order. */
  freeLists(): number[][] {
    const lists: number[][] = [];
    for (let k = 0; k <= this.maxOrder; k++) {
      const list: number[] = [];
      const s = this.count + k;
      for (let o = this.link[s << 1]!; o !== s && list.length <= this.count; o = this.link[o << 1]!)
        list.push(this.base + o);
      lists.push(list);
    }
    return lists;
  }

  /**
   * Check every invariant and throw a {@link BuddyError} with code
   * `E_INVARIANT` naming the first one broken: the blocks partition the range,
   * each aligned to its order; the free lists hold exactly the free blocks,
   * correctly linked; the non-empty mask matches the lists; no two free
   * buddies are left uncoalesced; free + allocated + reserved = count.
   */
  check(): void {
    const broken = (what: string): never => {
      throw new BuddyError(BUDDY_ERROR.INVARIANT, what);
    };
    const meta = this.meta;
    let free = 0;
    let allocated = 0;
    let reserved = 0;
    let freeBlocks = 0;
    let q = 0;
    while (q < this.count) {
      const t = meta[q << 1]!;
      const k = t & TAG.ORDER;
      if (t < 0 || t >= TAG.RESERVED + TAG.ORDER + 1)
        broken(`offset ${q} should start a block but has tag ${t}`);
      if (k > this.maxOrder) broken(`block at offset ${q} has order ${k}`);
      if (q & ((1 << k) - 1)) broken(`block at offset ${q} of order ${k} is not aligned`);
      if (q + (1 << k) > this.count) broken(`block at offset ${q} of order ${k} runs past the end`);
      for (let i = q + 1; i < q + (1 << k); i++)
        if (meta[i << 1] !== TAG.INSIDE) broken(`offset ${i} is a head inside block ${q}`);
      if (t >= TAG.RESERVED) reserved += 1 << k;
      else if (t >= TAG.ALLOCATED) allocated += 1 << k;
      else {
        free += 1 << k;
        freeBlocks++;
        const b = q ^ (1 << k);
        if (k < this.maxOrder && b + (1 << k) <= this.count && meta[b << 1] === k) {
          broken(
            `free buddies at offsets ${Math.min(q, b)} and ${Math.max(q, b)} (order ${k}) were not coalesced`,
          );
        }
      }
      q += 1 << k;
    }
    if (meta[this.count << 1] !== TAG.INSIDE)
      broken(`the guard after the last unit is ${meta[this.count << 1]}`);
    if (allocated !== this.allocatedUnits || reserved !== this.reservedUnits) {
      broken(
        `counters allocated ${this.allocatedUnits}, reserved ${this.reservedUnits} do not match the blocks (${allocated}, ${reserved})`,
      );
    }
    if (free !== this.unitsFree) broken("free + allocated + reserved != count");
    let listed = 0;
    for (let k = 0; k <= this.maxOrder; k++) {
      const s = this.count + k;
      let before = s;
      for (let o = this.link[s << 1]!; o !== s; o = this.link[o << 1]!) {
        if (++listed > freeBlocks)
          broken(`free list ${k} has more entries than there are free blocks (a cycle?)`);
        if (o < 0 || o >= this.count || meta[o << 1] !== k)
          broken(`free list ${k} holds offset ${o}, which is not a free block of order ${k}`);
        if (this.link[(o << 1) | 1] !== before)
          broken(
            `free list ${k}: offset ${o} has prev ${this.link[(o << 1) | 1]}, expected ${before}`,
          );
        before = o;
      }
      if (this.link[(s << 1) | 1] !== before)
        broken(
          `free list ${k}: the sentinel's prev is ${this.link[(s << 1) | 1]}, expected ${before}`,
        );
      if (((this.mask >>> k) & 1) !== (before === s ? 0 : 1))
        broken(`the non-empty mask ${hex(this.mask)} is wrong about free list ${k}`);
    }
    if (this.mask >>> (this.maxOrder + 1) !== 0)
      broken(`the non-empty mask ${hex(this.mask)} has bits above order ${this.maxOrder}`);
    if (listed !== freeBlocks) broken(`${freeBlocks} free blocks but ${listed} on the free lists`);
  }

  /** A readable picture: totals, the free lists per order, and one line per block. */
  dump(): string {
    const s = this.stats;
    const lines = [
      `buddy [${hex(this.base)}, ${hex(this.base + this.count)}) maxOrder ${this.maxOrder}: ${s.free} free, ${s.allocated} allocated, ${s.reserved} reserved`,
      "free lists:",
    ];
    this.freeLists().forEach((list, k) => {
      if (list.length > 0)
        lines.push(
          `  order ${String(k).padStart(2)} (${1 << k} units): ${list.map(hex).join(" ")}`,
        );
    });
    lines.push("blocks:");
    const name = {
      [BLOCK_KIND.FREE]: "free",
      [BLOCK_KIND.ALLOCATED]: "allocated",
      [BLOCK_KIND.RESERVED]: "reserved",
    };
    for (const b of this.blocks()) {
      lines.push(
        `  ${hex(b.start).padStart(10)} +${String(1 << b.order).padEnd(7)} ${name[b.kind].padEnd(9)} order ${b.order}`,
      );
    }
    return lines.join("\n");
  }

  // --------------------------------------------------------------- internals

  /** Offset of the first unit of `[start, start + n)`, after checking it lies in the range. */
  private checkRange(start: number, n: number, what: string): number {
    if (!isInt(start))
      throw new BuddyError(BUDDY_ERROR.BAD_ARGUMENT, `start ${show(start)} is not a safe integer`);
    if (!isInt(n) || n < 1)
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `unit count ${show(n)} must be a positive integer`,
      );
    if (start < this.base || start + n > this.base + this.count) {
      throw new BuddyError(
        BUDDY_ERROR.OUT_OF_RANGE,
        `cannot ${what} [${hex(start)}, ${hex(start + n)}): outside [${hex(this.base)}, ${hex(this.base + this.count)})`,
      );
    }
    return (start - this.base) | 0; // in [0, count): an int32, as in freeOrder
  }

  private refuseOrder(k: unknown): never {
    throw new BuddyError(
      BUDDY_ERROR.BAD_ARGUMENT,
      `order ${show(k)} must be an integer in [0, ${this.maxOrder}]`,
    );
  }

  /** The cold path of `freeOrder`: the checks in their documented order, one of which fails. */
  private refuseFreeOrder(start: number, k: number): never {
    if (!isInt(k) || k < 0 || k > this.maxOrder) this.refuseOrder(k);
    const o = this.checkRange(start, 1 << k, "free");
    if (o & ((1 << k) - 1)) {
      throw new BuddyError(
        BUDDY_ERROR.MISALIGNED,
        `block ${hex(start)} of order ${k} is not aligned to ${1 << k} units from base ${hex(this.base)}`,
      );
    }
    const h = this.containing(o);
    const t = this.meta[h << 1]!;
    if (t < TAG.ALLOCATED || t >= TAG.RESERVED) this.refuseFree(o, start, 1 << k);
    throw new BuddyError(
      BUDDY_ERROR.WRONG_SIZE,
      `${hex(start)} is inside an allocated block of order ${t & TAG.ORDER} at ${hex(this.base + h)}, not a block of order ${k}`,
    );
  }

  private refuseFree(q: number, start: number, n: number): never {
    const h = this.containing(q);
    const range = `[${hex(start)}, ${hex(start + n)})`;
    if (this.meta[h << 1]! >= TAG.RESERVED) {
      throw new BuddyError(
        BUDDY_ERROR.NOT_ALLOCATED,
        `cannot free ${range}: unit ${hex(this.base + q)} is reserved`,
      );
    }
    if (this.everAllocatedAt(q)) {
      throw new BuddyError(
        BUDDY_ERROR.DOUBLE_FREE,
        `cannot free ${range}: unit ${hex(this.base + q)} is already free (double free)`,
      );
    }
    throw new BuddyError(
      BUDDY_ERROR.NOT_ALLOCATED,
      `cannot free ${range}: unit ${hex(this.base + q)} was never allocated`,
    );
  }

  private everAllocatedAt(q: number): boolean {
    for (let j = 0; j <= this.maxOrder; j++)
      if (this.meta[((q & ~((1 << j) - 1)) << 1) | 1]! >= j) return true;
    return false;
  }

  /** Offset of the head of the block that contains offset q. */
  private containing(q: number): number {
    for (let i = 0; i <= this.maxOrder; i++) {
      const h = q & ~((1 << i) - 1);
      const t = this.meta[h << 1]!;
      if (t >= 0 && (t & TAG.ORDER) >= i) return h;
    }
    throw new BuddyError(BUDDY_ERROR.INVARIANT, `no block contains offset ${q}`);
  }

  // The fast paths are kept small, and the split and merge loops call no
  // function. V8 inlines by call frequency, within a fixed budget of bytecode
  // per caller: a call inside such a loop looks up to 20 times hotter than
  // allocOrder itself, and inlining it first can leave allocOrder or freeOrder
  // as a real call in the caller's loop (measured: a third slower on order-0
  // churn). The loops live in split and merge, which only run when there is
  // something to split or merge.

  /**
   * Pop a free block of order >= k and split it down to order k; -1 if none.
   * Leaves the tag at the block stale: the caller writes it.
   */
  private take(k: number): number {
    const m = this.mask & (-1 << k); // the non-empty lists of order >= k
    if (m === 0) return -1;
    const j = 31 - Math.clz32(m & -m); // the lowest of them
    // Pop the head o of list j: its prev is the sentinel s.
    const link = this.link;
    const s = this.count + j;
    const o = link[s << 1]!;
    const n = link[o << 1]!;
    link[s << 1] = n;
    link[(n << 1) | 1] = s;
    if (n === s) this.mask &= ~(1 << j);
    if (j > k) this.split(o, j, k);
    return o;
  }

  /** Give back the upper halves of the block (o, j) popped for order k: orders j-1 down to k. */
  private split(o: number, j: number, k: number): void {
    // Lists k .. j-1 all become non-empty: one update of the mask for all.
    this.mask |= (1 << j) - (1 << k);
    const meta = this.meta;
    const link = this.link;
    const count = this.count;
    while (j > k) {
      j--;
      // push(o + 2^j, j), written out (see above).
      const h = o + (1 << j);
      const s = count + j;
      const n = link[s << 1]!;
      meta[h << 1] = j;
      link[h << 1] = n;
      link[(h << 1) | 1] = s;
      link[(n << 1) | 1] = h;
      link[s << 1] = h;
    }
  }

  /**
   * Make the allocated block (o, k) free, merging it with its free buddies as
   * far as possible.
   */
  private release(o: number, k: number): void {
    // b <= count always (the block (o, k) fits), and meta[count << 1] is the guard.
    if (k < this.maxOrder && this.meta[(o ^ (1 << k)) << 1] === k) this.merge(o, k);
    else this.push(o, k);
  }

  /**
   * release, when the buddy of (o, k) is free. Writes each tag once: the upper
   * half of every merge becomes INSIDE, and the final head gets its order from
   * push.
   */
  private merge(o: number, k: number): void {
    const meta = this.meta;
    const link = this.link;
    const maxOrder = this.maxOrder;
    while (k < maxOrder) {
      const b = o ^ (1 << k);
      if (meta[b << 1] !== k) break; // the buddy is not a free block of order k
      // unlink(b, k), written out (see above).
      const n = link[b << 1]!;
      const p = link[(b << 1) | 1]!;
      link[p << 1] = n;
      link[(n << 1) | 1] = p;
      if (p === n) this.mask &= ~(1 << k);
      meta[(o | (1 << k)) << 1] = TAG.INSIDE;
      o &= ~(1 << k);
      k++;
    }
    this.push(o, k);
  }

  /** Put (o, k) at the front of free list k. */
  private push(o: number, k: number): void {
    const link = this.link;
    const s = this.count + k;
    const n = link[s << 1]!;
    this.meta[o << 1] = k;
    link[o << 1] = n;
    link[(o << 1) | 1] = s;
    link[(n << 1) | 1] = o;
    link[s << 1] = o;
    this.mask |= 1 << k;
  }

  /** Take (o, k) off free list k. Its tag is left to the caller. */
  private unlink(o: number, k: number): void {
    const link = this.link;
    const n = link[o << 1]!;
    const p = link[(o << 1) | 1]!;
    link[p << 1] = n;
    link[(n << 1) | 1] = p;
    // Both neighbours are the sentinel only when o was alone on the list.
    if (p === n) this.mask &= ~(1 << k);
  }
}
