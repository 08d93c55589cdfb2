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
 * Speed: in front of the TLB sits a small direct-mapped cache of the host
 * storage of recently used translations (`fastTag`/`fastBase`, like QEMU's
 * softmmu TLB): one tag plane per kind of access (CPL 0 read, CPL 3 read,
 * CPL 0 write, CPL 3 write) holds the page number where that access may go
 * straight to memory, so a hit costs one compare. It only ever holds a subset of what the TLB holds:
 * everything that leaves the TLB (invalidation, flush, eviction reported by
 * `insert`) leaves it too, so it changes how fast the simulation runs, never
 * what it does. It is bypassed while anyone listens to events and for TLBs
 * whose lookups have side effects (LRU).
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
  PDE,
  PDE_LARGE_RESERVED,
  PF_ERROR,
  PTE,
  type Tlb,
  type TlbEntry,
} from "./api.js";
import { HW_ERROR, HwError, PageFault, hex32 } from "./errors.js";
import { type PhysicalMemory, toU32 } from "./ram.js";
import { UnboundedTlb } from "./tlb.js";

/** Options for {@link Mmu}. */
export interface MmuOptions {
  /** The translation cache. Default: a new {@link UnboundedTlb}. */
  readonly tlb?: Tlb;
}

function checkCpl(cpl: number): asserts cpl is Cpl {
  if (cpl !== 0 && cpl !== 3) throw new HwError(HW_ERROR.BAD_CPL, `CPL ${cpl} is not 0 or 3`);
}

function checkSize(size: number): asserts size is AccessSize {
  if (size !== 1 && size !== 2 && size !== 4) {
    throw new HwError(HW_ERROR.BAD_SIZE, `access size ${size} is not 1, 2 or 4`);
  }
}

function checkValue(value: number, size: AccessSize): void {
  const limit = 2 ** (8 * size);
  if (!Number.isInteger(value) || value < -(limit / 2) || value >= limit) {
    throw new HwError(HW_ERROR.BAD_VALUE, `value ${value} does not fit in ${size} byte(s)`);
  }
}

/** Make a TLB entry; always the same field order, so V8 keeps one hidden class. */
function makeEntry(
  vpn: number,
  pfn: number,
  writable: boolean,
  user: boolean,
  dirty: boolean,
  global: boolean,
  large: boolean,
): TlbEntry {
  return { vpn, pfn, writable, user, dirty, global, large };
}

/** Entries in the host-side fast cache; a power of two. */
const FAST_SIZE = 1024;
const FAST_MASK = FAST_SIZE - 1;
/** Offsets of the tag planes in `fastTag`, one per kind of access. */
const PLANE_READ0 = 0;
const PLANE_READ3 = FAST_SIZE;
const PLANE_WRITE0 = 2 * FAST_SIZE;
const PLANE_WRITE3 = 3 * FAST_SIZE;

/** The memory-management unit of one simulated i386 processor. */
export class Mmu {
  /** The physical memory the walk and the accesses reach. */
  readonly ram: PhysicalMemory;
  /** The translation cache. */
  readonly tlb: Tlb;

  private cr0v = 0;
  private cr2v = 0;
  private cr3v = 0;
  private cr4v = 0;
  // Decoded register bits, read on every access.
  private paging = false;
  private wp = false;
  private pse = false;
  private pge = false;

  private hits = 0;
  private misses = 0;
  private walkCount = 0;
  private faultCount = 0;
  private flushCount = 0;
  private accessCount = 0;

  /** Hits served by the fast cache. */
  private fastHits = 0;

  private listeners: MmuListener[] | null = null;

  // The host-side cache of recent translations (see the module comment).
  private readonly fastTag = new Int32Array(4 * FAST_SIZE).fill(-1);
  private readonly fastBase = new Int32Array(FAST_SIZE);
  /** The RAM's pool, refreshed when it grows. */
  private pool: Uint32Array;
  /** Paging is on, nobody listens, and the TLB does not observe hits; else the tags stay empty. */
  private fastOn = false;
  /** Some fast-cache entry came from a 4 MiB page (invlpg must then clear its region). */
  private fastLarge = false;

  constructor(ram: PhysicalMemory, options: MmuOptions = {}) {
    this.ram = ram;
    this.tlb = options.tlb ?? new UnboundedTlb();
    this.pool = ram.pool;
    ram.onPoolGrow(() => {
      this.pool = ram.pool;
    });
  }

  private updateFastOn(): void {
    this.fastOn = this.paging && this.listeners === null && this.tlb.observesHits !== true;
    if (!this.fastOn) this.fastClear();
  }

