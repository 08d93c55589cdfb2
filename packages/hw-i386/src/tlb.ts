/**
 * Two TLBs that implement the {@link Tlb} swap point.
 *
 * - {@link UnboundedTlb}: one entry per linear page, never evicts. Stale
 *   entries live until invalidated, which makes missing-invlpg bugs
 *   reproducible.
 * - {@link SetAssociativeTlb}: `entries` slots in `entries / ways` sets, a set
 *   chosen by `vpn mod sets`, with LRU, FIFO or (seeded) random replacement,
 *   like a real processor's data TLB.
 *
 * Both keep entries packed (packed.ts) in one `Int32Array` slot per linear
 * page, as an emulator's flat TLB does, which the MMU's fast path reads
 * directly (fast-path.ts), and speak the MMU's allocation-free internal
 * protocol (`probe`/`fill`/`hit`, hidden from the published types); `lookup`,
 * `insert` and `entries` convert to and from {@link TlbEntry} objects for
 * everyone else.
 *
 * @module
 */
import { ENTRIES_PER_TABLE, type Tlb, type TlbEntry } from "./api.js";
import { HW_ERROR, HwError, showValue } from "./errors.js";
import { ENTRY, PACKED_BRAND, type PackedTlb, packTlbEntry, unpackEntry } from "./packed.js";

// Entry bits as this module's own constants (V8 folds these; an imported
// binding costs a load and checks at every use on the MMU's miss path).
const LARGE = ENTRY.LARGE;
const G = ENTRY.G;
/** A page's place in its 4 MiB region (its PDE's table): `vpn & IN_REGION`. */
const IN_REGION = ENTRIES_PER_TABLE - 1;

/** {@link UnboundedTlb}'s `flat` and `held` until it has flat slots. */
const NOT_FLAT = new Int32Array(0);

/** A TLB with one slot for every linear page: nothing is ever evicted. */
export class UnboundedTlb implements Tlb {
  readonly name = "unbounded";
  readonly capacity = Infinity;
  /** @internal */
  readonly recordsHits = false;
  /**
   * The packed entry of every page (0 = none), by vpn, once the MMU asked for
   * it (`makeFlat`): one 4 MiB array that the MMU's fast path reads directly.
   * Until then (a machine built for a few accesses) entries live in
   * `regions`, per 4 MiB region, created on first use, and `flat` is
   * {@link NOT_FLAT} (an array, not null: V8 then knows the field's type and
   * checks none at its uses on the miss path).
   */
  private flat: Int32Array = NOT_FLAT;
  private regions: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(
    ENTRIES_PER_TABLE,
  );
  /** Per 4 MiB region: how many held entries came from a large page. */
  private readonly largeCount = new Uint16Array(ENTRIES_PER_TABLE);
  /**
   * The pages that may hold an entry, a bit per page (page `vpn` is bit
   * `vpn & 31` of word `vpn >>> 5`), and the words of it that are non-zero,
   * each listed once in `words`: so that flushes, `size` and `entries` cost
   * what the TLB holds, not 2^20 slots. A fill sets its page's bit (one
   * read-modify-write; it lists the word only when the word was 0); an
   * invalidation leaves it (nothing to do on invlpg). Whoever walks the set
   * clears the bits of pages found empty and unlists the words left at 0.
   * Made with the flat slots (128 KiB that a machine built for a few accesses
   * does not pay for); until then the walks look through `regions`.
   */
  private held: Int32Array = NOT_FLAT;
  private words = new Int32Array(64);
  private wordCount = 0;

  constructor() {
    PACKED_BRAND.add(this);
  }

  /** Number of entries held. */
  get size(): number {
    // Not counted on every fill and invalidation (the miss path): a walk of the held bits.
    return this.sweep(~0, null);
  }

  /** @internal The flat slots by vpn (see `flat`), or null while there are none yet. */
  get slots(): Int32Array | null {
    return this.flat === NOT_FLAT ? null : this.flat;
  }

