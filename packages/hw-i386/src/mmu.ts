/**
 * The CPU's memory path: control registers, the TLB, the two-level page walk
 * of 32-bit paging, and linear reads and writes at CPL 0 or 3.
 *
 * An access first looks in the TLB. On a hit the cached permissions decide
 * (a stale entry is used as is: the TLB is not coherent with memory). On a miss
 * the walk reads the PDE at CR3 + 4*dir, then for a 4 KiB page the PTE at
 * PDE.addr + 4*table, combines U/S and R/W over both levels, sets the accessed
 * bits and, on a write, the dirty bit of the leaf, and caches the result.
 *
 * ```
 *  CR3 ──> page directory ──PDE──> page table ──PTE──> 4 KiB frame + offset
 *               └──PDE (PS=1, CR4.PSE=1)─────────────> 4 MiB frame + offset
 * ```
 *
 * Rules that are easy to get wrong, all from the SDM (vol. 3A §4.6–4.10):
 * - CPL 3 needs U/S=1 at both levels, and R/W=1 at both to write. CPL 0 may
 *   write a read-only page while CR0.WP=0.
 * - A fault sets CR2, drops the TLB entry for the address, and leaves the leaf
 *   entry's A/D bits alone; a PDE that pointed to a page table still gets A.
 * - A write through a cached entry whose dirty bit is clear walks again to set D.
 * - A CR3 load drops non-global entries; changing CR4.PGE or CR4.PSE, or
 *   CR0.PG, drops everything; invlpg drops one page (all of a 4 MiB page).
 * - A page-crossing access translates both pages first; if the second faults,
 *   CR2 is the first address of the second page.
 *
 * Speed lives in fast-path.ts: the built-in TLBs keep entries packed in one
 * typed-array slot per page (no object per walk), as an emulator's flat TLB
 * does, and an aligned word access whose slot carries a fast-path hint goes
 * straight to RAM. The methods below check that hint first and otherwise
 * follow the SDM.
 *
 * @module
 */
import {
  type AccessSize,
  CR0,
  CR0_DEFINED,
  CR4,
  type Cpl,
  type FlushReason,
  type MmuEvent,
  type MmuListener,
  type MmuStats,
  PAGE_SIZE,
  PDE,
  PF_ERROR,
  PTE,
  type Tlb,
} from "./api.js";
import { HW_ERROR, HwError, PageFault, hex32, showValue } from "./errors.js";
import {
  copyStretch,
  EMPTY_SLOTS,
  FLAT_AFTER,
  HINT,
  HINTS,
  hintsFor,
  missWord32,
} from "./fast-path.js";
import { ENTRY, type PackedTlb, packEntry, packedView } from "./packed.js";
import { PhysicalMemory, checkValue, toU32 } from "./ram.js";
import { UnboundedTlb } from "./tlb.js";
import { newWalkState, permits, walkTables } from "./walk.js";

// The fast-path hint bits as this module's own constants: V8 folds these into
// the hot path; an imported binding or a helper call measured slower there.
const R0 = HINT.R0;
const R3 = HINT.R3;
const W3 = HINT.W3;
const NO_HINTS = ~HINTS;
// The same for the bits the miss path tests.
const E_US = ENTRY.US;
const E_RW = ENTRY.RW;
const E_D = ENTRY.D;
const E_LARGE = ENTRY.LARGE;
const A = PTE.A;
const AD = PTE.A | PTE.D;
const G = PTE.G;

/** Options for {@link Mmu}. */
export interface MmuOptions {
  /** The translation cache. Default: a new {@link UnboundedTlb}. */
  readonly tlb?: Tlb;
}

function checkCpl(cpl: number): asserts cpl is Cpl {
  if (cpl !== 0 && cpl !== 3)
    throw new HwError(HW_ERROR.BAD_CPL, `CPL ${showValue(cpl)} is not 0 or 3`);
}

function checkSize(size: number): asserts size is AccessSize {
  if (size !== 1 && size !== 2 && size !== 4) {
    throw new HwError(HW_ERROR.BAD_SIZE, `access size ${showValue(size)} is not 1, 2 or 4`);
  }
}

