/**
 * Two TLBs that implement the {@link Tlb} swap point.
 *
 * - {@link UnboundedTlb}: one entry per linear page, never evicts. Stale
 *   entries live until invalidated, which makes missing-invlpg bugs
 *   reproducible. Stored like the page tables themselves, two levels deep:
 *   `regions[vpn >>> 10][vpn & 1023]`.
 * - {@link SetAssociativeTlb}: `entries` slots in `entries / ways` sets, a set
 *   chosen by `vpn mod sets`, with LRU, FIFO or (seeded) random replacement,
 *   like a real processor's data TLB.
 *
 * Both keep entries packed in typed arrays (packed.ts) and also speak the
 * MMU's allocation-free internal protocol (`probe`/`fill`/`hit`, hidden from
 * the published types); `lookup`, `insert` and `entries` convert to and from
 * {@link TlbEntry} objects for everyone else.
 *
 * @module
 */
import type { Tlb, TlbEntry } from "./api.js";
import { HW_ERROR, HwError, showValue } from "./errors.js";
import { ENTRY, PACKED_BRAND, type PackedTlb, packTlbEntry, unpackEntry } from "./packed.js";

/** A TLB with one slot for every linear page: nothing is ever evicted. */
export class UnboundedTlb implements Tlb {
  readonly name = "unbounded";
  readonly capacity = Infinity;
  /** @internal */
  readonly hostCacheable = true;
  /** @internal */
  readonly recordsHits = false;
  /**
   * Per 4 MiB region, created on first use: words 0-1023 hold the packed entry
   * of each page (0 = none), words 1024-2047 its place in `held` plus one.
   */
  private readonly regions = new Array<Int32Array | undefined>(1024).fill(undefined);
  /** Per 4 MiB region: how many held entries came from a large page. */
  private readonly largeCount = new Uint16Array(1024);
  /** Every vpn held, in no order, so that flushes cost what the TLB holds. */
  private held = new Int32Array(64);
  private count = 0;

  constructor() {
    PACKED_BRAND.add(this);
  }

  /** Number of entries held. */
  get size(): number {
    return this.count;
  }

  lookup(vpn: number): TlbEntry | undefined {
    const e = this.probe(vpn);
    return e === 0 ? undefined : unpackEntry(vpn, e);
  }

  insert(entry: TlbEntry): undefined {
    this.fill(entry.vpn, packTlbEntry(entry));
    return undefined;
  }

  /** @internal */
  probe(vpn: number): number {
    const region = this.regions[vpn >>> 10];
    return region === undefined ? 0 : region[vpn & 1023]!;
  }

  /** @internal */
  fill(vpn: number, entry: number): number {
    const r = vpn >>> 10;
    let region = this.regions[r];
    if (region === undefined) {
      region = new Int32Array(2048);
      this.regions[r] = region;
    }
    const i = vpn & 1023;
    const old = region[i]!;
    if (old === 0) {
      if (this.count === this.held.length) {
        const bigger = new Int32Array(this.held.length * 2);
        bigger.set(this.held);
        this.held = bigger;
      }
      this.held[this.count] = vpn;
      region[1024 + i] = ++this.count;
    } else if ((old & ENTRY.LARGE) !== 0) this.largeCount[r]!--;
    if ((entry & ENTRY.LARGE) !== 0) this.largeCount[r]!++;
    region[i] = entry;
    return -1;
  }

  /** @internal */
  hit(): void {}

  invalidatePage(vpn: number): number {
    const r = vpn >>> 10;
    const region = this.regions[r];
    if (region === undefined) return 0;
    let dropped = 0;
    if (this.largeCount[r]! > 0) {
      for (let i = 0; i < 1024; i++) {
        if ((region[i]! & ENTRY.LARGE) !== 0) {
          this.remove(region, (r << 10) | i);
          dropped++;
        }
      }
    }
    if (region[vpn & 1023] !== 0) {
      this.remove(region, vpn);
      dropped++;
    }
    return dropped;
  }

  flushNonGlobal(): number {
    return this.drop(false);
  }

  flushAll(): number {
    return this.drop(true);
  }

  entries(): TlbEntry[] {
    const out: TlbEntry[] = [];
    for (let k = 0; k < this.count; k++) {
      const vpn = this.held[k]!;
      out.push(unpackEntry(vpn, this.probe(vpn)));
    }
    return out;
  }

  /** Drop the entry for `vpn` (held), moving the last held vpn into its place. */
  private remove(region: Int32Array, vpn: number): void {
    const i = vpn & 1023;
    if ((region[i]! & ENTRY.LARGE) !== 0) this.largeCount[vpn >>> 10]!--;
    const at = region[1024 + i]! - 1;
    const last = this.held[--this.count]!;
    this.held[at] = last;
    this.regions[last >>> 10]![1024 + (last & 1023)] = at + 1;
    region[i] = 0;
    region[1024 + i] = 0;
  }

