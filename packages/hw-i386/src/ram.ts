/**
 * Physical memory: the whole 4 GiB physical address space.
 *
 * RAM, as the memory map reports it, becomes one flat array of words, so that
 * an access is one index: the host's operating system gives a large array its
 * pages only when they are first written, so a 3.75 GiB machine costs what it
 * uses. A new machine starts with only its first 256 KiB flat and keeps other
 * frames sparsely, one 4 KiB array per frame on first write; once a few dozen
 * frames of RAM live that way, or a few thousand accesses have reached them,
 * RAM becomes flat at its full size (they move in). A machine that a test builds for a handful of accesses thus costs a few
 * KiB. Physical addresses above RAM (device memory, firmware) always stay
 * sparse.
 *
 * ```
 *  physical address   0          256 KiB               RAM end               4 GiB
 *                    +--------------+---------------------+---------------------+
 *  a new machine     | flat         | far: Map pfn -> frame (created on write)  |
 *                    +--------------+---------------------+---------------------+
 *  after FAR_LIMIT   | flat: words[pa >>> 2]              | far                 |
 *  frames or         +------------------------------------+---------------------+
 *  FAR_TOUCH_LIMIT accesses
 * ```
 *
 * A frame that was never written reads as zero. Words are kept as 32-bit
 * numbers and bytes are picked out with shifts, so byte order is
 * little-endian whatever the host is.
 *
 * This is the machine's RAM, not a CPU path: reading it never goes through the
 * MMU. Boot code uses it before paging is on; tests and tools use it to inspect.
 *
 * @module
 */
import { E820, type MemoryRegion, PAGE_SIZE, PHYS_SPACE } from "./api.js";
import { HW_ERROR, HwError, hex32, showValue } from "./errors.js";

const FRAME_WORDS = PAGE_SIZE / 4;
const DEFAULT_RAM = 64 * 1024 * 1024;
/** Frames in the flat array of a new machine (256 KiB). */
const FIRST_FRAMES = 64;
/** Frames of RAM kept sparse before RAM becomes flat at its full size. */
const FAR_LIMIT = 32;
/**
 * Word accesses to sparse frames of RAM before RAM becomes flat anyway: a
 * machine that reuses a few frames over and over (an address space made and
 * destroyed in a loop) is long-lived too, and sparse frames never reach the
 * MMU's fast path.
 */
const FAR_TOUCH_LIMIT = 4096;
/**
 * `v` as an unsigned 32-bit number. Accepts integers in [-2^31, 2^32): JavaScript's
 * bit operators give signed results (`0x80000000 | 1` is negative), and both
 * spellings are the same 32 bits, as in C. Anything else is an {@link HwError}.
 */
export function toU32(v: number, what = "physical address"): number {
  if (typeof v !== "number") {
    throw new HwError(HW_ERROR.BAD_ADDRESS, `${what} ${showValue(v)} is not a 32-bit value`);
  }
  if (v >>> 0 === v) return v;
  if ((v | 0) === v) return v >>> 0;
  throw new HwError(HW_ERROR.BAD_ADDRESS, `${what} ${hex32(v)} is not a 32-bit value`);
}

/**
 * Refuse a value that does not fit `size` bytes, signed or not.
 * @internal Shared with the MMU (not exported from the index).
 */
export function checkValue(value: number, size: 1 | 2 | 4): void {
  const limit = 2 ** (8 * size);
  if (!Number.isInteger(value) || value < -(limit / 2) || value >= limit) {
    throw new HwError(
      HW_ERROR.BAD_VALUE,
      `value ${showValue(value)} does not fit in ${size} byte${size > 1 ? "s" : ""}`,
    );
  }
}