/** True if `t` has every method of the {@link Tlb} swap point. */
function isTlb(t: unknown): t is Tlb {
  if (typeof t !== "object" || t === null) return false;
  const o = t as Record<string, unknown>;
  return ["lookup", "insert", "invalidatePage", "flushNonGlobal", "flushAll", "entries"].every(
    (m) => typeof o[m] === "function",
  );
}

/** The memory-management unit of one simulated i386 processor. */
export class Mmu {
  // Fields set only in the constructor are `declare`d: a class field without an
  // initialiser is first defined as undefined, and V8 then forgets its type, so
  // every read of, say, `mem` on the hit path would check the array's map again.
  /** The physical memory the walk and the accesses reach. */
  declare readonly ram: PhysicalMemory;
  /** The translation cache. */
  declare readonly tlb: Tlb;

  private cr0v = 0;
  private cr2v = 0;
  /** @internal CR3's value. */
  cr3v = 0;
  private cr4v = 0;
  // Decoded register bits, read on every access.
  private paging = false;
  private wp = false;
  private pse = false;
  private pge = false;
  // The same bits as masks for the fast path's walk (fast-path.ts): integers,
  // cheaper for V8 to test than booleans in the miss path.
  // The fields marked internal below are read by fast-path.ts's missWord32 too.
  /** @internal ENTRY.LARGE while CR4.PSE is set, else 0. */
  pseMask = 0;
  /** @internal G while CR4.PGE is set, else 0. */
  gMask = 0;
  /** @internal RW while CR0.WP is set, else 0. */
  wpMask = 0;

  private hits = 0;
  private misses = 0;
  private walkCount = 0;
  private faultCount = 0;
  private flushCount = 0;
  private accessCount = 0;

  /**
   * Hits served by the fast path. A small-integer field: a double one (tried,
   * starting at -0) made a read hit about 5% cheaper but a write hit 15% dearer,
   * as a loop of write hits waits on this counter's add from one hit to the
   * next, and a double's add takes longer.
   */
  private fastHits = 0;
  /** @internal Misses served by the fast path: each is one access, one miss and one walk. */
  flatMisses = 0;

  private listeners: MmuListener[] | null = null;

  /** @internal The TLB as the MMU uses it: packed entries. */
  declare readonly packed: PackedTlb;
  /** @internal The TLB when it is exactly an {@link UnboundedTlb} (the default), else null: one class at the miss path's call. */
  declare readonly unbounded: UnboundedTlb | null;
  /** The TLB again when it must hear of every hit (LRU), else null. */
  declare private readonly recorder: PackedTlb | null;
  /**
   * @internal The TLB's flat slots while the fast path is on and the TLB has them (a
   * built-in TLB, after its first fills), else EMPTY_SLOTS, so that every
   * access misses it.
   */
  fast: Int32Array = EMPTY_SLOTS;
  /** @internal 1 while `fast` is the TLB's own slots (not EMPTY_SLOTS): a miss may fill them. */
  fastOn = 0;
  /** The fast path is on: paging is on and nobody listens for events. */
  private hintsOn = false;
  /** Accesses that could have been hinted before the TLB had flat slots. */
  private untilFlat = 0;
  /** The hint bit that lets a CPL 0 write through: W0 while CR0.WP is set, else WN. */
  private w0: number = HINT.WN;
  /** @internal RAM's flat words, kept here for the hot path (refreshed when RAM grows). */
  declare mem: Uint32Array;
  /** @internal Frames in `mem`: only those may be hinted. */
  declare memFrames: number;
  /** @internal RAM's frames ever written (1) or not (0), by pfn: a write hint needs 1. */
  declare readonly written: Uint8Array;
  /** The walk's result, reused so that a walk allocates nothing. */
  private readonly scratch = newWalkState();

