/**
 * Exercise 1's walk in later stacks: it cannot replace the MMU's own walk
 * (the MMU also sets accessed and dirty bits and fills the TLB), so it audits
 * it. After every walk the MMU makes, the student's walk translates the same
 * address from the same registers; the first disagreement throws.
 *
 * @module
 */
import { type Machine, type MmuEvent, hex32 } from "@mm386/hw-i386";
import type { PageWalkExercise, WalkResult } from "./exercise-api.js";

/** Thrown when the student's walk and the MMU's disagree. */
export class WalkMismatch extends Error {
  /** Always `"WalkMismatch"`. */
  override readonly name = "WalkMismatch";
}

function show(r: WalkResult): string {
  return r.ok ? `pa ${hex32(r.pa)}` : `#PF error ${r.errorCode}`;
}

/** Audit every walk `machine`'s MMU makes with `walk`. Returns the unsubscribe function. */
export function walkChecker(machine: Machine, walk: PageWalkExercise["walk"]): () => void {
  const { mmu, ram } = machine;
  const read = (pa: number) => ram.read32(pa);
  let pendingFault: number | null = null;
  return mmu.subscribe((e: MmuEvent) => {
    const regs = { cr0: mmu.cr0, cr3: mmu.cr3, cr4: mmu.cr4 };
    if (e.type === "walk") {
      pendingFault = null;
      if (e.pa === null) {
        pendingFault = e.va; // the fault event that follows says which access it was
        return;
      }
      // A walk that reached a frame: a supervisor read must get there too.
      const mine = walk(read, regs, e.va, { write: false, user: false });
      if (!mine.ok || mine.pa !== e.pa)
        throw new WalkMismatch(
          `your walk of ${hex32(e.va)} (CR3 ${hex32(regs.cr3)}) gives ${show(mine)}; the MMU reached pa ${hex32(e.pa)}`,
        );
    } else if (e.type === "fault" && pendingFault === e.va) {
      pendingFault = null;
      const access = { write: (e.errorCode & 2) !== 0, user: (e.errorCode & 4) !== 0 };
      const mine = walk(read, regs, e.va, access);
      if (mine.ok || mine.errorCode !== e.errorCode)
        throw new WalkMismatch(
          `your walk of ${hex32(e.va)} (${access.user ? "user" : "supervisor"} ${access.write ? "write" : "read"}) gives ${show(mine)}; the MMU raised #PF error ${e.errorCode}`,
        );
    }
  });
}