/** Options for {@link PhysicalMemory}. */
export interface PhysicalMemoryOptions {
  /**
   * Bytes of installed RAM: the default memory map's usable RAM ends there.
   * Default 64 MiB, or with `memoryMap`, where its highest usable region
   * ends. Every physical address is backed regardless.
   */
  readonly installedBytes?: number;
  /**
   * A memory map to report instead of the default PC layout. RAM then follows
   * it: `installedBytes` is where its highest usable region ends.
   */
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
      `installed RAM ${showValue(installedBytes)} must be an integer between 2 MiB and 3.75 GiB`,
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

/** Where the usable RAM of `map` ends, after checking every region. */
function checkMemoryMap(map: readonly MemoryRegion[]): number {
  if (!Array.isArray(map)) {
    throw new HwError(HW_ERROR.BAD_CONFIG, `memory map (a ${typeof map}) is not an array`);
  }
  const types = Object.values(E820) as unknown[];
  let top = 0;
  map.forEach((r: MemoryRegion, i) => {
    const ok =
      typeof r === "object" &&
      r !== null &&
      Number.isInteger(r.base) &&
      Number.isInteger(r.length) &&
      r.base >= 0 &&
      r.length >= 0 &&
      r.base + r.length <= PHYS_SPACE &&
      types.includes(r.type);
    if (!ok) {
      const shown =
        typeof r === "object" && r !== null
          ? `{ base: ${hex32(r.base)}, length: ${String(r.length)}, type: ${String(r.type)} }`
          : String(r);
      throw new HwError(
        HW_ERROR.BAD_CONFIG,
        `memory map entry ${i} ${shown} needs an integer base and length inside 4 GiB and an E820 type`,
      );
    }
    if (r.type === E820.USABLE && r.length > 0) top = Math.max(top, r.base + r.length);
  });
  if (top < 0x20_0000) {
    throw new HwError(
      HW_ERROR.BAD_CONFIG,
      `memory map's usable RAM ends at ${hex32(top)}: a machine needs at least 2 MiB`,
    );
  }
  return top;
}

/** Sparse, byte-addressed, little-endian physical memory covering all of 4 GiB. */
export class PhysicalMemory {
  /** Words of RAM from address 0; replaced once by all of RAM (see the module comment). */
  declare private flat: Uint32Array;
  /** Frames in `flat` now. */
  declare private flatFrames: number;
  /** Bytes in `flat` now. */
  declare private flatBytes: number;
  /** Frames of RAM (not above it) that live in `far`. */
  private farRam = 0;
  /** Word accesses to frames of RAM that live in `far`. */
  private farTouches = 0;
  /** Frames of RAM: how far `flat` may grow. */
  declare private readonly ramFrames: number;
  /** 1 for each frame of RAM that was ever written. */
  declare private readonly written: Uint8Array;
  private readonly growHooks: (() => void)[] = [];
  /** Frames above RAM that were written, by frame number. */
  private readonly far = new Map<number, Uint32Array>();
  private touched = 0;
  /** The firmware memory map (e820) that boot code reads. */
  declare readonly memoryMap: readonly MemoryRegion[];
  /** Bytes of installed RAM: where the memory map's highest usable region ends. */
  declare readonly installedBytes: number;

  constructor(options: PhysicalMemoryOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new HwError(HW_ERROR.BAD_CONFIG, `RAM options ${showValue(options)} are not an object`);
    }
    const map = options.memoryMap;
    const mapTop = map === undefined ? undefined : checkMemoryMap(map);
    // Only `undefined` means "the default": an explicit null is a mistake, and refused below.
    const installed =
      options.installedBytes === undefined ? (mapTop ?? DEFAULT_RAM) : options.installedBytes;
    if (mapTop !== undefined && options.installedBytes !== undefined && installed !== mapTop) {
      throw new HwError(
        HW_ERROR.BAD_CONFIG,
        `installed RAM ${hex32(installed)} disagrees with the memory map, whose usable RAM ends at ${hex32(mapTop)}`,
      );
    }
    this.memoryMap = Object.freeze(
      (map ?? defaultMemoryMap(installed)).map((r) => Object.freeze({ ...r })),
    );
    this.installedBytes = installed;
    // RAM as the map has it, rounded up to a whole frame; at least the first MiB.
    this.ramFrames = Math.min(1 << 20, Math.max(256, Math.ceil(installed / PAGE_SIZE)));
    this.flatFrames = Math.min(FIRST_FRAMES, this.ramFrames);
    this.flatBytes = this.flatFrames * PAGE_SIZE;
    this.flat = new Uint32Array(this.flatFrames * FRAME_WORDS);
    this.written = new Uint8Array(this.ramFrames);
  }

  /** Number of frames that have storage (were written at least once). */
  get touchedFrames(): number {
    return this.touched;
  }

  /**
   * The flat storage of RAM now and the number of frames it holds.
   * @internal For the MMU's fast path; see {@link onGrow}.
   */
  flatStorage(): {
    readonly words: Uint32Array;
    readonly frames: number;
    readonly written: Uint8Array;
  } {
    // `written` covers every frame of RAM and is never replaced.
    return { words: this.flat, frames: this.flatFrames, written: this.written };
  }

  /**
   * Call `hook` after the flat storage was replaced by a bigger copy.
   * @internal For the MMU, which keeps a reference to it.
   */
  onGrow(hook: () => void): void {
    this.growHooks.push(hook);
  }