  constructor(ram: PhysicalMemory, options: MmuOptions = {}) {
    if (!(ram instanceof PhysicalMemory)) {
      throw new HwError(HW_ERROR.BAD_CONFIG, `${showValue(ram)} is not a PhysicalMemory`);
    }
    if (typeof options !== "object" || options === null) {
      throw new HwError(HW_ERROR.BAD_CONFIG, `MMU options ${showValue(options)} are not an object`);
    }
    const tlb = options.tlb;
    if (tlb !== undefined && !isTlb(tlb)) {
      throw new HwError(
        HW_ERROR.BAD_CONFIG,
        `TLB ${showValue(tlb)} lacks the Tlb methods (lookup, insert, invalidatePage, flushNonGlobal, flushAll, entries)`,
      );
    }
    this.ram = ram;
    this.tlb = tlb ?? new UnboundedTlb();
    this.packed = packedView(this.tlb);
    this.recorder = this.packed.recordsHits ? this.packed : null;
    this.unbounded =
      Object.getPrototypeOf(this.tlb) === UnboundedTlb.prototype
        ? (this.tlb as UnboundedTlb)
        : null;
    const storage = ram.flatStorage();
    this.mem = storage.words;
    this.memFrames = storage.frames;
    this.written = storage.written;
    ram.onGrow(() => {
      const grown = ram.flatStorage();
      this.mem = grown.words;
      this.memFrames = grown.frames;
    });
  }

  /** Turn the fast path on or off after paging or the listeners changed. */
  private updateFast(): void {
    this.hintsOn = this.paging && this.listeners === null;
    this.fast = (this.hintsOn ? this.packed.slots : null) ?? EMPTY_SLOTS;
    this.fastOn = this.fast === EMPTY_SLOTS ? 0 : 1;
  }

  // ---------------------------------------------------------------- registers

  /** CR0. */
  get cr0(): number {
    return this.cr0v;
  }
  /** CR2: the linear address of the last page fault. */
  get cr2(): number {
    return this.cr2v;
  }
  /** CR3: page-directory base (bits 31:12) and PWT/PCD. */
  get cr3(): number {
    return this.cr3v;
  }
  /** CR4. */
  get cr4(): number {
    return this.cr4v;
  }
  /** True while CR0.PG is set. */
  get pagingEnabled(): boolean {
    return this.paging;
  }

  /**
   * MOV to CR0. Setting PG without PE is refused (#GP). Changing PG flushes
   * the whole TLB.
   */
  loadCr0(value: number): void {
    value = toU32(value, "CR0 value");
    if ((value & ~CR0_DEFINED) !== 0) {
      throw new HwError(
        HW_ERROR.GENERAL_PROTECTION,
        `CR0 value ${hex32(value)} sets reserved bits`,
      );
    }
    if ((value & CR0.PG) !== 0 && (value & CR0.PE) === 0) {
      throw new HwError(
        HW_ERROR.GENERAL_PROTECTION,
        `CR0 value ${hex32(value)} sets PG without PE`,
      );
    }
    const pagingBefore = this.paging;
    this.cr0v = value >>> 0;
    this.paging = (value & CR0.PG) !== 0;
    this.wp = (value & CR0.WP) !== 0;
    this.wpMask = this.wp ? E_RW : 0;
    this.w0 = this.wp ? HINT.W0 : HINT.WN;
    this.updateFast();
    if (pagingBefore !== this.paging) this.flush("cr0", null, this.packed.flushAll());
  }

  /** MOV to CR2 (the kernel may clear it). */
  loadCr2(value: number): void {
    value = toU32(value, "CR2 value");
    this.cr2v = value;
  }

  /** MOV to CR3: new page directory; drops every TLB entry that is not global. */
  loadCr3(value: number): void {
    value = toU32(value, "CR3 value");
    this.cr3v = value;
    this.flush("cr3", null, this.packed.flushNonGlobal());
  }

  /**
   * MOV to CR4. Only PSE and PGE exist on this machine; other bits are refused
   * (#GP). Changing PSE or PGE flushes the whole TLB, global entries included.
   */
  loadCr4(value: number): void {
    value = toU32(value, "CR4 value");
    if ((value & ~(CR4.PSE | CR4.PGE)) !== 0) {
      throw new HwError(
        HW_ERROR.GENERAL_PROTECTION,
        `CR4 value ${hex32(value)} sets bits this machine does not have (only PSE 0x10 and PGE 0x80)`,
      );
    }
    const changed = (this.cr4v ^ value) & (CR4.PSE | CR4.PGE);
    this.cr4v = value;
    this.pse = (value & CR4.PSE) !== 0;
    this.pge = (value & CR4.PGE) !== 0;
    this.pseMask = this.pse ? E_LARGE : 0;
    this.gMask = this.pge ? G : 0;
    if (changed !== 0) this.flush("cr4", null, this.packed.flushAll());
  }

