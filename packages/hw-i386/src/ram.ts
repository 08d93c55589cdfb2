/**
 * Physical memory: the whole 4 GiB physical address space, stored sparsely.
 *
 * A frame gets storage the first time it is written: a 1024-word slot in one
 * growing pool. A two-level table, shaped like a page directory, maps frame
 * numbers to slots:
 *
 * ```
 *  physical address   31       22 21       12 11        0
 *                    +-----------+-----------+-----------+
 *                    |  chunk    |  frame    |  offset   |
 *                    +-----------+-----------+-----------+
 *  slots[chunk] : Int32Array(1024) --> slot --> pool[slot * 1024 + offset / 4]
 * ```
 *
 * A frame that was never written has no slot and reads as zero. Words are
 * kept as 32-bit numbers and bytes are picked out with shifts, so byte order is
 * little-endian whatever the host is.
 *
 * This is the machine's RAM, not a CPU path: reading it never goes through the
 * MMU. Boot code uses it before paging is on; tests and tools use it to inspect.
 *
 * @module
 */
import { E820, type MemoryRegion, PAGE_SIZE } from "./api.js";
import { HW_ERROR, HwError, hex32 } from "./errors.js";

const FRAME_WORDS = PAGE_SIZE / 4;

function emptyTable<T>(): (T | undefined)[] {
  return new Array<T | undefined>(1024).fill(undefined);
}

/**
 * `v` as an unsigned 32-bit number. Accepts integers in [-2^31, 2^32): JavaScript's
 * bit operators give signed results (`0x80000000 | 1` is negative), and both
 * spellings are the same 32 bits, as in C. Anything else is an {@link HwError}.
 */
export function toU32(v: number, what = "physical address"): number {
  if (v >>> 0 === v) return v;
  if ((v | 0) === v) return v >>> 0;
  throw new HwError(HW_ERROR.BAD_ADDRESS, `${what} ${hex32(v)} is not a 32-bit value`);
}

function checkValue(value: number, size: 1 | 2 | 4): void {
  const limit = 2 ** (8 * size);
  if (!Number.isInteger(value) || value < -(limit / 2) || value >= limit) {
    throw new HwError(
      HW_ERROR.BAD_VALUE,
      `value ${value} does not fit in ${size} byte${size > 1 ? "s" : ""}`,
    );
  }
}

/** Options for {@link PhysicalMemory}. */
export interface PhysicalMemoryOptions {
  /**
   * Bytes of installed RAM, reported as usable by the memory map. Default
   * 64 MiB. Every physical address is backed regardless, as sparse storage.
   */
  readonly installedBytes?: number;
  /** A memory map to report instead of the default PC layout. */
  readonly memoryMap?: readonly MemoryRegion[];
}

/**
 * The default PC memory map for `installedBytes` of RAM: low memory, the EBDA,
 * the 0xA0000–0xFFFFF hole (VGA and BIOS ROM), extended memory from 1 MiB, and
 * the BIOS flash just under 4 GiB.
 */
export function defaultMemoryMap(installedBytes: number): MemoryRegion[] {
  if (
    !Number.isInteger(installedBytes) ||
    installedBytes < 0x20_0000 ||
    installedBytes > 0xf000_0000
  ) {
    throw new HwError(
      HW_ERROR.BAD_CONFIG,
      `installed RAM ${installedBytes} must be an integer between 2 MiB and 3.75 GiB`,
    );
  }
  return [
    { base: 0x0000_0000, length: 0x0009_fc00, type: E820.USABLE },
    { base: 0x0009_fc00, length: 0x0000_0400, type: E820.RESERVED },
    { base: 0x000a_0000, length: 0x0006_0000, type: E820.RESERVED },
    { base: 0x0010_0000, length: installedBytes - 0x0010_0000, type: E820.USABLE },
    { base: 0xfffc_0000, length: 0x0004_0000, type: E820.RESERVED },
  ];
}

/** Sparse, byte-addressed, little-endian physical memory covering all of 4 GiB. */
export class PhysicalMemory {
  /**
   * Storage of every frame ever written, one 1024-word slot per frame, in the
   * order they were first written. Grows by doubling; slots never move
   * relative to the start, so a slot number stays valid.
   * @internal
   */
  pool = new Uint32Array(16 * FRAME_WORDS);
  private readonly growHooks: (() => void)[] = [];
  /** Frame number -> slot number, two levels deep; -1 for a frame never written. */
  private readonly slots = emptyTable<Int32Array>();
  private touched = 0;
  /** The firmware memory map (e820) that boot code reads. */
  readonly memoryMap: readonly MemoryRegion[];
  /** Bytes of installed RAM. */
  readonly installedBytes: number;

  constructor(options: PhysicalMemoryOptions = {}) {
    this.installedBytes = options.installedBytes ?? 64 * 1024 * 1024;
    this.memoryMap = Object.freeze(
      (options.memoryMap ?? defaultMemoryMap(this.installedBytes)).map((r) =>
        Object.freeze({ ...r }),
      ),
    );
  }

  /** Number of frames that have storage (were written at least once). */
  get touchedFrames(): number {
    return this.touched;
  }