  /** Make all of RAM flat, moving in the frames that lived in `far`. */
  private flatten(): void {
    const flat = new Uint32Array(this.ramFrames * FRAME_WORDS);
    flat.set(this.flat);
    for (const [pfn, frame] of this.far) {
      if (pfn >= this.ramFrames) continue;
      flat.set(frame, pfn * FRAME_WORDS);
      this.far.delete(pfn);
    }
    this.flat = flat;
    this.flatFrames = this.ramFrames;
    this.flatBytes = this.ramFrames * PAGE_SIZE;
    this.farRam = 0;
    for (const hook of this.growHooks) hook();
  }

  /**
   * True if frame `pfn` lies in the flat RAM and was written at least once.
   * @internal The MMU lets its fast path write only to such frames, so that
   * {@link touchedFrames} stays exact.
   */
  flatWritten(pfn: number): boolean {
    return pfn < this.flatFrames && this.written[pfn] === 1;
  }

  /**
   * The aligned word at `pa`, without checks.
   * @internal For the MMU; `pa` must be a uint32 multiple of 4.
   */
  word(pa: number): number {
    // Small enough for V8 to inline into every caller; the rest is out of line.
    if (pa < this.flatBytes) return this.flat[pa >>> 2]!;
    return this.farWord(pa);
  }

  /** {@link word} beyond the flat storage. */
  private farWord(pa: number): number {
    if (pa >>> 12 < this.ramFrames && ++this.farTouches > FAR_TOUCH_LIMIT) {
      this.flatten();
      return this.flat[pa >>> 2]!;
    }
    const frame = this.far.get(pa >>> 12);
    return frame === undefined ? 0 : frame[(pa & 0xfff) >>> 2]!;
  }

  /**
   * Store an aligned word at `pa`, without checks.
   * @internal
   */
  setWord(pa: number, value: number): void {
    // A frame of flat RAM already written: the common case, small enough to inline.
    const pfn = pa >>> 12;
    if (pfn < this.flatFrames && this.written[pfn] === 1) {
      this.flat[pa >>> 2] = value;
      return;
    }
    this.setFarWord(pa, value);
  }

  /** {@link setWord} for a first write to a frame, or beyond the flat storage. */
  private setFarWord(pa: number, value: number): void {
    const pfn = pa >>> 12;
    if (pfn < this.flatFrames) {
      if (this.written[pfn] === 0) {
        this.written[pfn] = 1;
        this.touched++;
      }
      this.flat[pa >>> 2] = value;
      return;
    }
    let frame = this.far.get(pfn);
    if (
      pfn < this.ramFrames &&
      (++this.farTouches > FAR_TOUCH_LIMIT || (frame === undefined && this.farRam === FAR_LIMIT))
    ) {
      this.flatten();
      this.setWord(pa, value);
      return;
    }
    if (frame === undefined) {
      frame = new Uint32Array(FRAME_WORDS);
      this.far.set(pfn, frame);
      this.touched++;
      if (pfn < this.ramFrames) {
        this.written[pfn] = 1;
        this.farRam++;
      }
    }
    frame[(pa & 0xfff) >>> 2] = value;
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
    // An aligned uint32 is the common case (every page walk reads two): one
    // compare validates it, without toU32's call and error paths.
    // (typeof first: `>>>` would throw a TypeError on a BigInt.)
    if (typeof pa === "number" && pa >>> 0 === pa && (pa & 3) === 0) return this.word(pa);
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
      this.setWord(pa, value >>> 0);
      return;
    }
    for (let i = 0; i < 4; i++) this.store8((pa + i) >>> 0, value >>> (8 * i));
  }

  /** Copy `length` bytes starting at `pa` (inspection helper). */
  readBytes(pa: number, length: number): Uint8Array {
    pa = toU32(pa);
    if (!Number.isInteger(length) || length < 0 || pa + length > 2 ** 32) {
      throw new HwError(
        HW_ERROR.BAD_ADDRESS,
        `range ${hex32(pa)} + ${String(length)} runs past 4 GiB`,
      );
    }
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.read8(pa + i);
    return out;
  }

  /** Zero the 4 KiB frame `pfn`. */
  clearFrame(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= 1 << 20) {
      throw new HwError(
        HW_ERROR.BAD_ADDRESS,
        `frame number ${String(pfn)} is not in [0, 0x100000)`,
      );
    }
    if (pfn < this.flatFrames) {
      if (this.written[pfn] === 1) this.flat.fill(0, pfn * FRAME_WORDS, (pfn + 1) * FRAME_WORDS);
    } else this.far.get(pfn)?.fill(0);
  }

  private store8(pa: number, value: number): void {
    const aligned = (pa & ~3) >>> 0;
    const shift = (pa & 3) << 3;
    this.setWord(
      aligned,
      ((this.word(aligned) & ~(0xff << shift)) | ((value & 0xff) << shift)) >>> 0,
    );
  }
}