  lookup(vpn: number): TlbEntry | undefined {
    if (vpn >>> 0 !== vpn || vpn >= 1 << 20) return undefined; // no such page
    const e = this.probe(vpn);
    return e === 0 ? undefined : unpackEntry(vpn, e);
  }

  insert(entry: TlbEntry): undefined {
    this.fill(entry.vpn, packTlbEntry(entry));
    return undefined;
  }

  /** @internal */
  probe(vpn: number): number {
    const flat = this.flat;
    if (flat !== NOT_FLAT) return flat[vpn]!;
    const region = this.regions[vpn >>> 10];
    return region === undefined ? 0 : region[vpn & IN_REGION]!;
  }

  private put(vpn: number, entry: number): void {
    const flat = this.flat;
    if (flat !== NOT_FLAT) {
      flat[vpn] = entry;
      return;
    }
    let region = this.regions[vpn >>> 10];
    if (region === undefined) region = this.regions[vpn >>> 10] = new Int32Array(ENTRIES_PER_TABLE);
    region[vpn & IN_REGION] = entry;
  }

  /** @internal */
  fill(vpn: number, entry: number): number {
    const old = this.probe(vpn);
    if ((old & LARGE) !== 0) this.largeCount[vpn >>> 10]!--;
    if ((entry & LARGE) !== 0) this.largeCount[vpn >>> 10]!++;
    this.put(vpn, entry);
    if (this.held !== NOT_FLAT) this.noteFill(vpn);
    return -1;
  }

  /**
   * @internal Page `vpn` now holds an entry: set its bit in `held` (once the
   * slots are flat). The MMU's
   * miss path calls this after storing a 4 KiB entry (no LARGE) in an empty
   * flat slot itself (fast-path.ts): the fill without its checks. Small, so
   * that V8 inlines it into the miss.
   */
  noteFill(vpn: number): void {
    const held = this.held;
    const w = vpn >>> 5;
    const bits = held[w]!;
    held[w] = bits | (1 << (vpn & 31));
    if (bits === 0) this.listWord(w);
  }