  /**
   * Call `hook` whenever {@link PhysicalMemory.pool} is replaced by a bigger array.
   * @internal For MMUs that keep a reference to the pool.
   */
  onPoolGrow(hook: () => void): void {
    this.growHooks.push(hook);
  }

  /**
   * The pool slot of frame `pfn`, or -1 if it was never written.
   * @internal The MMU caches slots; a frame keeps its slot forever.
   */
  slotOf(pfn: number): number {
    const t = this.slots[pfn >>> 10];
    return t === undefined ? -1 : t[pfn & 1023]!;
  }

  /**
   * The pool slot of frame `pfn`, giving it (zeroed) storage if needed.
   * @internal
   */
  slotForWrite(pfn: number): number {
    let t = this.slots[pfn >>> 10];
    if (t === undefined) {
      t = new Int32Array(1024).fill(-1);
      this.slots[pfn >>> 10] = t;
    }
    let slot = t[pfn & 1023]!;
    if (slot < 0) {
      slot = this.touched++;
      if ((slot + 1) * FRAME_WORDS > this.pool.length) {
        const bigger = new Uint32Array(this.pool.length * 2);
        bigger.set(this.pool);
        this.pool = bigger;
        for (const hook of this.growHooks) hook();
      }
      t[pfn & 1023] = slot;
    }
    return slot;
  }

  /**
   * The aligned word at `pa`, without checks.
   * @internal For the MMU's walk; `pa` must be a uint32 multiple of 4.
   */
  word(pa: number): number {
    const t = this.slots[pa >>> 22];
    if (t === undefined) return 0;
    const slot = t[(pa >>> 12) & 1023]!;
    return slot < 0 ? 0 : this.pool[(slot << 10) | ((pa & 0xfff) >>> 2)]!;
  }

  /**
   * Store an aligned word at `pa`, without checks.
   * @internal
   */
  setWord(pa: number, value: number): void {
    // The slot first: finding it may grow the pool, which replaces `this.pool`.
    const i = (this.slotForWrite(pa >>> 12) << 10) | ((pa & 0xfff) >>> 2);
    this.pool[i] = value;
  }

  /** Read the byte at `pa`. */
  read8(pa: number): number {
    pa = toU32(pa);
    return (this.word((pa & ~3) >>> 0) >>> ((pa & 3) << 3)) & 0xff;
  }

  /** Read the little-endian 16-bit value at `pa` (any alignment). */
  read16(pa: number): number {
    pa = toU32(pa);
    if ((pa & 3) !== 3) return (this.word((pa & ~3) >>> 0) >>> ((pa & 3) << 3)) & 0xffff;
    return this.read8(pa) | (this.read8((pa + 1) >>> 0) << 8);
  }

  /** Read the little-endian 32-bit value at `pa` (any alignment; wraps at 4 GiB). */
  read32(pa: number): number {
    pa = toU32(pa);
    if ((pa & 3) === 0) return this.word(pa);
    return (
      (this.read8(pa) |
        (this.read8((pa + 1) >>> 0) << 8) |
        (this.read8((pa + 2) >>> 0) << 16) |
        (this.read8((pa + 3) >>> 0) << 24)) >>>
      0
    );
  }

  /** Write the low byte of `value` at `pa`. `value` must fit in 8 bits (signed or not). */
  write8(pa: number, value: number): void {
    pa = toU32(pa);
    checkValue(value, 1);
    this.store8(pa, value);
  }

  /** Write `value` as 16 bits, little-endian, at `pa`. */
  write16(pa: number, value: number): void {
    pa = toU32(pa);
    checkValue(value, 2);
    this.store8(pa, value);
    this.store8((pa + 1) >>> 0, value >>> 8);
  }

  /** Write `value` as 32 bits, little-endian, at `pa`. */
  write32(pa: number, value: number): void {
    pa = toU32(pa);
    checkValue(value, 4);
    if ((pa & 3) === 0) {
      this.setWord(pa, value);
      return;
    }
    for (let i = 0; i < 4; i++) this.store8((pa + i) >>> 0, value >>> (8 * i));
  }

  /** Copy `length` bytes starting at `pa` (inspection helper). */
  readBytes(pa: number, length: number): Uint8Array {
    pa = toU32(pa);
    if (!Number.isInteger(length) || length < 0 || pa + length > 2 ** 32) {
      throw new HwError(HW_ERROR.BAD_ADDRESS, `range ${hex32(pa)} + ${length} runs past 4 GiB`);
    }
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.read8(pa + i);
    return out;
  }

  /** Zero the 4 KiB frame `pfn`. */
  clearFrame(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= 1 << 20) {
      throw new HwError(HW_ERROR.BAD_ADDRESS, `frame number ${pfn} is not in [0, 0x100000)`);
    }
    const slot = this.slotOf(pfn);
    if (slot >= 0) this.pool.fill(0, slot << 10, (slot + 1) << 10);
  }

  private store8(pa: number, value: number): void {
    const i = (this.slotForWrite(pa >>> 12) << 10) | ((pa & 0xfff) >>> 2);
    const shift = (pa & 3) << 3;
    this.pool[i] = (this.pool[i]! & ~(0xff << shift)) | ((value & 0xff) << shift);
  }
}
