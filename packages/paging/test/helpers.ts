/**
 * Helpers shared by paging's tests of the Whitix and Linux designs: a hand
 * walk in physical memory (the independent view of what a design wrote), the
 * flushes a call makes, and the segmentation fault a user access raises.
 */
import type { Machine, MmuEvent } from "@mm386/hw-i386";
import { SegmentationFault } from "../src/linux/index.js";

/** The PTE of `va` in the directory at `cr3`, walked by hand in physical memory; null without a table. */
export function physPte(m: Machine, cr3: number, va: number): number | null {
  const pde = m.ram.read32(cr3 + 4 * (va >>> 22));
  if ((pde & 1) === 0) return null; // PDE.P
  return m.ram.read32(((pde & 0xffff_f000) >>> 0) + 4 * ((va >>> 12) & 1023));
}

/** The invlpg addresses and the number of CR3 loads while `f` runs. */
export function flushes(m: Machine, f: () => void): { invlpg: number[]; cr3: number } {
  const invlpg: number[] = [];
  let cr3 = 0;
  const stop = m.mmu.subscribe((e: MmuEvent) => {
    if (e.type === "flush" && e.reason === "invlpg") invlpg.push(e.va!);
    if (e.type === "flush" && e.reason === "cr3") cr3++;
  });
  try {
    f();
  } finally {
    stop();
  }
  return { invlpg, cr3 };
}

/** The SegmentationFault `f` raises; anything else is re-thrown, and returning fails. */
export function segv(f: () => unknown): SegmentationFault {
  try {
    f();
  } catch (e) {
    if (e instanceof SegmentationFault) return e;
    throw e;
  }
  throw new Error("expected a segmentation fault");
}
