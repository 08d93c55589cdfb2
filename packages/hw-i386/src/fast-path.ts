/**
 * The host-side fast path: how the simulation goes fast without changing what
 * it simulates. Nothing here is part of the machine; mmu.ts is.
 *
 * {@link HostCache} is an emulator's flat TLB (as in QEMU's softmmu or v86):
 * one 32-bit slot per linear page, holding where the page's frame lives in the
 * host's RAM array with the kinds of access that may go straight there folded
 * into the low bits:
 *
 * ```
 *  31 30 29                          10 9      4  3   2   1   0
 * +-----+------------------------------+--------+---+---+---+---+
 * |  0  |  pfn (word index of frame)   |   0    |W3 |W0 |R3 |R0 |
 * +-----+------------------------------+--------+---+---+---+---+
 *   R0/R3: a read at CPL 0/3 may use it; W0/W3: a write at CPL 0/3 may.
 *   0 as a whole: nothing cached for the page.
 * ```
 *
 * A hit is one load and one bit test. The cache only ever holds a subset of
 * what the simulated TLB holds, with no more rights than the TLB entry gives:
 * the MMU drops a page here whenever the TLB drops it (invlpg, flushes, a
 * fault, an eviction reported by the TLB, a re-walk), and a write right is
 * given only once the TLB entry is dirty, so a write through a clean entry
 * still walks and sets D. For an LRU TLB every hit is reported to it. It thus
 * changes how fast the simulation runs, never what it does; the twin-machine
 * test (test/fast-path.test.ts) checks exactly that.
 *
 * @module
 */
import { ENTRY } from "./packed.js";

/** Access-right bits of a host-cache slot. */
export const HOST = {
  /** A read at CPL 0 may use the slot. */
  R0: 1,
  /** A read at CPL 3 may use the slot. */
  R3: 2,
  /** A write at CPL 0 may use the slot. */
  W0: 4,
  /** A write at CPL 3 may use the slot. */
  W3: 8,
} as const;

/** Installs an MMU makes before it gets a cache of its own (4 MiB): short-lived machines never do. */
export const HOST_AFTER = 64;

/** The slots an MMU reads before it has a cache: always empty, never written. */
export const EMPTY_SLOTS = new Int32Array(1 << 20);

/** Marks a listed slot during compaction. */
const MARK = 0x200;
/** The frame part of a slot. */
export const HOST_FRAME = ~0x3ff;

/** The flat per-page cache (see the module comment). */
export class HostCache {
  /** One slot per linear page. */
  readonly slots = new Int32Array(1 << 20);
  /** Pages that may hold a slot (a page may be listed twice, or listed and empty). */
  private listed = new Int32Array(256);
  private count = 0;

  /**
   * Cache the TLB entry `entry` (packed) for `vpn`. `wp` is CR0.WP;
   * `writable` says the frame may be written from here (it has storage).
   */
  install(vpn: number, entry: number, wp: boolean, writable: boolean): void {
    const slots = this.slots;
    const user = (entry & ENTRY.US) !== 0;
    let rights = HOST.R0 | (user ? HOST.R3 : 0);
    if (writable && (entry & ENTRY.D) !== 0) {
      const rw = (entry & ENTRY.RW) !== 0;
      if (rw || !wp) rights |= HOST.W0;
      if (rw && user) rights |= HOST.W3;
    }
    if (slots[vpn] === 0) this.list(vpn);
    slots[vpn] = ((entry >>> 12) << 10) | rights;
  }

  /** Forget `vpn`. */
  drop(vpn: number): void {
    this.slots[vpn] = 0;
  }

  /** Forget every page of the 4 MiB region `region`. */
  dropRegion(region: number): void {
    this.slots.fill(0, region << 10, (region + 1) << 10);
  }

  /** Forget everything. */
  clear(): void {
    const slots = this.slots;
    const listed = this.listed;
    for (let i = 0; i < this.count; i++) slots[listed[i]!] = 0;
    this.count = 0;
  }

  private list(vpn: number): void {
    if (this.count === this.listed.length) this.compact();
    this.listed[this.count++] = vpn;
  }

  /** Keep each page that still holds a slot once; grow if that is still most of the list. */
  private compact(): void {
    const slots = this.slots;
    const listed = this.listed;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const vpn = listed[i]!;
      const s = slots[vpn]!;
      if (s !== 0 && (s & MARK) === 0) {
        slots[vpn] = s | MARK;
        listed[kept++] = vpn;
      }
    }
    for (let i = 0; i < kept; i++) slots[listed[i]!] = slots[listed[i]!]! & ~MARK;
    this.count = kept;
    if (kept * 2 > listed.length) {
      const bigger = new Int32Array(listed.length * 2);
      bigger.set(listed);
      this.listed = bigger;
    }
  }
}
