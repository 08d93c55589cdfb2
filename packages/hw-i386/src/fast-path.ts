/**
 * The host-side fast path: how the simulation goes fast without changing what
 * it simulates. Nothing here is part of the machine; mmu.ts is.
 *
 * The built-in TLBs keep their entries in one `Int32Array` indexed by virtual
 * page number (`slots`, see packed.ts), as an emulator's flat TLB does (QEMU's
 * softmmu, v86). The MMU reads that array directly: there is no second cache
 * beside the TLB to keep coherent, so whatever drops a TLB entry (invlpg, a
 * flush, a fault, an eviction) drops its fast path with it.
 *
 * What a slot may serve without the general path is folded into bits of the
 * packed entry that the entry itself leaves free, the *hints*:
 *
 * ```
 *  31                       12 11 10  9   8  7  6  5   4   3   2  1  0
 * +---------------------------+--+--+---+--+--+--+---+---+---+--+--+-+
 * |  pfn                      | -|WN|W3 |G |PS|D |W0 |R3 |R0 |US|RW|P|
 * +---------------------------+--+--+---+--+--+--+---+---+---+--+--+-+
 *   R0/R3: a read at CPL 0/3 may go straight to the frame in flat RAM;
 *   W0: a write at CPL 0 may while CR0.WP=1; WN: while CR0.WP=0; W3: at CPL 3.
 * ```
 *
 * A hint is set (by {@link hintsFor}) only when the MMU has just used the entry
 * on the general path, only while paging is on and nobody listens for events,
 * and only with no more rights than the entry gives: a write hint needs the
 * entry's dirty bit (so a write through a clean entry still walks and sets D)
 * and a frame of flat RAM that was already written (so RAM's count of touched
 * frames stays exact). What a hint depends on never changes while the entry is
 * held: the entry's own bits are rewritten only by a new fill, frames of RAM
 * only ever become flat and written, and CR0.WP picks W0 or WN at the access.
 * While someone listens or paging is off the MMU reads {@link EMPTY_SLOTS}
 * instead, so every access takes the general path and is reported. For an LRU
 * TLB each hint-served access is reported to it as a use.
 *
 * So the hints change how fast the simulation runs, never what it does; the
 * twin-machine test (test/fast-path.test.ts) checks exactly that. Beyond the
 * hit itself (which `Mmu.read32`/`write32` test inline, to stay small), the
 * paths that use the hints live here: the miss that walks on flat RAM
 * ({@link missWord32}) and `copyWords`' stretches ({@link copyStretch}).
 *
 * @module
 */
import { type Cpl, PDE_LARGE_RESERVED, PTE } from "./api.js";
import { ENTRY, type PackedTlb } from "./packed.js";
import type { UnboundedTlb } from "./tlb.js";

// Entry bits as this module's own constants (V8 folds these into the hot path).
const P = ENTRY.P;
const US = ENTRY.US;
const RW = ENTRY.RW;
const D = ENTRY.D;
const LARGE = ENTRY.LARGE;
// PDE.A sits where PTE.A does.
const A = PTE.A;
const AD = A | D;
// The bits a 4 KiB leaf gives the entry as they are (G only while CR4.PGE is set).
const KEEP = 0xfffff000 | D;
const LARGE_RESERVED = PDE_LARGE_RESERVED;

/** Hint bits of a packed TLB entry (see the module comment). */
export const HINT = {
  /** A read at CPL 0 may use the slot. */
  R0: 0x008,
  /** A read at CPL 3 may use the slot. */
  R3: 0x010,
  /** A write at CPL 0 may use the slot while CR0.WP = 1. */
  W0: 0x020,
  /** A write at CPL 3 may use the slot. */
  W3: 0x200,
  /** A write at CPL 0 may use the slot while CR0.WP = 0. */
  WN: 0x400,
} as const;

/** Every hint bit: what a TLB entry without hints is masked with. */
export const HINTS = HINT.R0 | HINT.R3 | HINT.W0 | HINT.W3 | HINT.WN;

/**
 * Accesses on the general path after which the MMU asks a built-in TLB to keep
 * its entries in flat slots by vpn (4 MiB, which the fast path reads): a
 * machine that a test builds for a handful of accesses never pays for them
 * (making them costs milliseconds).
 */
export const FLAT_AFTER = 64;

/** Slots that the MMU reads while the fast path is off: always empty, never written. */
export const EMPTY_SLOTS = new Int32Array(1 << 20);

/**
 * The hints for the packed TLB entry `entry` (hint bits ignored) whose frame
 * of flat RAM was `written` (1) or not (0): reads may always go to the frame
 * (R0; R3 with US); writes need a written frame and a dirty entry, and then
 * follow the SDM's write rule at each CPL: WN always (CPL 0 with WP clear
 * writes anything), W0 with RW, W3 with RW and US. The miss path reads these
 * from a table made from this function (HINTS_BY), so it may be plain.
 */