  /** INVLPG: drop the TLB entry for the page of `va`, global or not (all of a 4 MiB page). */
  invlpg(va: number): void {
    // A uint32 needs no more checking (typeof first: `>>>` would throw a TypeError on a BigInt).
    if (typeof va !== "number" || va >>> 0 !== va) va = toU32(va, "linear address");
    const vpn = va >>> 12;
    // The default TLB called by its class: one call target, which V8 inlines (see `unbounded`).
    const u = this.unbounded;
    this.flush("invlpg", va, u !== null ? u.invalidateSlot(vpn) : this.packed.invalidatePage(vpn));
  }

  // ----------------------------------------------------------------- accesses

  /** Read a byte at linear address `va`. Throws {@link PageFault}. */
  read8(va: number, cpl: Cpl = 0): number {
    return this.access(va, 1, cpl, false, 0);
  }

  /** Read a little-endian 16-bit value at `va` (may cross a page). Throws {@link PageFault}. */
  read16(va: number, cpl: Cpl = 0): number {
    return this.access(va, 2, cpl, false, 0);
  }

  /** Read a little-endian 32-bit value at `va` (may cross a page). Throws {@link PageFault}. */
  read32(va: number, cpl: Cpl = 0): number {
    // Fast path (fast-path.ts): aligned, and cached for a read at this CPL.
    // `v` is the address as an int32 (cheaper than a double for V8); the compare validates `va`.
    // For a small integer `v === va` is known true and costs nothing; for a kernel address
    // (a double in [2^31, 2^32)) `v >>> 0` gives it back exactly, one conversion and one
    // compare; a fraction, NaN or anything out of range matches neither.
    if (typeof va !== "number") return this.access(va, 4, cpl, false, 0); // refuses it
    const v = va | 0;
    if ((v & 3) === 0 && (v === va || v >>> 0 === va)) {
      const slot = this.fast[v >>> 12]!;
      if ((slot & (cpl === 0 ? R0 : cpl === 3 ? R3 : 0)) !== 0) {
        this.fastHits++;
        if (this.recorder !== null) this.recorder.hit(v >>> 12);
        return this.mem[((slot & ~0xfff) | (v & 0xfff)) >>> 2]!;
      }
      // Everything else, out of line and never inlined here (fast-path.ts says why),
      // so that read32 stays the hit alone; `v` (an int32, a small integer to V8
      // for kernel addresses too) is passed, not the double. The miss returns its
      // word as an int32 (never a heap number); the `>>> 0` makes it the uint32
      // again, and lets V8 keep the hit's word untagged in the caller: without it
      // the two branches meet as a tagged value, and every hit tags its word
      // (about 10% of a read hit in `pnpm bench`).
      return missWord32(this, v, cpl, 0, 0) >>> 0;
    }
    return this.word32(va, cpl, false, 0);
  }

  /** Write the low byte of `value` at `va`. Throws {@link PageFault}. */
  write8(va: number, value: number, cpl: Cpl = 0): void {
    this.access(va, 1, cpl, true, value);
  }

  /** Write `value` as 16 bits at `va`; both pages are translated before any byte is written. */
  write16(va: number, value: number, cpl: Cpl = 0): void {
    this.access(va, 2, cpl, true, value);
  }

  /** Write `value` as 32 bits at `va`; both pages are translated before any byte is written. */
  write32(va: number, value: number, cpl: Cpl = 0): void {
    if (typeof va !== "number" || typeof value !== "number") {
      this.access(va, 4, cpl, true, value); // refuses them
      return;
    }
    const v = va | 0;
    if (
      (v & 3) === 0 &&
      (v === va || v >>> 0 === va) &&
      (value >>> 0 === value || (value | 0) === value)
    ) {
      const slot = this.fast[v >>> 12]!;
      if ((slot & (cpl === 0 ? this.w0 : cpl === 3 ? W3 : 0)) !== 0) {
        this.fastHits++;
        if (this.recorder !== null) this.recorder.hit(v >>> 12);
        this.mem[((slot & ~0xfff) | (v & 0xfff)) >>> 2] = value;
        return;
      }
      missWord32(this, v, cpl, 1, value); // as in read32
      return;
    }
    this.word32(va, cpl, true, value);
  }