  /** Word `w` of `held` became non-zero: list it (growing the list when full). */
  private listWord(w: number): void {
    if (this.wordCount === this.words.length) {
      const bigger = new Int32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    this.words[this.wordCount++] = w;
  }

  /**
   * @internal invlpg's common case: {@link invalidatePage} of the valid vpn
   * `vpn` when the slots are flat and its 4 MiB region holds no large page.
   */
  invalidateSlot(vpn: number): number {
    const flat = this.flat;
    if (flat === NOT_FLAT || this.largeCount[vpn >>> 10] !== 0) return this.invalidatePage(vpn);
    if (flat[vpn] === 0) return 0;
    flat[vpn] = 0; // its bit in `held` stays until a walk of the set finds the slot empty
    return 1;
  }

  /** @internal */
  hit(): void {}

  invalidatePage(vpn: number): number {
    if (vpn >>> 0 !== vpn || vpn >= 1 << 20) return 0; // no such page: nothing held
    const r = vpn >>> 10;
    let dropped = 0;
    if (this.largeCount[r]! > 0) {
      for (let v = r << 10; v < (r + 1) << 10; v++) {
        if ((this.probe(v) & LARGE) !== 0) {
          this.put(v, 0);
          dropped++;
        }
      }
      this.largeCount[r] = 0;
    }
    if (this.probe(vpn) !== 0) {
      this.put(vpn, 0);
      dropped++;
    }
    return dropped;
  }

  flushNonGlobal(): number {
    return this.sweep(G, null);
  }

  flushAll(): number {
    return this.sweep(0, null);
  }

  entries(): TlbEntry[] {
    const out: TlbEntry[] = [];
    this.sweep(~0, out);
    return out;
  }

  /** @internal Move every entry into flat slots (once); returns them. */
  makeFlat(): Int32Array {
    if (this.flat !== NOT_FLAT) return this.flat;
    const flat = new Int32Array(1 << 20);
    this.regions.forEach((region, r) => {
      if (region !== undefined) flat.set(region, r << 10);
    });
    this.held = new Int32Array(1 << 15);
    this.regions.forEach((region, r) => {
      if (region === undefined) return;
      for (let i = 0; i < ENTRIES_PER_TABLE; i++) if (region[i] !== 0) this.noteFill((r << 10) | i);
    });
    this.flat = flat;
    this.regions = [];
    return flat;
  }

  /**
   * Walk the held entries: drop every one that has none of the bits `keep`
   * (0: drop all; ~0: drop none), pushing those kept onto `out` if given;
   * clear the bits of pages found empty and unlist the words left at 0.
   * Returns the number dropped, or for `keep` = ~0 the number held. Flushes
   * (every CR3 load) run this on the flat slots, so it reads them directly.
   */
  private sweep(keep: number, out: TlbEntry[] | null): number {
    const flat = this.flat;
    if (flat === NOT_FLAT) return this.sweepRegions(keep, out);
    const held = this.held;
    const words = this.words;
    const large = this.largeCount;
    const n = this.wordCount;
    let dropped = 0;
    let kept = 0;
    let listed = 0;
    for (let k = 0; k < n; k++) {
      const w = words[k]!;
      let bits = held[w]!;
      let left = bits;
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits); // the lowest bit set
        bits &= bits - 1;
        const vpn = (w << 5) | b;
        const e = flat[vpn]!;
        if ((e & keep) !== 0) {
          kept++;
          if (out !== null) out.push(unpackEntry(vpn, e));
          continue;
        }
        if (e !== 0) {
          if ((e & LARGE) !== 0) large[vpn >>> 10]!--;
          flat[vpn] = 0;
          dropped++;
        }
        left ^= 1 << b;
      }
      held[w] = left;
      if (left !== 0) words[listed++] = w;
    }
    this.wordCount = listed;
    return keep === ~0 ? kept : dropped;
  }

  /** {@link sweep} before the slots are flat: every slot of the regions made so far. */
  private sweepRegions(keep: number, out: TlbEntry[] | null): number {
    let dropped = 0;
    let kept = 0;
    this.regions.forEach((region, r) => {
      if (region === undefined) return;
      for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
        const e = region[i]!;
        if (e === 0) continue;
        if ((e & keep) !== 0) {
          kept++;
          if (out !== null) out.push(unpackEntry((r << 10) | i, e));
          continue;
        }
        if ((e & LARGE) !== 0) this.largeCount[r]!--;
        region[i] = 0;
        dropped++;
      }
    });
    return keep === ~0 ? kept : dropped;
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
  declare readonly name: string;
  declare readonly capacity: number;
  /** Entries per set. */
  declare readonly ways: number;
  /** Number of sets. */
  declare readonly sets: number;
  /** Replacement policy. */
  declare readonly replacement: TlbReplacement;
  /** @internal LRU must hear of every use. */
  declare readonly recordsHits: boolean;
  /**
   * @deprecated Ignored: the MMU tells a built-in TLB of every use itself. True for LRU.
   */
  declare readonly observesHits: boolean;
  /** vpn held in each slot, or -1. */
  declare private readonly tags: Int32Array;
  /** The packed entry in each slot. */
  declare private readonly info: Int32Array;
  /**
   * Once the MMU asked for it (`makeFlat`): the packed entry of every page held
   * (0 = none), by vpn, kept with `info` (for the MMU's fast path, and an O(1)
   * probe); the MMU's hint bits live only here.
   */
  private flat: Int32Array | null = null;
  /** Insertion time of each slot (FIFO). */
  declare private readonly stamps: Float64Array;
  /**
   * LRU: last use of each page, by vpn, in arrays of 1024 made as pages are
   * filled: a use is then one store, whichever slot holds the page, so the
   * MMU's fast path can report every hit cheaply.
   */
  private readonly lastUse = new Array<Float64Array | undefined>(ENTRIES_PER_TABLE).fill(undefined);
  /** `sets - 1` when `sets` is a power of two, else -1 (then `vpn % sets`). */
  declare private readonly setMask: number;
  declare private readonly lru: boolean;
  private clock = 0;
  declare private rng: number;
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
    this.stamps = new Float64Array(entries);
    this.info = new Int32Array(entries);
    const shape = ways === entries ? "fully associative" : `${ways}-way`;
    this.name = `${entries}-entry ${shape} ${replacement.toUpperCase()}`;
    PACKED_BRAND.add(this);
  }

  /** @internal The flat entries by vpn (see `flat`), or null while there are none yet. */
  get slots(): Int32Array | null {
    return this.flat;
  }

  lookup(vpn: number): TlbEntry | undefined {
    if (vpn >>> 0 !== vpn || vpn >= 1 << 20) return undefined; // no such page
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
    const flat = this.flat;
    let e: number;
    if (flat !== null) e = flat[vpn]!;
    else {
      const i = this.find(vpn);
      e = i < 0 ? 0 : this.info[i]!;
    }
    if (e !== 0 && this.lru) this.lastUse[vpn >>> 10]![vpn & IN_REGION] = ++this.clock;
    return e;
  }

  /** @internal */
  hit(vpn: number): void {
    // Only for pages held (the MMU hints nothing else).
    this.lastUse[vpn >>> 10]![vpn & IN_REGION] = ++this.clock;
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
    const old = this.tags[slot]!;
    if (old !== -1) {
      if ((this.info[slot]! & LARGE) !== 0) this.largeHeld--;
      if (this.flat !== null) this.flat[old] = 0;
    }
    if ((entry & LARGE) !== 0) this.largeHeld++;
    this.tags[slot] = vpn;
    this.info[slot] = entry;
    if (this.flat !== null) this.flat[vpn] = entry;
    this.stamps[slot] = ++this.clock;
    if (this.lru) {
      const r = vpn >>> 10;
      (this.lastUse[r] ??= new Float64Array(ENTRIES_PER_TABLE))[vpn & IN_REGION] = this.clock;
    }
    return evicted;
  }

  invalidatePage(vpn: number): number {
    if (vpn >>> 0 !== vpn || vpn >= 1 << 20) return 0; // no such page: nothing held
    if (this.largeHeld === 0) {
      if (this.flat !== null && this.flat[vpn] === 0) return 0;
      const i = this.find(vpn);
      if (i < 0) return 0;
      this.tags[i] = -1;
      this.info[i] = 0;
      if (this.flat !== null) this.flat[vpn] = 0;
      return 1;
    }
    const region = vpn >>> 10;
    return this.drop((v, e) => v === vpn || ((e & LARGE) !== 0 && v >>> 10 === region));
  }

  flushNonGlobal(): number {
    return this.drop((_v, e) => (e & G) === 0);
  }

  flushAll(): number {
    return this.drop(() => true);
  }

  entries(): TlbEntry[] {
    const out: TlbEntry[] = [];
    for (let i = 0; i < this.tags.length; i++) {
      const vpn = this.tags[i]!;
      if (vpn !== -1) out.push(unpackEntry(vpn, this.info[i]!));
    }
    return out;
  }

  /** @internal Start keeping the flat entries by vpn (once); returns them. */
  makeFlat(): Int32Array {
    if (this.flat !== null) return this.flat;
    const flat = new Int32Array(1 << 20);
    for (let i = 0; i < this.tags.length; i++) {
      if (this.tags[i] !== -1) flat[this.tags[i]!] = this.info[i]!;
    }
    this.flat = flat;
    return flat;
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
    return this.lastUse[vpn >>> 10]![vpn & IN_REGION]!;
  }

  private drop(test: (vpn: number, entry: number) => boolean): number {
    let dropped = 0;
    for (let i = 0; i < this.tags.length; i++) {
      const vpn = this.tags[i]!;
      if (vpn !== -1 && test(vpn, this.info[i]!)) {
        if ((this.info[i]! & LARGE) !== 0) this.largeHeld--;
        this.tags[i] = -1;
        this.info[i] = 0;
        if (this.flat !== null) this.flat[vpn] = 0;
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