  private drop(all: boolean): number {
    let dropped = 0;
    // Backwards: remove() moves the last held entry, which this loop has already seen.
    for (let k = this.count - 1; k >= 0; k--) {
      const vpn = this.held[k]!;
      const region = this.regions[vpn >>> 10]!;
      if (all || (region[vpn & 1023]! & ENTRY.G) === 0) {
        this.remove(region, vpn);
        dropped++;
      }
    }
    return dropped;
  }
}

/** Replacement policies of {@link SetAssociativeTlb}. */
export const TLB_REPLACEMENT = {
  /** Evict the entry used least recently. */
  LRU: "lru",
  /** Evict the entry inserted first. */
  FIFO: "fifo",
  /** Evict a pseudo-random entry (xorshift32, seeded: runs are reproducible). */
  RANDOM: "random",
} as const;

/** One of the {@link TLB_REPLACEMENT} values. */
export type TlbReplacement = (typeof TLB_REPLACEMENT)[keyof typeof TLB_REPLACEMENT];

/** Shape of a {@link SetAssociativeTlb}. */
export interface SetAssociativeTlbOptions {
  /** Total number of entries. Default 64. */
  readonly entries?: number;
  /** Entries per set; `entries` for a fully associative TLB. Default 4. */
  readonly ways?: number;
  /** Default `"lru"`. */
  readonly replacement?: TlbReplacement;
  /** Seed for `"random"` replacement (non-zero). Default 1. */
  readonly seed?: number;
}

/** A bounded, set-associative TLB. */
export class SetAssociativeTlb implements Tlb {
  readonly name: string;
  readonly capacity: number;
  /** Entries per set. */
  readonly ways: number;
  /** Number of sets. */
  readonly sets: number;
  /** Replacement policy. */
  readonly replacement: TlbReplacement;
  /** @internal */
  readonly hostCacheable = true;
  /** @internal LRU must hear of every use. */
  readonly recordsHits: boolean;
  /**
   * @deprecated Ignored: the MMU tells a built-in TLB of every use itself. True for LRU.
   */
  readonly observesHits: boolean;
  /** vpn held in each slot, or -1. */
  private readonly tags: Int32Array;
  /** The packed entry in each slot. */
  private readonly info: Int32Array;
  /** Insertion time of each slot (FIFO). */
  private readonly stamps: Float64Array;
  /**
   * LRU: last use of each page, by vpn, in arrays of 1024 made as pages are
   * filled: a use is then one store, whichever slot holds the page, so the
   * MMU's fast path can report every hit cheaply.
   */
  private readonly lastUse = new Array<Float64Array | undefined>(1024).fill(undefined);
  /** `sets - 1` when `sets` is a power of two, else -1 (then `vpn % sets`). */
  private readonly setMask: number;
  private readonly lru: boolean;
  private clock = 0;
  private rng: number;
  /** Entries held that came from a 4 MiB page; while 0, invalidatePage need only look in one set. */
  private largeHeld = 0;
  /** The packed entry that the last `fill` evicted. */
  private evictedEntry = 0;