  /**
   * Copy `words` 32-bit words from `src` to `dst`, in ascending order, at
   * `cpl`: exactly what the loop `write32(dst + 4i, read32(src + 4i))` does
   * (as `rep movsd` does), with the same faults, CR2, accessed and dirty bits,
   * TLB contents and counters. A fault stops the copy after the words before
   * it. Faster than the loop: once both pages of a stretch are translated and
   * cached, the rest of the stretch moves without asking the TLB again.
   */
  copyWords(dst: number, src: number, words: number, cpl: Cpl = 0): void {
    // At most the whole 4 GiB address space; more would wrap onto itself.
    if (!Number.isSafeInteger(words) || words < 0 || words > 2 ** 30) {
      throw new HwError(
        HW_ERROR.BAD_VALUE,
        `word count ${showValue(words)} must be an integer in [0, 2^30]`,
      );
    }
    dst = toU32(dst, "linear address");
    src = toU32(src, "linear address");
    checkCpl(cpl);
    const readBit = cpl === 0 ? R0 : R3;
    const writeBit = cpl === 0 ? this.w0 : W3;
    let i = 0;
    while (i < words) {
      const s = (src + 4 * i) >>> 0;
      const d = (dst + 4 * i) >>> 0;
      // The first word of each stretch goes the ordinary way: walks, A/D bits, faults.
      this.write32(d, this.read32(s, cpl), cpl);
      i++;
      if ((s & 3) !== 0 || (d & 3) !== 0) continue;
      // Words left on both pages after this one, and still to copy.
      const n = Math.min(words - i, (0xffc - (s & 0xfff)) >>> 2, (0xffc - (d & 0xfff)) >>> 2);
      if (n <= 0) continue;
      // The rest of the stretch straight in RAM, if the fast path may (each of
      // its accesses would be a hit; fast-path.ts); else word by word.
      if (copyStretch(this.fast, this.mem, s, d, n, readBit, writeBit) === 0) continue;
      // LRU order after the stretch is what its last read and write leave.
      if (this.recorder !== null) {
        this.recorder.hit(s >>> 12);
        this.recorder.hit(d >>> 12);
      }
      this.fastHits += 2 * n;
      i += n;
    }
  }

  /** Read `size` bytes at `va`, little-endian. */
  read(va: number, size: AccessSize, cpl: Cpl = 0): number {
    return this.access(va, size, cpl, false, 0);
  }

  /** Write `value` as `size` bytes at `va`. */
  write(va: number, size: AccessSize, value: number, cpl: Cpl = 0): void {
    this.access(va, size, cpl, true, value);
  }

  // ------------------------------------------------------------- observation

  /** Counters since creation or the last {@link resetStats}. */
  get stats(): MmuStats {
    return {
      tlbHits: this.hits + this.fastHits,
      tlbMisses: this.misses + this.flatMisses,
      walks: this.walkCount + this.flatMisses,
      faults: this.faultCount,
      flushes: this.flushCount,
      accesses: this.accessCount + this.fastHits + this.flatMisses,
    };
  }

  /** Zero the counters. */
  resetStats(): void {
    this.hits = this.misses = this.walkCount = this.faultCount = this.flushCount = 0;
    this.accessCount = this.fastHits = this.flatMisses = 0;
  }

  /**
   * Receive every {@link MmuEvent} from now on. Returns the function that
   * unsubscribes. While nobody is subscribed no event is even built.
   */
  subscribe(listener: MmuListener): () => void {
    if (typeof listener !== "function") {
      throw new HwError(HW_ERROR.BAD_VALUE, `listener ${showValue(listener)} is not a function`);
    }
    this.listeners = [...(this.listeners ?? []), listener];
    this.updateFast();
    return () => {
      const rest = (this.listeners ?? []).filter((l) => l !== listener);
      this.listeners = rest.length === 0 ? null : rest;
      this.updateFast();
    };
  }

  // ----------------------------------------------------------------- internals

  private emit(event: MmuEvent): void {
    for (const l of this.listeners!) l(event);
  }