export function hintsFor(entry: number, written: number): number {
  let hints: number = HINT.R0;
  if ((entry & US) !== 0) hints |= HINT.R3;
  if (written !== 0 && (entry & D) !== 0) {
    hints |= HINT.WN;
    if ((entry & RW) !== 0) hints |= HINT.W0;
    if ((entry & (RW | US)) === (RW | US)) hints |= HINT.W3;
  }
  return hints;
}

/** The word index in flat RAM of byte `offset` (in its page) of the frame of packed entry `slot`. */
export function wordIndex(slot: number, offset: number): number {
  return ((slot & ~0xfff) | offset) >>> 2;
}

/**
 * The MMU's fields that {@link missWord32} reads and writes. mmu.ts owns them
 * (marked internal there); this module is the only other reader.
 */
export interface FastMmu {
  /** 1 while `fast` is the TLB's own slots, which a miss may fill. */
  readonly fastOn: number;
  /** The TLB's flat slots, or EMPTY_SLOTS. */
  readonly fast: Int32Array;
  /** RAM's flat words. */
  readonly mem: Uint32Array;
  /** Frames in `mem`. */
  readonly memFrames: number;
  /** RAM's frames ever written (1) or not (0), by pfn. */
  readonly written: Uint8Array;
  /** CR3. */
  readonly cr3v: number;
  /** ENTRY.LARGE while CR4.PSE is set, else 0. */
  readonly pseMask: number;
  /** G while CR4.PGE is set, else 0. */
  readonly gMask: number;
  /** RW while CR0.WP is set, else 0. */
  readonly wpMask: number;
  /** Misses served here: each is one access, one miss and one walk. */
  flatMisses: number;
  /** The TLB when it is exactly an UnboundedTlb (the default), else null. */
  readonly unbounded: UnboundedTlb | null;
  /** The TLB as the MMU uses it. */
  readonly packed: PackedTlb;
  /** The general path of an aligned 32-bit access (mmu.ts). */
  word32(va: number, cpl: Cpl, write: boolean, value: number): number;
}

/**
 * {@link hintsFor} as a table, indexed by an entry's US, RW and D bits with the
 * frame's written flag in bit 0 (`(entry & (US | RW | D)) | written`): the miss
 * path takes its hints in one load. Made from hintsFor, so the rule stays there.
 */
const HINTS_BY = hintTable();

function hintTable(): Int32Array {
  const table = new Int32Array((US | RW | D) + 2);
  for (let i = 0; i < table.length; i++) table[i] = hintsFor(i & ~1, i & 1);
  return table;
}

/**
 * An aligned 32-bit read (`write` 0: returns the word, as an int32) or write
 * (1) of `value` (returns 0) at int32 linear address `v` that the hit in
 * `Mmu.read32`/`write32` did not serve: either the miss that needs nothing but
 * the walk itself, done here on RAM's flat words, or else the general path
 * (`Mmu.word32`, the SDM's walk of mmu.ts and walk.ts).
 *
 * Served here when the slot is empty, the access is at CPL 0 or 3, the
 * directory, the table and the frame are in flat RAM, both entries are present
 * with their A bit (and D, for a write) already set, no reserved bit is set,
 * the access is permitted, and a write's frame was already written (RAM's
 * count of touched frames). So whenever this serves an access, the general
 * walk would have read the same two words, written nothing, raised nothing
 * and made the same entry; this then does what the general path does after
 * such a walk: counts the access, the miss and the walk (`flatMisses`), fills
 * the TLB with the entry and its hints, and moves the word.
 *
 * Why one function, written out: `read32` and `write32` must stay small enough
 * for V8 to inline them into their callers, or each call boxes a kernel
 * address (a double) and pays a call. V8 inlines a function only when its own
 * bytecode is under 460 bytes (`--max-inlined-bytecode-size`), and counts
 * against its caller's budget whatever it has already inlined. This function
 * is above that size, so it is never inlined into `read32`: their optimized
 * code stays the hit alone, whatever ran first (a miss loop used to make
 * `read32`'s own code carry the whole miss, and later callers then stopped
 * inlining it). It receives `v` as an int32, a small integer to V8 even for a
 * kernel address, and a read returns its word as an int32 too (`read32` turns
 * it back with `>>> 0`): a uint32 of 2^31 or more would be a heap number, one
 * allocation per miss on a kernel pointer. The masks are integers, not
 * booleans: V8 tests them in one instruction. The walk is written out here, not
 * in a helper: a function under the size limit (two entries, for reads and
 * writes, each calling a shared walk, was tried) gets inlined into every
 * caller that ever missed, hit loops included, and their hits then cost 8%
 * more instructions.
 */
