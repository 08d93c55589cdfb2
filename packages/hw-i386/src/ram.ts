/**
 * Physical memory: the whole 4 GiB physical address space, stored sparsely.
 *
 * Storage is a two-level table of 4 KiB frames, like a page directory:
 *
 * ```
 *  physical address   31       22 21       12 11        0
 *                    +-----------+-----------+-----------+
 *                    |  chunk    |  frame    |  offset   |
 *                    +-----------+-----------+-----------+
 *  chunks[1024] --> frames[1024] --> Uint32Array(1024)   (created on first write)
 * ```
 *
 * A frame that was never written does not exist and reads as zero. Words are
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
  if (!Number.isInteger(installedBytes) || installedBytes < 0x20_0000 || installedBytes > 0xf000_0000) {
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
  private readonly chunks = emptyTable<(Uint32Array | undefined)[]>();
  private touched = 0;
  /** The firmware memory map (e820) that boot code reads. */
  readonly memoryMap: readonly MemoryRegion[];
  /** Bytes of installed RAM. */
  readonly installedBytes: number;

  constructor(options: PhysicalMemoryOptions = {}) {
    this.installedBytes = options.installedBytes ?? 64 * 1024 * 1024;
    this.memoryMap = Object.freeze(
      (options.memoryMap ?? defaultMemoryMap(this.installedBytes)).map((r) => Object.freeze({ ...r })),
    );
  }

  /** Number of frames that have storage (were written at least once). */
  get touchedFrames(): number {
    return this.touched;
  }

  /**
   * The storage of frame `pfn`, or null if it was never written.
   * @internal The MMU caches this in TLB entries; frames are never replaced.
   */
  frameIfPresent(pfn: number): Uint32Array | null {
    const chunk = this.chunks[pfn >>> 10];
    return chunk === undefined ? null : (chunk[pfn & 1023] ?? null);
  }

  /**
   * The storage of frame `pfn`, created (zeroed) if needed.
   * @internal
   */
  frameForWrite(pfn: number): Uint32Array {
    let chunk = this.chunks[pfn >>> 10];
    if (chunk === undefined) {
      chunk = emptyTable<Uint32Array>();
      this.chunks[pfn >>> 10] = chunk;
    }
    let frame = chunk[pfn & 1023];
    if (frame === undefined) {
      frame = new Uint32Array(FRAME_WORDS);
      chunk[pfn & 1023] = frame;
      this.touched++;
    }
    return frame;
  }

  /** Read the byte at `pa`. */
  read8(pa: number): number {
    pa = toU32(pa);
    const f = this.frameIfPresent(pa >>> 12);
    return f === null ? 0 : (f[(pa & 0xfff) >>> 2]! >>> ((pa & 3) << 3)) & 0xff;
  }

  /** Read the little-endian 16-bit value at `pa` (any alignment). */
  read16(pa: number): number {
    pa = toU32(pa);
    if ((pa & 1) === 0 && (pa & 3) !== 3) {
      const f = this.frameIfPresent(pa >>> 12);
      return f === null ? 0 : (f[(pa & 0xfff) >>> 2]! >>> ((pa & 3) << 3)) & 0xffff;
    }
    return this.read8(pa) | (this.read8((pa + 1) >>> 0) << 8);
  }

  /** Read the little-endian 32-bit value at `pa` (any alignment; wraps at 4 GiB). */
  read32(pa: number): number {
    pa = toU32(pa);
    if ((pa & 3) === 0) {
      const f = this.frameIfPresent(pa >>> 12);
      return f === null ? 0 : f[(pa & 0xfff) >>> 2]!;
    }
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
      this.frameForWrite(pa >>> 12)[(pa & 0xfff) >>> 2] = value;
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

  /** Zero the 4 KiB frame `pfn` (releasing its storage). */
  clearFrame(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= 1 << 20) {
      throw new HwError(HW_ERROR.BAD_ADDRESS, `frame number ${pfn} is not in [0, 0x100000)`);
    }
    const f = this.frameIfPresent(pfn);
    // Zero in place: a TLB entry may hold this storage, so it must stay the same object.
    if (f !== null) f.fill(0);
  }

  private store8(pa: number, value: number): void {
    const f = this.frameForWrite(pa >>> 12);
    const i = (pa & 0xfff) >>> 2;
    const shift = (pa & 3) << 3;
    f[i] = (f[i]! & ~(0xff << shift)) | ((value & 0xff) << shift);
  }
}