  private flush(reason: FlushReason, va: number | null, dropped: number): void {
    this.flushCount++;
    if (this.listeners !== null) this.emit({ type: "flush", reason, va, dropped });
  }

  /** @internal An aligned 32-bit access that the fast path did not serve: the common slow case, kept lean. */
  word32(va: number, cpl: Cpl, write: boolean, value: number): number {
    if (!this.paging || (va & 3) !== 0 || va >>> 0 !== va || (cpl !== 0 && cpl !== 3)) {
      return this.access(va, 4, cpl, write, value);
    }
    if (write && value >>> 0 !== value && (value | 0) !== value)
      return this.access(va, 4, cpl, write, value);
    this.accessCount++;
    const e = this.translate(va, write, cpl);
    const pa = (((e >>> 12) << 12) | (va & 0xfff)) >>> 0;
    if (write) this.ram.setWord(pa, value >>> 0);
    if (this.hintsOn) this.hint(va >>> 12, e);
    return write ? 0 : this.ram.word(pa);
  }

  /** The general path: validates, translates (both pages when crossing), then moves bytes. */
  private access(va: number, size: AccessSize, cpl: Cpl, write: boolean, value: number): number {
    va = toU32(va, "linear address");
    checkSize(size);
    checkCpl(cpl);
    if (write) checkValue(value, size);
    this.accessCount++;
    const ram = this.ram;
    if (!this.paging) {
      if (write) {
        if (size === 1) ram.write8(va, value & 0xff);
        else if (size === 2) ram.write16(va, value & 0xffff);
        else ram.write32(va, value >>> 0);
        return 0;
      }
      return size === 1 ? ram.read8(va) : size === 2 ? ram.read16(va) : ram.read32(va);
    }
    const offset = va & 0xfff;
    const first = this.translate(va, write, cpl);
    if (offset + size <= PAGE_SIZE) {
      const pa = (((first >>> 12) << 12) | offset) >>> 0;
      if (write) {
        if (size === 1) ram.write8(pa, value & 0xff);
        else if (size === 2) ram.write16(pa, value & 0xffff);
        else ram.write32(pa, value >>> 0);
      }
      if (this.hintsOn) this.hint(va >>> 12, first);
      if (write) return 0;
      return size === 1 ? ram.read8(pa) : size === 2 ? ram.read16(pa) : ram.read32(pa);
    }
    // Crosses into the next page (wrapping at 4 GiB): translate both before touching a byte.
    const nextPage = ((va & ~0xfff) + PAGE_SIZE) >>> 0;
    const second = this.translate(nextPage, write, cpl);
    const inFirst = PAGE_SIZE - offset;
    let result = 0;
    for (let i = 0; i < size; i++) {
      const pa =
        i < inFirst
          ? (((first >>> 12) << 12) | (offset + i)) >>> 0
          : (((second >>> 12) << 12) | (i - inFirst)) >>> 0;
      if (write) ram.write8(pa, (value >>> (8 * i)) & 0xff);
      else result |= ram.read8(pa) << (8 * i);
    }
    return result >>> 0;
  }

  /**
   * The TLB holds `e` (packed) for `vpn` and an access just went through it:
   * add the fast-path hints (fast-path.ts), if its frame is in flat RAM.
   */
  private hint(vpn: number, e: number): void {
    const pfn = e >>> 12;
    if (pfn >= this.memFrames) return; // not in the flat array (yet): the general path
    let fast = this.fast;
    if (fast === EMPTY_SLOTS) {
      // The TLB's flat slots, made once this machine has shown it lives long (fast-path.ts).
      if (++this.untilFlat < FLAT_AFTER) return;
      const slots = this.packed.makeFlat();
      if (slots === null) return; // a TLB of its own kind: every access asks it
      this.fast = fast = slots;
      this.fastOn = 1;
    }
    fast[vpn] = (e & NO_HINTS) | hintsFor(e, this.ram.flatWritten(pfn) ? 1 : 0);
  }

