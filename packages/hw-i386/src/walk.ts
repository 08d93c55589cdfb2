/**
 * The page walk of 32-bit paging, once: the rules that both the MMU and the
 * inspection tools follow (SDM vol. 3A §4.3, §4.6).
 *
 * ```
 *  linear address:  | dir (10) | table (10) | offset (12) |
 *
 *  PDE = word at (CR3 & ~0xfff) + 4 * dir
 *    P = 0                      -> no translation (error code P = 0)
 *    PS = 1 and CR4.PSE = 1     -> 4 MiB page: frame = PDE[31:22], bits 21:13 reserved (RSVD fault)
 *    else PTE = word at (PDE & ~0xfff) + 4 * table
 *      P = 0                    -> no translation (error code P = 0)
 *      else                     -> 4 KiB page: frame = PTE[31:12]
 *
 *  U/S and R/W of the translation: AND over every level used.
 * ```
 *
 * {@link walkTables} is pure: it reads two words and fills a {@link WalkState}
 * in place (no object is made, so the MMU's miss path allocates nothing). It
 * sets no accessed or dirty bit, touches no TLB, raises nothing: the MMU adds
 * those around it, and `explainWalk` reports what it found. The permission rule
 * is {@link permits}, used by both as well.
 *
 * @module
 */
import { type Cpl, PDE, PDE_LARGE_RESERVED, PF_ERROR, PTE } from "./api.js";

// The bits as this module's own constants: V8 folds these into the MMU's miss
// path, where an imported binding costs a load and checks at every use.
const P = PDE.P;
const PS = PDE.PS;
const US = PTE.US;
const RW = PTE.RW;
const LARGE_RESERVED = PDE_LARGE_RESERVED;
const RSVD_FAULT = PF_ERROR.P | PF_ERROR.RSVD;

/** What the walk needs from memory: aligned 32-bit physical reads. */
export interface WalkMemory {
  /** The little-endian word at physical address `pa` (a multiple of 4 below 2^32). */
  read32(pa: number): number;
}

/**
 * The outcome of one walk, written in place by {@link walkTables}.
 * Fields that a walk did not reach are -1.
 */
export interface WalkState {
  /** Physical address of the PDE read. */
  pdeAddr: number;
  /** The PDE as read. */
  pde: number;
  /** Physical address of the PTE read, or -1 (4 MiB page, or PDE not present). */
  pteAddr: number;
  /** The PTE as read, or -1 when none was read. */
  pte: number;
  /** The PDE maps a 4 MiB page. */
  large: boolean;
  /** U/S over every level used (false when there is no translation). */
  user: boolean;
  /** R/W over every level used (false when there is no translation). */
  writable: boolean;
  /** The physical frame number (bits 31:12 of the physical address), or -1. */
  pfn: number;
  /**
   * -1 when the tables translate the address; otherwise the page-fault error
   * code bits that describe why not: 0 (not present) or P | RSVD.
   */
  missing: number;
}

/** A fresh {@link WalkState} to pass to {@link walkTables}. */
export function newWalkState(): WalkState {
  return {
    pdeAddr: 0,
    pde: 0,
    pteAddr: -1,
    pte: -1,
    large: false,
    user: false,
    writable: false,
    pfn: -1,
    missing: -1,
  };
}

/**
 * Walk the paging structures under `cr3` for linear address `va` (a uint32),
 * with 4 MiB pages honoured only when `pse` (CR4.PSE) is set; fills `out`.
 */
export function walkTables(
  mem: WalkMemory,
  cr3: number,
  pse: boolean,
  va: number,
  out: WalkState,
): void {
  const pdeAddr = ((cr3 & 0xffff_f000) | ((va >>> 22) << 2)) >>> 0;
  const pde = mem.read32(pdeAddr);
  out.pdeAddr = pdeAddr;
  out.pde = pde;
  out.pteAddr = -1;
  out.pte = -1;
  out.pfn = -1;
  out.user = false;
  out.writable = false;
  out.large = false;
  if ((pde & P) === 0) {
    out.missing = 0;
    return;
  }
  if (pse && (pde & PS) !== 0) {
    out.large = true;
    if ((pde & LARGE_RESERVED) !== 0) {
      out.missing = RSVD_FAULT;
      return;
    }
    out.missing = -1;
    out.user = (pde & US) !== 0;
    out.writable = (pde & RW) !== 0;
    out.pfn = ((pde >>> 12) & 0xffc00) | ((va >>> 12) & 0x3ff);
    return;
  }
  const pteAddr = ((pde & 0xffff_f000) | (((va >>> 12) & 0x3ff) << 2)) >>> 0;
  const pte = mem.read32(pteAddr);
  out.pteAddr = pteAddr;
  out.pte = pte;
  if ((pte & P) === 0) {
    out.missing = 0;
    return;
  }
  out.missing = -1;
  out.user = (pde & pte & US) !== 0;
  out.writable = (pde & pte & RW) !== 0;
  out.pfn = pte >>> 12;
}

/**
 * May an access go through a translation with these combined U/S and R/W
 * bits? CPL 3 needs U/S, and R/W to write; CPL 0 may write a read-only page
 * while CR0.WP is clear (SDM vol. 3A §4.6.1).
 */
export function permits(
  user: boolean,
  writable: boolean,
  write: boolean,
  cpl: Cpl,
  wp: boolean,
): boolean {
  if (cpl === 3) return user && (writable || !write);
  return writable || !write || !wp;
}