export function missWord32(
  m: FastMmu,
  v: number,
  cpl: number,
  write: number,
  value: number,
): number {
  const vpn = v >>> 12;
  fast: {
    // Only an empty slot: an entry held without the hint this access needs
    // (a write through a clean entry, CPL 3 on a supervisor page) is the
    // general path's, as is any CPL other than 0 or 3 (refused there).
    if (m.fastOn === 0 || m.fast[vpn] !== 0 || (cpl !== 0 && cpl !== 3)) break fast;
    const mem = m.mem;
    const frames = m.memFrames;
    // The walk: the PDE, then for a 4 KiB page the PTE, each present with A
    // (and the leaf with D for a write); reserved bits only exist in a PDE
    // that maps 4 MiB.
    const pd = m.cr3v >>> 12;
    if (pd >= frames) break fast;
    const pde = mem[(pd << 10) | (v >>> 22)]!;
    const need = write !== 0 ? P | AD : P | A;
    let e: number;
    if ((pde & m.pseMask) !== 0) {
      e = largeEntry(pde, v, need, m.gMask);
      if (e === 0) break fast;
    } else {
      const pt = pde >>> 12;
      if ((pde & (P | A)) !== (P | A) || pt >= frames) break fast;
      const pte = mem[(pt << 10) | (vpn & 0x3ff)]!;
      if ((pte & need) !== need) break fast;
      e = (pte & (KEEP | m.gMask)) | (pde & pte & (US | RW)) | P;
    }
    // The leaf frame in flat RAM, and the permission rule of walk.ts's
    // `permits` on the combined bits: CPL 3 needs US, and RW to write; CPL 0
    // needs RW to write while CR0.WP is set.
    const pfn = e >>> 12;
    if (pfn >= frames) break fast;
    const rights = cpl === 3 ? (write !== 0 ? US | RW : US) : write !== 0 ? m.wpMask : 0;
    if ((e & rights) !== rights) break fast;
    // `written` covers every frame of flat RAM.
    const written = m.written[pfn]!;
    if (write !== 0 && written === 0) break fast;
    // The word first: a read's load from RAM is the miss's longest wait, and
    // nothing below depends on it, so the core runs the bookkeeping meanwhile.
    const at = ((e & ~0xfff) | (v & 0xfff)) >>> 2;
    const word = mem[at]!;
    m.flatMisses++;
    const hinted = e | HINTS_BY[(e & (US | RW | D)) | written]!;
    // A built-in TLB keeps what it is given, hints included, in the slots the
    // fast path reads (packed.ts). The default TLB's fill of an empty slot
    // with a 4 KiB entry is that store and a note of the page as held.
    const u = m.unbounded;
    if (u !== null && (e & LARGE) === 0) {
      m.fast[vpn] = hinted;
      u.noteFill(vpn);
    } else m.packed.fill(vpn, hinted);
    if (write === 0) return word | 0;
    mem[at] = value;
    return 0;
  }
  return m.word32(v >>> 0, cpl as Cpl, write !== 0, value) | 0;
}

/**
 * `Mmu.copyWords`' stretch: the `n` words after the aligned word just copied
 * from `s` to `d` (linear addresses; all `n` on the same two pages), copied
 * straight in flat RAM when both pages' slots in `fast` carry the hint for
 * the access, `readBit` at the source and `writeBit` at the destination. The
 * TLB then holds both pages and nothing is filled until the stretch ends, so
 * each of these reads and writes would be a hit, and the caller counts them
 * as hits. Returns `n`, or 0 if a slot lacks its hint (the words then go one
 * by one, the ordinary way).
 */
export function copyStretch(
  fast: Int32Array,
  mem: Uint32Array,
  s: number,
  d: number,
  n: number,
  readBit: number,
  writeBit: number,
): number {
  const from = fast[s >>> 12]!;
  const to = fast[d >>> 12]!;
  if ((from & readBit) === 0 || (to & writeBit) === 0) return 0;
  const f = wordIndex(from, s & 0xfff) + 1;
  const t = wordIndex(to, d & 0xfff) + 1;
  // Ascending, word by word, as rep movsd does when the ranges overlap.
  for (let j = 0; j < n; j++) mem[t + j] = mem[f + j]!;
  return n;
}

/** {@link missWord32}'s walk of a PDE that maps a 4 MiB page: the entry, or 0 (reserved bits, or A/D missing). */
function largeEntry(pde: number, v: number, need: number, g: number): number {
  if ((pde & (need | LARGE_RESERVED)) !== need) return 0;
  const pfn = ((pde >>> 22) << 10) | ((v >>> 12) & 0x3ff);
  return (pfn << 12) | (pde & (US | RW | D | g)) | LARGE | P;
}
