/**
 * The MMU's own view of a TLB: entries packed into one 32-bit integer, so that
 * a miss, a fill and an invalidation allocate nothing.
 *
 * ```
 *  31                              12 11    9 8 7 6 5   3 2  1  0
 * +----------------------------------+-------+-+--+-+-----+--+--+-+
 * |  physical frame number (pfn)     |   0   |G|PS|D|  0  |US|RW|P|
 * +----------------------------------+-------+-+--+-+-----+--+--+-+
 *   P  = the entry exists (0 as a whole means "no entry")
 *   RW, US = R/W and U/S combined over the walk; D = the leaf's dirty bit;
 *   PS = a piece of a 4 MiB page; G = global (G=1 and CR4.PGE=1)
 * ```
 *
 * Bits 3-5 and 9-11 are free: the MMU keeps its fast-path hints there
 * (fast-path.ts), and every reader of an entry ignores them.
 *
 * The bits sit where a PTE has them. The TLBs that ship with mm386 store
 * entries this way and implement {@link PackedTlb} directly; any other
 * {@link Tlb} (a student's, say) is wrapped by {@link packedView}, which
 * converts to and from {@link TlbEntry} objects and calls it on every access.
 *
 * Internal to the package: not exported from the index.
 *
 * @module
 */
import { HW_ERROR, HwError } from "./errors.js";
import { PDE, PTE, type Tlb, type TlbEntry } from "./api.js";

/** Bits of a packed entry (PTE positions). */
export const ENTRY = {
  P: PTE.P,
  RW: PTE.RW,
  US: PTE.US,
  D: PTE.D,
  LARGE: PDE.PS,
  G: PTE.G,
} as const;

/** Pack a translation. */
export function packEntry(
  pfn: number,
  writable: boolean,
  user: boolean,
  dirty: boolean,
  global: boolean,
  large: boolean,
): number {
  return (
    (pfn << 12) |
    ENTRY.P |
    (writable ? ENTRY.RW : 0) |
    (user ? ENTRY.US : 0) |
    (dirty ? ENTRY.D : 0) |
    (global ? ENTRY.G : 0) |
    (large ? ENTRY.LARGE : 0)
  );
}

/** A {@link TlbEntry} object for `vpn` from its packed form. */
export function unpackEntry(vpn: number, e: number): TlbEntry {
  return {
    vpn,
    pfn: e >>> 12,
    writable: (e & ENTRY.RW) !== 0,
    user: (e & ENTRY.US) !== 0,
    dirty: (e & ENTRY.D) !== 0,
    global: (e & ENTRY.G) !== 0,
    large: (e & ENTRY.LARGE) !== 0,
  };
}

/** The packed form of a {@link TlbEntry}, after checking it is one. */
export function packTlbEntry(entry: TlbEntry): number {
  const ok =
    typeof entry === "object" &&
    entry !== null &&
    Number.isInteger(entry.vpn) &&
    entry.vpn >= 0 &&
    entry.vpn < 1 << 20 &&
    Number.isInteger(entry.pfn) &&
    entry.pfn >= 0 &&
    entry.pfn < 1 << 20;
  if (!ok) {
    let shown: string;
    try {
      shown = JSON.stringify(entry) ?? typeof entry;
    } catch {
      shown = typeof entry;
    }
    throw new HwError(
      HW_ERROR.BAD_VALUE,
      `TLB entry ${shown} needs integer vpn and pfn in [0, 0x100000)`,
    );
  }
  return packEntry(entry.pfn, entry.writable, entry.user, entry.dirty, entry.global, entry.large);
}

/** What the MMU needs from a TLB. Entries are packed (see the module comment); 0 = none. */
export interface PackedTlb {
  /** The entry for `vpn`, or 0. Counts as a use (LRU records it). */
  probe(vpn: number): number;
  /** Cache `entry` for `vpn`, replacing any entry for it. Returns the vpn evicted to make room, or -1. */
  fill(vpn: number, entry: number): number;
  /** Drop `vpn` and every large piece in its 4 MiB region; the number dropped. */
  invalidatePage(vpn: number): number;
  /** Drop every non-global entry; the number dropped. */
  flushNonGlobal(): number;
  /** Drop every entry; the number dropped. */
  flushAll(): number;
  /**
   * The TLB's entries by vpn (2^20 slots, 0 = none), or null while it has none
   * (yet). A built-in TLB keeps its entries there once {@link makeFlat} was
   * called, so that the MMU's fast path (fast-path.ts) can read them directly;
   * it stores an entry exactly as filled, hint bits included, and lets the MMU
   * add hint bits to an entry it holds.
   */
  readonly slots: Int32Array | null;
  /** Make {@link slots} now (4 MiB) and return them; null if this TLB cannot. */
  makeFlat(): Int32Array | null;
  /** True if the TLB must hear of every hit (LRU). */
  readonly recordsHits: boolean;
  /** An access was served by the fast path (fast-path.ts) from this TLB's entry for `vpn`. */
  hit(vpn: number): void;
}

/** Built-in TLBs implement the packed protocol themselves. */
export function isPackedTlb(tlb: unknown): tlb is PackedTlb & Tlb {
  return typeof tlb === "object" && tlb !== null && PACKED_BRAND.has(tlb);
}

/** The classes allowed to skip the adapter (a student TLB with a `probe` method still gets it). */
export const PACKED_BRAND = new WeakSet<object>();

/** Wraps any {@link Tlb}: every access reaches its `lookup`, and no host-side cache is used. */
class ObjectTlbAdapter implements PackedTlb {
  readonly slots = null;
  readonly recordsHits = false;
  makeFlat(): null {
    return null;
  }
  constructor(private readonly tlb: Tlb) {}
  probe(vpn: number): number {
    const e = this.tlb.lookup(vpn);
    return e === undefined ? 0 : packTlbEntry(e);
  }
  fill(vpn: number, entry: number): number {
    const evicted = this.tlb.insert(unpackEntry(vpn, entry));
    return evicted === undefined || evicted === null ? -1 : evicted.vpn;
  }
  invalidatePage(vpn: number): number {
    return this.tlb.invalidatePage(vpn);
  }
  flushNonGlobal(): number {
    return this.tlb.flushNonGlobal();
  }
  flushAll(): number {
    return this.tlb.flushAll();
  }
  hit(): void {}
}

/** The packed view of `tlb`: itself if it is a built-in TLB, else an adapter. */
export function packedView(tlb: Tlb): PackedTlb {
  return isPackedTlb(tlb) ? tlb : new ObjectTlbAdapter(tlb);
}
