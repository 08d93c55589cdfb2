/**
 * Read-only inspection of translations, for tests, tools and teaching.
 *
 * {@link explainWalk} is the CPU's own walk (walk.ts) but touches
 * nothing: no accessed or dirty bits, no TLB, no CR2, no counters, no events.
 * It answers "what would the page tables say about this address right now?",
 * which can differ from what the CPU does when the TLB holds a stale entry;
 * that difference is the point of several lessons.
 *
 * @module
 */
import { type Cpl, CR0, CR4, PDE, PF_ERROR, PTE, pdeIndex, pteIndex } from "./api.js";
import { describeErrorCode, hex32 } from "./errors.js";
import type { Mmu } from "./mmu.js";
import { type PhysicalMemory, toU32 } from "./ram.js";
import { newWalkState, permits, walkTables } from "./walk.js";

/** The register state a walk depends on. */
export interface WalkRegisters {
  /** CR0 (only WP matters to the walk's permission check). */
  readonly cr0: number;
  /** CR3: where the page directory is. */
  readonly cr3: number;
  /** CR4 (PSE decides whether PS makes a 4 MiB page). */
  readonly cr4: number;
}

/** What the page tables say about one linear address. */
export interface WalkExplanation {
  /** The linear address explained. */
  readonly va: number;
  /** Bits 31:22: the page-directory index. */
  readonly dirIndex: number;
  /** Bits 21:12: the page-table index (meaningless for a 4 MiB page). */
  readonly tableIndex: number;
  /** Physical address of the PDE. */
  readonly pdeAddr: number;
  /** The PDE as it is in memory now. */
  readonly pde: number;
  /** True when the PDE maps a 4 MiB page. */
  readonly large: boolean;
  /** Null when there is no PTE (4 MiB page, or PDE not present). */
  readonly pteAddr: number | null;
  /** The PTE as it is in memory now, or null when there is no PTE. */
  readonly pte: number | null;
  /** U/S combined over the levels used (false if the walk stopped early). */
  readonly user: boolean;
  /** R/W combined over the levels used. */
  readonly writable: boolean;
  /** The physical address, or null if the walk found no translation. */
  readonly pa: number | null;
  /** Error code bits 0 and 3 (P, RSVD) if there is no translation, else null. */
  readonly missing: number | null;
}

/** Walk the tables for `va` without changing anything (the MMU's own walk, walk.ts). */
export function explainWalk(
  ram: Pick<PhysicalMemory, "read32">,
  regs: WalkRegisters,
  va: number,
): WalkExplanation {
  va = toU32(va, "linear address");
  const w = newWalkState();
  walkTables(ram, regs.cr3, (regs.cr4 & CR4.PSE) !== 0, va, w);
  return {
    va,
    dirIndex: pdeIndex(va),
    tableIndex: pteIndex(va),
    pdeAddr: w.pdeAddr,
    pde: w.pde,
    large: w.large,
    pteAddr: w.pteAddr < 0 ? null : w.pteAddr,
    pte: w.pteAddr < 0 ? null : w.pte,
    user: w.user,
    writable: w.writable,
    pa: w.missing >= 0 ? null : ((w.pfn << 12) | (va & 0xfff)) >>> 0,
    missing: w.missing >= 0 ? w.missing : null,
  };
}

/**
 * The error code the page tables would produce for this access, or null if
 * they allow it. Ignores the TLB.
 */
export function faultFor(
  walk: WalkExplanation,
  regs: WalkRegisters,
  access: { readonly write: boolean; readonly cpl: Cpl },
): number | null {
  const extra = (access.write ? PF_ERROR.W : 0) | (access.cpl === 3 ? PF_ERROR.U : 0);
  if (walk.missing !== null) return walk.missing | extra;
  const wp = (regs.cr0 & CR0.WP) !== 0;
  return permits(walk.user, walk.writable, access.write, access.cpl, wp)
    ? null
    : PF_ERROR.P | extra;
}

function flagNames(entry: number, names: Record<string, number>): string {
  const set = Object.entries(names)
    .filter(([, bit]) => (entry & bit) !== 0)
    .map(([name]) => name);
  return set.length === 0 ? "-" : set.join(" ");
}

/** Names of the PDE flags set in `pde`, e.g. `"P RW A"`. */
export function pdeFlags(pde: number): string {
  const { P, RW, US, PWT, PCD, A, D, PS, G } = PDE;
  return flagNames(pde, { P, RW, US, PWT, PCD, A, D, PS, G });
}

/** Names of the PTE flags set in `pte`, e.g. `"P RW US A D"`. */
export function pteFlags(pte: number): string {
  return flagNames(pte, PTE);
}

/**
 * A few lines that tell the walk as a person would:
 * `PDE 768 @0x00001c00 = 0x00002003 (P RW) -> page table at 0x00002000`, and so on.
 */
export function formatWalk(walk: WalkExplanation): string {
  const lines = [
    `linear ${hex32(walk.va)} = dir ${walk.dirIndex}, table ${walk.tableIndex}, offset ${hex32(walk.va & 0xfff)}`,
  ];
  const pdeLine = `PDE ${walk.dirIndex} @${hex32(walk.pdeAddr)} = ${hex32(walk.pde)} (${pdeFlags(walk.pde)})`;
  if (walk.missing !== null && walk.pteAddr === null) {
    lines.push(`${pdeLine} -> no translation: ${describeErrorCode(walk.missing)}`);
    return lines.join("\n");
  }
  if (walk.large) {
    lines.push(`${pdeLine} -> 4 MiB page at ${hex32((walk.pde & 0xffc0_0000) >>> 0)}`);
  } else {
    lines.push(`${pdeLine} -> page table at ${hex32((walk.pde & 0xffff_f000) >>> 0)}`);
    const pte = walk.pte ?? 0;
    const pteLine = `PTE ${walk.tableIndex} @${hex32(walk.pteAddr ?? 0)} = ${hex32(pte)} (${pteFlags(pte)})`;
    lines.push(
      walk.missing !== null
        ? `${pteLine} -> not present`
        : `${pteLine} -> frame ${hex32((pte & 0xffff_f000) >>> 0)}`,
    );
  }
  if (walk.pa !== null) {
    lines.push(
      `physical ${hex32(walk.pa)} (${walk.user ? "user" : "supervisor"}, ${walk.writable ? "read/write" : "read-only"})`,
    );
  }
  return lines.join("\n");
}

/** {@link explainWalk} with the MMU's current registers. */
export function explainAddress(mmu: Mmu, va: number): WalkExplanation {
  return explainWalk(mmu.ram, mmu, va);
}
