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
 * Metadata lives in typed arrays indexed by offset, meaningful at block heads:
 * `kind` (0 inside a block), `order`, and doubly linked free lists
 * (`next`/`prev`). Every operation touches O(maxOrder) heads per block of the
 * range it covers; validation runs to completion before anything changes, so
 * a refused call leaves the allocator as it was.
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

const FREE = BLOCK_KIND.FREE;
const ALLOCATED = BLOCK_KIND.ALLOCATED;
const RESERVED = BLOCK_KIND.RESERVED;

/** The most units one allocator manages (its metadata is about 11 bytes per unit). */
export const MAX_UNITS = 2 ** 28;

function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

function isInt(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n);
}

/** Smallest k with 2^k >= n (n >= 1). */
function ceilLog2(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

/** A buddy allocator over `[base, base + count)`. */
export class BuddyAllocator {
  /** First unit managed. */
  readonly base: number;
  /** Number of units managed. */
  readonly count: number;
  /** The biggest block holds 2^maxOrder units. */
  readonly maxOrder: number;

  private readonly kind: Uint8Array;
  private readonly order: Int8Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly heads: Int32Array;
  /**
   * At a block head: the largest order of a block ever allocated there (-1:
   * none). Unit q was ever allocated iff for some j the head q aligned down to
   * 2^j has everOrder >= j. Tells a double free from a never-allocated free.
   */
  private readonly everOrder: Int8Array;
  private freeUnits: number;
  private allocatedUnits = 0;
  private reservedUnits = 0;

  constructor(options: BuddyOptions) {
    const { base, count } = options;
    if (!isInt(base))
      throw new BuddyError(BUDDY_ERROR.BAD_ARGUMENT, `base ${String(base)} is not a safe integer`);
    if (!isInt(count) || count < 1 || count > MAX_UNITS) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `count ${String(count)} must be an integer in [1, 2^28]`,
      );
    }
    if (!Number.isSafeInteger(base + count)) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `range ${hex(base)} + ${count} passes the safe integers`,
      );
    }
    const fits = Math.min(30, 31 - Math.clz32(count));
    const maxOrder = options.maxOrder ?? fits;
    if (!isInt(maxOrder) || maxOrder < 0 || maxOrder > 30) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `maxOrder ${String(maxOrder)} must be an integer in [0, 30]`,
      );
    }
    this.base = base;
    this.count = count;
    this.maxOrder = maxOrder;
    this.kind = new Uint8Array(count);
    this.order = new Int8Array(count);
    this.next = new Int32Array(count);
    this.prev = new Int32Array(count);
    this.heads = new Int32Array(maxOrder + 1).fill(-1);
    this.everOrder = new Int8Array(count).fill(-1);
    this.freeUnits = count;
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
      free: this.freeUnits,
      allocated: this.allocatedUnits,
      reserved: this.reservedUnits,
      largestFree: this.largestFree,
    };
  }

  /** Units in the largest free block (0 when nothing is free): the longest run one `alloc` can give. */
  get largestFree(): number {
    for (let k = this.maxOrder; k >= 0; k--) if (this.heads[k]! >= 0) return 1 << k;
    return 0;
  }

  /** Units free now (the same as `stats.free`, without building an object). */
  get unitsFree(): number {
    return this.freeUnits;
  }

  /**
   * Allocate one block of 2^k units, aligned to 2^k from `base`. Returns its
   * first unit, or null when no block of order k or more is free.
   */
  allocOrder(k: number): number | null {
    if (!isInt(k) || k < 0 || k > this.maxOrder) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `order ${String(k)} must be an integer in [0, ${this.maxOrder}]`,
      );
    }
    const o = this.take(k);
    if (o < 0) return null;
    this.kind[o] = ALLOCATED;
    this.order[o] = k;
    this.allocatedUnits += 1 << k;
    if (this.everOrder[o]! < k) this.everOrder[o] = k;
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
        `unit count ${String(n)} must be a positive integer`,
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
        this.kind[q] = ALLOCATED;
        this.order[q] = j;
        if (this.everOrder[q]! < j) this.everOrder[q] = j;
        q += 1 << j;
      }
    }
    // The tail: aligned free blocks up to the end of the 2^k block. Their buddies
    // overlap the allocated part, so none of them can coalesce.
    const end = o + (1 << k);
    this.freeUnits += end - q;
    while (q < end) {
      const j = 31 - Math.clz32(q & -q);
      this.push(q, j);
      q += 1 << j;
    }
    this.allocatedUnits += n;
    return this.base + o;
  }

  /**
   * Free `n` allocated units from `start`: a whole allocation, part of one, or
   * several adjacent ones. Everything coalesces as far as it can.
   */
  free(start: number, n: number): void {
    const o = this.checkRange(start, n, "free");
    const end = o + n;
    for (let q = o; q < end;) {
      const h = this.containing(q);
      if (this.kind[h] !== ALLOCATED) this.refuseFree(q, start, n);
      q = h + (1 << this.order[h]!);
    }
    for (let q = o; q < end;) {
      const h = this.containing(q);
      const k = this.order[h]!;
      if (h >= o && h + (1 << k) <= end) {
        this.allocatedUnits -= 1 << k;
        this.release(h, k);
        q = h + (1 << k);
      } else {
        // Straddles an edge of the range: split it and look again.
        this.order[h] = k - 1;
        this.kind[h + (1 << (k - 1))] = ALLOCATED;
        this.order[h + (1 << (k - 1))] = k - 1;
      }
    }
  }

  /** Free the block of 2^k units at `start`, which must have been allocated as exactly that block. */
  freeOrder(start: number, k: number): void {
    if (!isInt(k) || k < 0 || k > this.maxOrder) {
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `order ${String(k)} must be an integer in [0, ${this.maxOrder}]`,
      );
    }
    const o = this.checkRange(start, 1 << k, "free");
    if (o & ((1 << k) - 1)) {
      throw new BuddyError(
        BUDDY_ERROR.MISALIGNED,
        `block ${hex(start)} of order ${k} is not aligned to ${1 << k} units from base ${hex(this.base)}`,
      );
    }
    const h = this.containing(o);
    if (this.kind[h] !== ALLOCATED) this.refuseFree(o, start, 1 << k);
    if (h !== o || this.order[h] !== k) {
      throw new BuddyError(
        BUDDY_ERROR.WRONG_SIZE,
        `${hex(start)} is inside an allocated block of order ${this.order[h]} at ${hex(this.base + h)}, not a block of order ${k}`,
      );
    }
    this.allocatedUnits -= 1 << k;
    this.release(o, k);
  }

  /**
   * Take `n` units from `start` out of service (a hole, a kernel image), before
   * or after allocation has started. Refused if any of them is allocated;
   * reserving units that are already reserved changes nothing.
   */
  reserve(start: number, n: number): void {
    const o = this.checkRange(start, n, "reserve");
    const end = o + n;
    for (let q = o; q < end;) {
      const h = this.containing(q);
      if (this.kind[h] === ALLOCATED) {
        throw new BuddyError(
          BUDDY_ERROR.OVERLAPS_ALLOCATION,
          `cannot reserve [${hex(start)}, ${hex(start + n)}): units from ${hex(this.base + Math.max(h, o))} are allocated`,
        );
      }
      q = h + (1 << this.order[h]!);
    }
    for (let q = o; q < end;) {
      const h = this.containing(q);
      const k = this.order[h]!;
      if (this.kind[h] === RESERVED) {
        q = h + (1 << k);
      } else if (h >= o && h + (1 << k) <= end) {
        this.unlink(h, k);
        this.kind[h] = RESERVED;
        this.freeUnits -= 1 << k;
        this.reservedUnits += 1 << k;
        q = h + (1 << k);
      } else {
        this.unlink(h, k);
        this.kind[h] = 0;
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
      if (this.kind[h] !== ALLOCATED) return false;
      q = h + (1 << this.order[h]!);
    }
    return true;
  }

  /** The partition, in address order. */
  blocks(): Block[] {
    const out: Block[] = [];
    for (let q = 0; q < this.count; q += 1 << this.order[q]!) {
      out.push({
        start: this.base + q,
        order: this.order[q]!,
        kind: this.kind[q] as Block["kind"],
      });
    }
    return out;
  }

  /** The free lists: for each order, the first unit of every free block on it, in list order. */
  freeLists(): number[][] {
    const lists: number[][] = [];
    for (let k = 0; k <= this.maxOrder; k++) {
      const list: number[] = [];
      for (let o = this.heads[k]!; o >= 0 && list.length <= this.count; o = this.next[o]!)
        list.push(this.base + o);
      lists.push(list);
    }
    return lists;
  }

  /**
   * Check every invariant and throw a {@link BuddyError} with code
   * `E_INVARIANT` naming the first one broken: the blocks partition the range,
   * each aligned to its order; the free lists hold exactly the free blocks,
   * correctly linked; no two free buddies are left uncoalesced; free +
   * allocated + reserved = count.
   */
  check(): void {
    const broken = (what: string): never => {
      throw new BuddyError(BUDDY_ERROR.INVARIANT, what);
    };
    const units = [0, 0, 0, 0];
    let freeBlocks = 0;
    let q = 0;
    while (q < this.count) {
      const kind = this.kind[q]!;
      const k = this.order[q]!;
      if (kind < FREE || kind > RESERVED)
        broken(`offset ${q} should start a block but has kind ${kind}`);
      if (k < 0 || k > this.maxOrder) broken(`block at offset ${q} has order ${k}`);
      if (q & ((1 << k) - 1)) broken(`block at offset ${q} of order ${k} is not aligned`);
      if (q + (1 << k) > this.count) broken(`block at offset ${q} of order ${k} runs past the end`);
      for (let i = q + 1; i < q + (1 << k); i++)
        if (this.kind[i] !== 0) broken(`offset ${i} is a head inside block ${q}`);
      units[kind]! += 1 << k;
      if (kind === FREE) {
        freeBlocks++;
        const b = q ^ (1 << k);
        if (
          k < this.maxOrder &&
          b + (1 << k) <= this.count &&
          this.kind[b] === FREE &&
          this.order[b] === k
        ) {
          broken(
            `free buddies at offsets ${Math.min(q, b)} and ${Math.max(q, b)} (order ${k}) were not coalesced`,
          );
        }
      }
      q += 1 << k;
    }
    if (
      units[FREE] !== this.freeUnits ||
      units[ALLOCATED] !== this.allocatedUnits ||
      units[RESERVED] !== this.reservedUnits
    ) {
      broken(
        `counters free ${this.freeUnits}, allocated ${this.allocatedUnits}, reserved ${this.reservedUnits} do not match the blocks (${units[FREE]}, ${units[ALLOCATED]}, ${units[RESERVED]})`,
      );
    }
    if (this.freeUnits + this.allocatedUnits + this.reservedUnits !== this.count)
      broken("free + allocated + reserved != count");
    let listed = 0;
    for (let k = 0; k <= this.maxOrder; k++) {
      let before = -1;
      for (let o = this.heads[k]!; o >= 0; o = this.next[o]!) {
        if (++listed > freeBlocks)
          broken(`free list ${k} has more entries than there are free blocks (a cycle?)`);
        if (this.kind[o] !== FREE || this.order[o] !== k)
          broken(`free list ${k} holds offset ${o}, which is not a free block of order ${k}`);
        if (this.prev[o] !== before)
          broken(`free list ${k}: offset ${o} has prev ${this.prev[o]}, expected ${before}`);
        before = o;
      }
    }
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
    const name = { [FREE]: "free", [ALLOCATED]: "allocated", [RESERVED]: "reserved" };
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
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `start ${String(start)} is not a safe integer`,
      );
    if (!isInt(n) || n < 1)
      throw new BuddyError(
        BUDDY_ERROR.BAD_ARGUMENT,
        `unit count ${String(n)} must be a positive integer`,
      );
    if (start < this.base || start + n > this.base + this.count) {
      throw new BuddyError(
        BUDDY_ERROR.OUT_OF_RANGE,
        `cannot ${what} [${hex(start)}, ${hex(start + n)}): outside [${hex(this.base)}, ${hex(this.base + this.count)})`,
      );
    }
    return start - this.base;
  }

  private refuseFree(q: number, start: number, n: number): never {
    const h = this.containing(q);
    const range = `[${hex(start)}, ${hex(start + n)})`;
    if (this.kind[h] === RESERVED) {
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
      if (this.everOrder[q & ~((1 << j) - 1)]! >= j) return true;
    return false;
  }

  /** Offset of the head of the block that contains offset q. */
  private containing(q: number): number {
    for (let i = 0; i <= this.maxOrder; i++) {
      const h = q & ~((1 << i) - 1);
      if (this.kind[h] !== 0 && this.order[h]! >= i) return h;
    }
    throw new BuddyError(BUDDY_ERROR.INVARIANT, `no block contains offset ${q}`);
  }

  /** Pop a free block of order >= k and split it down to order k; -1 if none. Counts it as not free. */
  private take(k: number): number {
    let j = k;
    while (j <= this.maxOrder && this.heads[j]! < 0) j++;
    if (j > this.maxOrder) return -1;
    const o = this.heads[j]!;
    this.unlink(o, j);
    while (j > k) {
      j--;
      this.push(o + (1 << j), j);
    }
    this.kind[o] = 0;
    this.freeUnits -= 1 << k;
    return o;
  }

  /** Make the block (o, k) free, merging with free buddies as far as possible. */
  private release(o: number, k: number): void {
    this.freeUnits += 1 << k;
    this.kind[o] = 0;
    while (k < this.maxOrder) {
      const b = o ^ (1 << k);
      if (b + (1 << k) > this.count || this.kind[b] !== FREE || this.order[b] !== k) break;
      this.unlink(b, k);
      this.kind[b] = 0;
      o = o < b ? o : b;
      k++;
    }
    this.push(o, k);
  }

  private push(o: number, k: number): void {
    this.kind[o] = FREE;
    this.order[o] = k;
    const head = this.heads[k]!;
    this.next[o] = head;
    this.prev[o] = -1;
    if (head >= 0) this.prev[head] = o;
    this.heads[k] = o;
  }

  private unlink(o: number, k: number): void {
    const n = this.next[o]!;
    const p = this.prev[o]!;
    if (p >= 0) this.next[p] = n;
    else this.heads[k] = n;
    if (n >= 0) this.prev[n] = p;
  }
}
