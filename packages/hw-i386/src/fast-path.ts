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
 * twin-machine test (test/fast-path.test.ts) checks exactly that.
 *
 * @module
 */
import { PDE_LARGE_RESERVED, PTE } from "./api.js";
import { ENTRY } from "./packed.js";

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
 * The hints for the packed TLB entry `entry` (hint bits ignored): reads may
 * always go to a frame of flat RAM; writes need `written` (the frame has
 * storage) and a dirty entry, and then follow the SDM's write rule at each CPL.
 */
// The hint bits as plain constants for the same reason.
const H_R0 = HINT.R0;
const H_R3 = HINT.R3;
const H_W0 = HINT.W0;
const H_W3 = HINT.W3;
const H_WN = HINT.WN;

export function hintsFor(entry: number, written: boolean): number {
  const user = (entry & US) !== 0;
  let hints = H_R0 | (user ? H_R3 : 0);
  if (written && (entry & D) !== 0) {
    hints |= H_WN; // CPL 0 with WP clear writes anything
    if ((entry & RW) !== 0) hints |= H_W0 | (user ? H_W3 : 0);
  }
  return hints;
}

/**
 * {@link hintsFor} as a table, for the miss path: indexed by {@link hintIndex}.
 * Built from hintsFor, so the rule stays written once.
 */
export const HINT_TABLE: Int32Array = (() => {
  const t = new Int32Array(8);
  for (let i = 0; i < 8; i++) {
    t[i] = hintsFor((i & 1 ? RW : 0) | (i & 2 ? US : 0) | (i & 4 ? D : 0), (i & 4) !== 0);
  }
  return t;
})();

/**
 * The index into {@link HINT_TABLE} of packed entry `entry` whose frame was
 * `written` (1) or not (0): its RW and US bits, and D when written (a write
 * hint needs both, so D without `written` gives what no D gives).
 */
export function hintIndex(entry: number, written: number): number {
  return ((entry >>> 1) & 3) | ((entry >>> 4) & (written << 2));
}

/** The word index in flat RAM of byte `offset` (in its page) of the frame of packed entry `slot`. */
export function wordIndex(slot: number, offset: number): number {
  return ((slot & ~0xfff) | offset) >>> 2;
}

/**
 * The miss that needs nothing but the walk itself, done on RAM's flat words:
 * the packed TLB entry (without hints) for int32 linear address `v`, or 0 when
 * this access needs the general path (mmu.ts) for anything: a table or the
 * frame outside `frames` (the flat words), a not-present or reserved entry, an
 * A bit still clear (or D, for a write), a permission fault. So whenever it
 * returns an entry, the general walk would have read the same two words,
 * written nothing, raised nothing and made the same entry; the MMU then
 * fills the TLB and counts the miss as the general path does.
 *
 * Small integer code with no call on the 4 KiB path, under V8's size limit for
 * inlining (460 bytes of bytecode): `v` is the address as an int32 (a kernel
 * address would be a double to V8 as a uint32), `pse` is LARGE while CR4.PSE is
 * set (else 0), `g` is G while CR4.PGE is set (else 0), `w0` is RW while CR0.WP
 * is set (else 0): masks, not booleans, which V8 tests in one instruction.
 */
export function flatWalk(
  mem: Uint32Array,
  frames: number,
  cr3: number,
  pse: number,
  g: number,
  w0: number,
  v: number,
  write: boolean,
  cpl: number,
): number {
  const pd = cr3 >>> 12;
  if (pd >= frames) return 0;
  const pde = mem[(pd << 10) | (v >>> 22)]!;
  const need = write ? P | AD : P | A;
  let e: number;
  if ((pde & pse) !== 0) {
    e = largeEntry(pde, v, need, g);
  } else {
    const pt = pde >>> 12;
    if ((pde & (P | A)) !== (P | A) || pt >= frames) return 0;
    const pte = mem[(pt << 10) | ((v >>> 12) & 0x3ff)]!;
    if ((pte & need) !== need) return 0;
    e = (pte & (KEEP | g)) | (pde & pte & (US | RW)) | P;
  }
  // The leaf frame in flat RAM, and the permission rule of walk.ts's `permits`
  // on the combined bits: CPL 3 needs US, and RW to write; CPL 0 needs RW to
  // write while CR0.WP is set.
  if (e >>> 12 >= frames) return 0;
  const rights = cpl === 3 ? (write ? US | RW : US) : write ? w0 : 0;
  return (e & rights) === rights ? e : 0;
}

/** {@link flatWalk} for a PDE that maps a 4 MiB page: the entry, or 0 (reserved bits, or A/D missing). */
function largeEntry(pde: number, v: number, need: number, g: number): number {
  if ((pde & (need | LARGE_RESERVED)) !== need) return 0;
  const pfn = ((pde >>> 22) << 10) | ((v >>> 12) & 0x3ff);
  return (pfn << 12) | (pde & (US | RW | D | g)) | LARGE | P;
}