  /** The TLB entry (packed) that lets this access happen, walking if needed; raises #PF. */
  private translate(va: number, write: boolean, cpl: Cpl): number {
    const e = this.packed.probe(va >>> 12);
    if (e === 0) {
      this.misses++;
      if (this.listeners !== null) this.emit({ type: "tlb-miss", va, write, cpl });
      return this.walk(va, write, cpl);
    }
    this.hits++;
    if (this.listeners !== null) this.emit({ type: "tlb-hit", va, write, cpl });
    if (!permits((e & E_US) !== 0, (e & E_RW) !== 0, write, cpl, this.wp)) {
      this.fault(va, PF_ERROR.P, write, cpl);
    }
    // The processor sets D itself: a write through a clean entry walks again.
    if (write && (e & E_D) === 0) return this.walk(va, write, cpl);
    return e;
  }

  /**
   * The walk of walk.ts, plus what the processor does around it: accessed and
   * dirty bits, the fault, the TLB fill, the events.
   */
  private walk(va: number, write: boolean, cpl: Cpl): number {
    this.walkCount++;
    const w = this.scratch;
    walkTables(this.ram, this.cr3v, this.pse, va, w);
    if (w.missing >= 0 || !permits(w.user, w.writable, write, cpl, this.wp)) {
      this.walkFault(va, write, cpl);
    }
    // A on every entry used, and D on the leaf for a write (PDE.A/D sit where PTE.A/D do);
    // RAM is written only when a bit is still clear.
    const leafBits = write ? AD : A;
    let pde = w.pde;
    let leaf: number;
    if (w.large) {
      if ((pde & leafBits) !== leafBits) pde = this.setBits(w.pdeAddr, pde, leafBits, "pde");
      leaf = pde;
    } else {
      if ((pde & A) === 0) pde = this.setBits(w.pdeAddr, pde, A, "pde");
      leaf = w.pte;
      if ((leaf & leafBits) !== leafBits) leaf = this.setBits(w.pteAddr, leaf, leafBits, "pte");
    }
    if (this.listeners !== null) {
      const pa = ((w.pfn << 12) | (va & 0xfff)) >>> 0;
      this.walkEvent(va, w.pdeAddr, pde, w.pteAddr, w.large ? -1 : leaf, pa);
    }
    const e = packEntry(
      w.pfn,
      w.writable,
      w.user,
      (leaf & E_D) !== 0,
      this.pge && (leaf & G) !== 0,
      w.large,
    );
    this.packed.fill(va >>> 12, e);
    return e;
  }

  /**
   * The walk in `scratch` found no translation, or one this access may not
   * use: the A bit of a PDE that led to a page table, the event, the fault.
   * Out of line, so that the walk that succeeds stays small enough to inline.
   */
  private walkFault(va: number, write: boolean, cpl: Cpl): never {
    const w = this.scratch;
    const { pdeAddr, pteAddr } = w;
    let pde = w.pde;
    // A PDE used to reach a page table is accessed even if the PTE then faults.
    if (pteAddr >= 0) pde = this.setBits(pdeAddr, pde, PDE.A, "pde");
    if (this.listeners !== null) this.walkEvent(va, pdeAddr, pde, pteAddr, w.pte, null);
    this.fault(va, w.missing >= 0 ? w.missing : PF_ERROR.P, write, cpl);
  }

  private setBits(addr: number, old: number, bits: number, level: "pde" | "pte"): number {
    if ((old & bits) === bits) return old;
    const after = (old | bits) >>> 0;
    this.ram.setWord(addr, after);
    if (this.listeners !== null)
      this.emit({ type: "ad-update", entryAddr: addr, level, before: old, after });
    return after;
  }

  private walkEvent(
    va: number,
    pdeAddr: number,
    pde: number,
    pteAddr: number,
    pte: number,
    pa: number | null,
  ): void {
    this.emit({
      type: "walk",
      va,
      pdeAddr,
      pde,
      pteAddr: pteAddr < 0 ? null : pteAddr,
      pte: pteAddr < 0 ? null : pte,
      pa,
    });
  }

  private fault(va: number, bits: number, write: boolean, cpl: Cpl): never {
    const errorCode = bits | (write ? PF_ERROR.W : 0) | (cpl === 3 ? PF_ERROR.U : 0);
    this.faultCount++;
    this.cr2v = va;
    this.flush("fault", va, this.packed.invalidatePage(va >>> 12));
    if (this.listeners !== null) this.emit({ type: "fault", va, errorCode, cr2: va });
    throw new PageFault(va, errorCode);
  }
}