  constructor(options: SetAssociativeTlbOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new HwError(HW_ERROR.BAD_CONFIG, `TLB options ${showValue(options)} are not an object`);
    }
    // Only `undefined` means "the default"; null is refused like any other bad value.
    const entries = options.entries === undefined ? 64 : options.entries;
    const ways = options.ways === undefined ? 4 : options.ways;
    const replacement = options.replacement === undefined ? "lru" : options.replacement;
    if (!Number.isInteger(entries) || entries < 1 || entries > 1 << 20) {
      throw new HwError(
        HW_ERROR.BAD_CONFIG,
        `TLB entries ${showValue(entries)} must be an integer in [1, 2^20]`,
      );
    }
    if (!Number.isInteger(ways) || ways < 1 || entries % ways !== 0) {
      throw new HwError(
        HW_ERROR.BAD_CONFIG,
        `TLB ways ${showValue(ways)} must be a positive integer that divides entries (${entries})`,
      );
    }
    if (!(Object.values(TLB_REPLACEMENT) as unknown[]).includes(replacement)) {
      throw new HwError(HW_ERROR.BAD_CONFIG, `unknown TLB replacement ${showValue(replacement)}`);
    }
    const seed = options.seed === undefined ? 1 : options.seed;
    if (!Number.isInteger(seed) || seed >>> 0 === 0) {
      throw new HwError(
        HW_ERROR.BAD_CONFIG,
        `TLB seed ${showValue(seed)} must be a non-zero integer`,
      );
    }
    this.capacity = entries;
    this.ways = ways;
    this.sets = entries / ways;
    this.setMask = (this.sets & (this.sets - 1)) === 0 ? this.sets - 1 : -1;
    this.replacement = replacement;
    this.lru = replacement === "lru";
    this.recordsHits = this.lru;
    this.observesHits = this.lru;
    this.rng = seed >>> 0;
    this.tags = new Int32Array(entries).fill(-1);
    this.info = new Int32Array(entries);
    this.stamps = new Float64Array(entries);
    const shape = ways === entries ? "fully associative" : `${ways}-way`;
    this.name = `${entries}-entry ${shape} ${replacement.toUpperCase()}`;
    PACKED_BRAND.add(this);
  }

  lookup(vpn: number): TlbEntry | undefined {
    const e = this.probe(vpn);
    return e === 0 ? undefined : unpackEntry(vpn, e);
  }

  insert(entry: TlbEntry): TlbEntry | undefined {
    const evicted = this.fill(entry.vpn, packTlbEntry(entry));
    return evicted < 0 ? undefined : unpackEntry(evicted, this.evictedEntry);
  }

  /** First slot of the set that `vpn` maps to. */
  private setBase(vpn: number): number {
    return (this.setMask >= 0 ? vpn & this.setMask : vpn % this.sets) * this.ways;
  }

  /** The slot holding `vpn`, or -1. */
  private find(vpn: number): number {
    const base = this.setBase(vpn);
    const end = base + this.ways;
    const tags = this.tags;
    for (let i = base; i < end; i++) if (tags[i] === vpn) return i;
    return -1;
  }

  /** @internal */
  probe(vpn: number): number {
    const i = this.find(vpn);
    if (i < 0) return 0;
    if (this.lru) this.lastUse[vpn >>> 10]![vpn & 1023] = ++this.clock;
    return this.info[i]!;
  }

  /** @internal */
  hit(vpn: number): void {
    // Only for pages held (the MMU's host cache holds nothing else).
    this.lastUse[vpn >>> 10]![vpn & 1023] = ++this.clock;
  }

  /** @internal */
  fill(vpn: number, entry: number): number {
    const base = this.setBase(vpn);
    let slot = -1;
    for (let i = base; i < base + this.ways; i++) {
      if (this.tags[i] === vpn) {
        slot = i;
        break;
      }
      if (slot < 0 && this.tags[i] === -1) slot = i;
    }
    let evicted = -1;
    if (slot < 0) {
      slot = this.victim(base);
      evicted = this.tags[slot]!;
      this.evictedEntry = this.info[slot]!;
    }
    if (this.tags[slot] !== -1 && (this.info[slot]! & ENTRY.LARGE) !== 0) this.largeHeld--;
    if ((entry & ENTRY.LARGE) !== 0) this.largeHeld++;
    this.tags[slot] = vpn;
    this.info[slot] = entry;
    this.stamps[slot] = ++this.clock;
    if (this.lru) {
      const r = vpn >>> 10;
      (this.lastUse[r] ??= new Float64Array(1024))[vpn & 1023] = this.clock;
    }
    return evicted;
  }

  invalidatePage(vpn: number): number {
    if (this.largeHeld === 0) {
      const i = this.find(vpn);
      if (i < 0) return 0;
      this.tags[i] = -1;
      this.info[i] = 0;
      return 1;
    }
    const region = vpn >>> 10;
    return this.drop((v, e) => v === vpn || ((e & ENTRY.LARGE) !== 0 && v >>> 10 === region));
  }

  flushNonGlobal(): number {
    return this.drop((_v, e) => (e & ENTRY.G) === 0);
  }

  flushAll(): number {
    return this.drop(() => true);
  }

  entries(): TlbEntry[] {
    const out: TlbEntry[] = [];
    for (let i = 0; i < this.tags.length; i++) {
      if (this.tags[i] !== -1) out.push(unpackEntry(this.tags[i]!, this.info[i]!));
    }
    return out;
  }

  private victim(base: number): number {
    if (this.replacement === "random") {
      let x = this.rng;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rng = x >>> 0;
      return base + (this.rng % this.ways);
    }
    let best = base;
    let oldest = this.age(base);
    for (let i = base + 1; i < base + this.ways; i++) {
      const a = this.age(i);
      if (a < oldest) {
        best = i;
        oldest = a;
      }
    }
    return best;
  }

  /** When slot `i` (held) was last used (LRU) or filled (FIFO). */
  private age(i: number): number {
    if (!this.lru) return this.stamps[i]!;
    const vpn = this.tags[i]!;
    return this.lastUse[vpn >>> 10]![vpn & 1023]!;
  }

  private drop(test: (vpn: number, entry: number) => boolean): number {
    let dropped = 0;
    for (let i = 0; i < this.tags.length; i++) {
      const vpn = this.tags[i]!;
      if (vpn !== -1 && test(vpn, this.info[i]!)) {
        if ((this.info[i]! & ENTRY.LARGE) !== 0) this.largeHeld--;
        this.tags[i] = -1;
        this.info[i] = 0;
        dropped++;
      }
    }
    return dropped;
  }
}

// Both classes speak the MMU's packed protocol: checked here, not published.
type SpeaksPacked<T extends PackedTlb> = T;
// eslint-disable-next-line @typescript-eslint/no-unused-vars
type Checked = [SpeaksPacked<UnboundedTlb>, SpeaksPacked<SetAssociativeTlb>];
