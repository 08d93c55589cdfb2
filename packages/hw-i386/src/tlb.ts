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
 * @module
 */
import type { Tlb, TlbEntry } from "./api.js";
import { HW_ERROR, HwError } from "./errors.js";

/** A TLB with one slot for every linear page: nothing is ever evicted. */
export class UnboundedTlb implements Tlb {
  readonly name = "unbounded";
  readonly capacity = Infinity;
  private readonly regions = new Array<(TlbEntry | undefined)[] | undefined>(1024).fill(undefined);
  /** Per 4 MiB region: how many held entries came from a large page. */
  private readonly largeCount = new Uint16Array(1024);
  private count = 0;

  /** Number of entries held. */
  get size(): number {
    return this.count;
  }

  lookup(vpn: number): TlbEntry | undefined {
    const region = this.regions[vpn >>> 10];
    return region === undefined ? undefined : region[vpn & 1023];
  }

  insert(entry: TlbEntry): undefined {
    const r = entry.vpn >>> 10;
    let region = this.regions[r];
    if (region === undefined) {
      region = new Array<TlbEntry | undefined>(1024).fill(undefined);
      this.regions[r] = region;
    }
    const old = region[entry.vpn & 1023];
    if (old === undefined) this.count++;
    else if (old.large) this.largeCount[r]!--;
    if (entry.large) this.largeCount[r]!++;
    region[entry.vpn & 1023] = entry;
    return undefined;
  }

  invalidatePage(vpn: number): number {
    const r = vpn >>> 10;
    const region = this.regions[r];
    if (region === undefined) return 0;
    let dropped = 0;
    if (this.largeCount[r]! > 0) {
      for (let i = 0; i < 1024; i++) {
        if (region[i]?.large === true) {
          region[i] = undefined;
          dropped++;
        }
      }
      this.largeCount[r] = 0;
    }
    if (region[vpn & 1023] !== undefined) {
      region[vpn & 1023] = undefined;
      dropped++;
    }
    this.count -= dropped;
    return dropped;
  }

  flushNonGlobal(): number {
    return this.drop((e) => !e.global);
  }

  flushAll(): number {
    return this.drop(() => true);
  }

  entries(): TlbEntry[] {
    const out: TlbEntry[] = [];
    for (const region of this.regions) {
      if (region === undefined) continue;
      for (const e of region) if (e !== undefined) out.push(e);
    }
    return out;
  }

  private drop(test: (e: TlbEntry) => boolean): number {
    let dropped = 0;
    for (let r = 0; r < 1024; r++) {
      const region = this.regions[r];
      if (region === undefined) continue;
      let left = 0;
      for (let i = 0; i < 1024; i++) {
        const e = region[i];
        if (e === undefined) continue;
        if (test(e)) {
          if (e.large) this.largeCount[r]!--;
          region[i] = undefined;
          dropped++;
        } else left++;
      }
      if (left === 0) this.regions[r] = undefined;
    }
    this.count -= dropped;
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
  private readonly tags: Int32Array;
  private readonly slots: (TlbEntry | undefined)[];
  private readonly stamps: Float64Array;
  private readonly lru: boolean;
  /** LRU records every use, so every access must reach `lookup`. */
  readonly observesHits: boolean;
  private clock = 0;
  private rng: number;
  /** Entries held that came from a 4 MiB page; while 0, invalidatePage need only look in one set. */
  private largeHeld = 0;

  constructor(options: SetAssociativeTlbOptions = {}) {
    const entries = options.entries ?? 64;
    const ways = options.ways ?? 4;
    const replacement = options.replacement ?? "lru";
    if (!Number.isInteger(entries) || entries < 1 || entries > 1 << 20) {
      throw new HwError(
        HW_ERROR.BAD_CONFIG,
        `TLB entries ${entries} must be an integer in [1, 2^20]`,
      );
    }
    if (!Number.isInteger(ways) || ways < 1 || entries % ways !== 0) {
      throw new HwError(
        HW_ERROR.BAD_CONFIG,
        `TLB ways ${ways} must be a positive integer that divides entries (${entries})`,
      );
    }
    if (!Object.values(TLB_REPLACEMENT).includes(replacement)) {
      throw new HwError(HW_ERROR.BAD_CONFIG, `unknown TLB replacement "${String(replacement)}"`);
    }
    const seed = options.seed ?? 1;
    if (!Number.isInteger(seed) || seed >>> 0 === 0) {
      throw new HwError(HW_ERROR.BAD_CONFIG, `TLB seed ${seed} must be a non-zero integer`);
    }
    this.capacity = entries;
    this.ways = ways;
    this.sets = entries / ways;
    this.replacement = replacement;
    this.lru = replacement === "lru";
    this.observesHits = this.lru;
    this.rng = seed >>> 0;
    this.tags = new Int32Array(entries).fill(-1);
    this.slots = new Array<TlbEntry | undefined>(entries).fill(undefined);
    this.stamps = new Float64Array(entries);
    const shape = ways === entries ? "fully associative" : `${ways}-way`;
    this.name = `${entries}-entry ${shape} ${replacement.toUpperCase()}`;
  }

  lookup(vpn: number): TlbEntry | undefined {
    const ways = this.ways;
    const base = (vpn % this.sets) * ways;
    const tags = this.tags;
    for (let i = base; i < base + ways; i++) {
      if (tags[i] === vpn) {
        if (this.lru) this.stamps[i] = ++this.clock;
        return this.slots[i];
      }
    }
    return undefined;
  }

  insert(entry: TlbEntry): TlbEntry | undefined {
    const base = (entry.vpn % this.sets) * this.ways;
    let slot = -1;
    for (let i = base; i < base + this.ways; i++) {
      if (this.tags[i] === entry.vpn) {
        slot = i;
        break;
      }
      if (slot < 0 && this.tags[i] === -1) slot = i;
    }
    let evicted: TlbEntry | undefined;
    if (slot < 0) {
      slot = this.victim(base);
      evicted = this.slots[slot];
    }
    if (this.slots[slot]?.large === true) this.largeHeld--;
    if (entry.large) this.largeHeld++;
    this.tags[slot] = entry.vpn;
    this.slots[slot] = entry;
    this.stamps[slot] = ++this.clock;
    return evicted;
  }

  invalidatePage(vpn: number): number {
    if (this.largeHeld === 0) {
      const base = (vpn % this.sets) * this.ways;
      for (let i = base; i < base + this.ways; i++) {
        if (this.tags[i] === vpn) {
          this.slots[i] = undefined;
          this.tags[i] = -1;
          return 1;
        }
      }
      return 0;
    }
    const region = vpn >>> 10;
    return this.drop((e) => e.vpn === vpn || (e.large && e.vpn >>> 10 === region));
  }

  flushNonGlobal(): number {
    return this.drop((e) => !e.global);
  }

  flushAll(): number {
    return this.drop(() => true);
  }

  entries(): TlbEntry[] {
    return this.slots.filter((e): e is TlbEntry => e !== undefined);
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
    for (let i = base + 1; i < base + this.ways; i++) {
      if (this.stamps[i]! < this.stamps[best]!) best = i;
    }
    return best;
  }

  private drop(test: (e: TlbEntry) => boolean): number {
    let dropped = 0;
    for (let i = 0; i < this.slots.length; i++) {
      const e = this.slots[i];
      if (e !== undefined && test(e)) {
        if (e.large) this.largeHeld--;
        this.slots[i] = undefined;
        this.tags[i] = -1;
        dropped++;
      }
    }
    return dropped;
  }
}