  /** Drop fast-cache slot `i` from every plane. */
  private fastDrop(i: number): void {
    const tags = this.fastTag;
    tags[i + PLANE_READ0] =
      tags[i + PLANE_READ3] =
      tags[i + PLANE_WRITE0] =
      tags[i + PLANE_WRITE3] =
        -1;
  }

  private fastClear(): void {
    this.fastTag.fill(-1);
    this.fastLarge = false;
  }

  /** Drop from the fast cache every page of the 4 MiB region `region`. */
  private fastClearRegion(region: number): void {
    const tags = this.fastTag;
    for (let i = 0; i < FAST_SIZE; i++) if (tags[i]! >>> 10 === region) this.fastDrop(i);
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
    // The fast cache's write permissions depend on WP: rebuild it from the TLB.
    this.fastClear();
    this.updateFastOn();
    if (pagingBefore !== this.paging) this.flush("cr0", null, this.tlb.flushAll());
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
    this.fastClear();
    this.flush("cr3", null, this.tlb.flushNonGlobal());
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
    if (changed !== 0) {
      this.fastClear();
      this.flush("cr4", null, this.tlb.flushAll());
    }
  }

  /** INVLPG: drop the TLB entry for the page of `va`, global or not (all of a 4 MiB page). */
  invlpg(va: number): void {
    va = toU32(va, "linear address");
    this.flush("invlpg", va, this.invalidate(va >>> 12));
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
    // Fast path: aligned and cached for this kind of access. Everything else takes the general path.
    // `v` is the address as an int32 (cheaper than a double for V8); the compare validates `va`.
    const v = va | 0;
    if ((v & 3) === 0 && (v === va || v + 0x1_0000_0000 === va)) {
      const vpn = v >>> 12;
      const i = vpn & FAST_MASK;
      if (
        cpl === 0 ? this.fastTag[i] === vpn : cpl === 3 && this.fastTag[i + PLANE_READ3] === vpn
      ) {
        this.fastHits++;
        return this.pool[this.fastBase[i]! | ((v & 0xfff) >>> 2)]!;
      }
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
    const v = va | 0;
    if (
      (v & 3) === 0 &&
      (v === va || v + 0x1_0000_0000 === va) &&
      (value >>> 0 === value || (value | 0) === value)
    ) {
      const vpn = v >>> 12;
      const i = vpn & FAST_MASK;
      if (
        cpl === 0
          ? this.fastTag[i + PLANE_WRITE0] === vpn
          : cpl === 3 && this.fastTag[i + PLANE_WRITE3] === vpn
      ) {
        this.fastHits++;
        this.pool[this.fastBase[i]! | ((v & 0xfff) >>> 2)] = value;
        return;
      }
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
    if (!Number.isSafeInteger(words) || words < 0) {
      throw new HwError(
        HW_ERROR.BAD_VALUE,
        `word count ${String(words)} must be a non-negative integer`,
      );
    }
    dst = toU32(dst, "linear address");
    src = toU32(src, "linear address");
    checkCpl(cpl);
    const readPlane = cpl === 0 ? PLANE_READ0 : PLANE_READ3;
    const writePlane = cpl === 0 ? PLANE_WRITE0 : PLANE_WRITE3;
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
      const si = (s >>> 12) & FAST_MASK;
      const di = (d >>> 12) & FAST_MASK;
      // Both translations cached: the TLB holds them and nothing is inserted until the
      // stretch ends, so every one of these accesses would be a hit. (Else: word by word.)
      if (this.fastTag[si + readPlane] !== s >>> 12 || this.fastTag[di + writePlane] !== d >>> 12)
        continue;
      const pool = this.pool;
      const from = this.fastBase[si]! | (((s & 0xfff) >>> 2) + 1);
      const to = this.fastBase[di]! | (((d & 0xfff) >>> 2) + 1);
      for (let j = 0; j < n; j++) pool[to + j] = pool[from + j]!;
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
      tlbMisses: this.misses,
      walks: this.walkCount,
      faults: this.faultCount,
      flushes: this.flushCount,
      accesses: this.accessCount + this.fastHits,
    };
  }

  /** Zero the counters. */
  resetStats(): void {
    this.hits = this.misses = this.walkCount = this.faultCount = this.flushCount = 0;
    this.accessCount = this.fastHits = 0;
  }

  /**
   * Receive every {@link MmuEvent} from now on. Returns the function that
   * unsubscribes. While nobody is subscribed no event is even built.
   */
  subscribe(listener: MmuListener): () => void {
    this.listeners = [...(this.listeners ?? []), listener];
    this.updateFastOn();
    return () => {
      const rest = (this.listeners ?? []).filter((l) => l !== listener);
      this.listeners = rest.length === 0 ? null : rest;
      this.updateFastOn();
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

  /** An aligned 32-bit access that missed the fast cache: the common slow case, kept lean. */
  private word32(va: number, cpl: Cpl, write: boolean, value: number): number {
    if (!this.paging || (va & 3) !== 0 || va >>> 0 !== va || (cpl !== 0 && cpl !== 3)) {
      return this.access(va, 4, cpl, write, value);
    }
    if (write && value >>> 0 !== value && (value | 0) !== value)
      return this.access(va, 4, cpl, write, value);
    this.accessCount++;
    const e = this.translate(va, write, cpl);
    const pa = ((e.pfn << 12) | (va & 0xfff)) >>> 0;
    if (write) this.ram.setWord(pa, value);
    if (this.fastOn) this.fastInstall(e);
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
    if (offset + size <= 0x1000) {
      const pa = ((first.pfn << 12) | offset) >>> 0;
      if (write) {
        if (size === 4 && (offset & 3) === 0) ram.setWord(pa, value);
        else if (size === 1) ram.write8(pa, value & 0xff);
        else if (size === 2) ram.write16(pa, value & 0xffff);
        else ram.write32(pa, value >>> 0);
      }
      if (this.fastOn) this.fastInstall(first);
      if (write) return 0;
      return size === 4 && (offset & 3) === 0
        ? ram.word(pa)
        : size === 1
          ? ram.read8(pa)
          : size === 2
            ? ram.read16(pa)
            : ram.read32(pa);
    }
    // Crosses into the next page (wrapping at 4 GiB): translate both before touching a byte.
    const nextPage = ((va & ~0xfff) + 0x1000) >>> 0;
    const second = this.translate(nextPage, write, cpl);
    const inFirst = 0x1000 - offset;
    let result = 0;
    for (let i = 0; i < size; i++) {
      const pa =
        i < inFirst
          ? ((first.pfn << 12) | (offset + i)) >>> 0
          : ((second.pfn << 12) | (i - inFirst)) >>> 0;
      if (write) ram.write8(pa, (value >>> (8 * i)) & 0xff);
      else result |= ram.read8(pa) << (8 * i);
    }
    return result >>> 0;
  }

  /** Remember `e` in the fast cache, if its frame has storage. */
  private fastInstall(e: TlbEntry): void {
    const slot = this.ram.slotOf(e.pfn);
    if (slot < 0) return; // never written: reads stay on the general path, which reads 0
    const i = e.vpn & FAST_MASK;
    const tags = this.fastTag;
    if (e.large) this.fastLarge = true;
    this.fastBase[i] = slot << 10;
    // A write may skip the TLB only once D is set: a clean entry must walk to set it.
    tags[i + PLANE_READ0] = e.vpn;
    tags[i + PLANE_READ3] = e.user ? e.vpn : -1;
    tags[i + PLANE_WRITE0] = e.dirty && (e.writable || !this.wp) ? e.vpn : -1;
    tags[i + PLANE_WRITE3] = e.dirty && e.user && e.writable ? e.vpn : -1;
  }

  /** Drop `vpn` (and any 4 MiB page around it) from the TLB and the fast cache. */
  private invalidate(vpn: number): number {
    const dropped = this.tlb.invalidatePage(vpn);
    if (this.fastLarge) this.fastClearRegion(vpn >>> 10);
    else if (this.fastTag[vpn & FAST_MASK] === vpn) this.fastDrop(vpn & FAST_MASK);
    return dropped;
  }

  /** Insert into the TLB; whatever it evicts leaves the fast cache too. */
  private tlbInsert(e: TlbEntry): void {
    const evicted = this.tlb.insert(e);
    if (evicted !== undefined && this.fastTag[evicted.vpn & FAST_MASK] === evicted.vpn) {
      this.fastDrop(evicted.vpn & FAST_MASK);
    }
    // A re-walk replaces the entry for this page: its fast copy is out of date.
    if (this.fastTag[e.vpn & FAST_MASK] === e.vpn) this.fastDrop(e.vpn & FAST_MASK);
  }

  /** The TLB entry that lets this access happen, walking if needed; raises #PF. */
  private translate(va: number, write: boolean, cpl: Cpl): TlbEntry {
    const e = this.tlb.lookup(va >>> 12);
    if (e === undefined) {
      this.misses++;
      if (this.listeners !== null) this.emit({ type: "tlb-miss", va, write, cpl });
      return this.walk(va, write, cpl);
    }
    this.hits++;
    if (this.listeners !== null) this.emit({ type: "tlb-hit", va, write, cpl });
    if (!this.allowed(e.user, e.writable, write, cpl)) {
      this.fault(va, PF_ERROR.P, write, cpl);
    }
    // The processor sets D itself: a write through a clean entry walks again.
    if (write && !e.dirty) return this.walk(va, write, cpl);
    return e;
  }

  private allowed(user: boolean, writable: boolean, write: boolean, cpl: Cpl): boolean {
    if (cpl === 3) return user && (writable || !write);
    return writable || !write || !this.wp;
  }

  private walk(va: number, write: boolean, cpl: Cpl): TlbEntry {
    this.walkCount++;
    const ram = this.ram;
    const vpn = va >>> 12;
    const pdeAddr = ((this.cr3v & 0xffff_f000) | ((va >>> 22) << 2)) >>> 0;
    const pde = ram.word(pdeAddr);
    if ((pde & PDE.P) === 0) {
      if (this.listeners !== null) this.walkEvent(va, pdeAddr, pde, null, null, null);
      this.fault(va, 0, write, cpl);
    }
    if (this.pse && (pde & PDE.PS) !== 0) {
      if ((pde & PDE_LARGE_RESERVED) !== 0) {
        if (this.listeners !== null) this.walkEvent(va, pdeAddr, pde, null, null, null);
        this.fault(va, PF_ERROR.P | PF_ERROR.RSVD, write, cpl);
      }
      const user = (pde & PDE.US) !== 0;
      const writable = (pde & PDE.RW) !== 0;
      if (!this.allowed(user, writable, write, cpl)) {
        if (this.listeners !== null) this.walkEvent(va, pdeAddr, pde, null, null, null);
        this.fault(va, PF_ERROR.P, write, cpl);
      }
      const after = this.setBits(pdeAddr, pde, write ? PDE.A | PDE.D : PDE.A, "pde");
      const pfn = ((pde >>> 12) & 0xffc00) | (vpn & 0x3ff);
      if (this.listeners !== null)
        this.walkEvent(va, pdeAddr, after, null, null, ((pfn << 12) | (va & 0xfff)) >>> 0);
      const entry = makeEntry(
        vpn,
        pfn,
        writable,
        user,
        (after & PDE.D) !== 0,
        this.pge && (pde & PDE.G) !== 0,
        true,
      );
      this.tlbInsert(entry);
      return entry;
    }
    // The PDE is used to reach the page table, so it is accessed even if the PTE faults.
    const pdeAfter = this.setBits(pdeAddr, pde, PDE.A, "pde");
    const pteAddr = ((pde & 0xffff_f000) | ((vpn & 0x3ff) << 2)) >>> 0;
    const pte = ram.word(pteAddr);
    if ((pte & PTE.P) === 0) {
      if (this.listeners !== null) this.walkEvent(va, pdeAddr, pdeAfter, pteAddr, pte, null);
      this.fault(va, 0, write, cpl);
    }
    const user = (pde & pte & PTE.US) !== 0;
    const writable = (pde & pte & PTE.RW) !== 0;
    if (!this.allowed(user, writable, write, cpl)) {
      if (this.listeners !== null) this.walkEvent(va, pdeAddr, pdeAfter, pteAddr, pte, null);
      this.fault(va, PF_ERROR.P, write, cpl);
    }
    const pteAfter = this.setBits(pteAddr, pte, write ? PTE.A | PTE.D : PTE.A, "pte");
    const pfn = pte >>> 12;
    if (this.listeners !== null)
      this.walkEvent(va, pdeAddr, pdeAfter, pteAddr, pteAfter, ((pfn << 12) | (va & 0xfff)) >>> 0);
    const entry = makeEntry(
      vpn,
      pfn,
      writable,
      user,
      (pteAfter & PTE.D) !== 0,
      this.pge && (pte & PTE.G) !== 0,
      false,
    );
    this.tlbInsert(entry);
    return entry;
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
    pteAddr: number | null,
    pte: number | null,
    pa: number | null,
  ): void {
    if (this.listeners !== null) this.emit({ type: "walk", va, pdeAddr, pde, pteAddr, pte, pa });
  }

  private fault(va: number, bits: number, write: boolean, cpl: Cpl): never {
    const errorCode = bits | (write ? PF_ERROR.W : 0) | (cpl === 3 ? PF_ERROR.U : 0);
    this.faultCount++;
    this.cr2v = va;
    this.flush("fault", va, this.invalidate(va >>> 12));
    if (this.listeners !== null) this.emit({ type: "fault", va, errorCode, cr2: va });
    throw new PageFault(va, errorCode);
  }
}
