/**
 * Exercise 6: mapMem with vpde bookkeeping and the shared kernel half.
 * Read README.md first. `k` is a MapMemContext: k.mmu (read32, write32,
 * invlpg), k.split, k.userPdes, k.current, k.pagedirs(), k.userTable(pd, r) /
 * k.setUserTable(pd, r, va) (vpde), k.kernelTable(r) / k.setKernelTable(r, va)
 * (kvpd), k.allocFrame(), k.allocKernelPage(), k.allocTablePage(),
 * k.kernelPhysOf(va), k.kernelTablePhys(r), k.window(phys), k.mapMem(...),
 * and, given: k.kernelPteVa(r, index) (a kernel PTE's address, through the
 * window if need be) and k.freeUserTable(pd, r) (for the out-of-memory rollback).
 */
import { PAGE_SIZE as PAGE, PDE, PTE } from "@mm386/hw-i386";
import type { MapMemContext, Pagedir } from "@mm386/paging";
import type { MapMemExercise } from "../../src/exercise-api.js";

/** A new, zeroed user page table for region r of pd; false when out of memory. */
function createUserTable(k: MapMemContext, pd: Pagedir, r: number): boolean {
  // TODO: allocTablePage, zero it, PDE in pd (P|RW|US), setUserTable.
  void [k, pd, r, PDE];
  return false;
}

/** A new, zeroed kernel page table for region r, in EVERY pagedir; false when out of frames. */
function createKernelTable(k: MapMemContext, r: number): boolean {
  // TODO: allocFrame, zero it through the window, PDE in every pagedir, then setKernelTable.
  void [k, r];
  return false;
}

export const mapMem: MapMemExercise["mapMem"] = {
  name: "student mapMem",
  map(k, pd, phys, virt, nPages, flags) {
    const kernel = virt >= k.split;
    const present = (flags & PTE.P) !== 0;
    // TODO 1: when mapping, make the missing tables of every region the range touches
    //         (and on failure give back the user tables made here, and return false).
    // TODO 2: write each PTE through its kernel VA; invlpg where an old present entry is visible.
    void [pd, phys, nPages, kernel, present, createUserTable, createKernelTable, PAGE];
    return false;
  },
};
