/**
 * Exercise 1: the page walk. Read README.md first.
 *
 * Translate `va` for `access` through the page tables at CR3, reading
 * physical memory with `read`. Return `{ ok: true, pa, large }` or
 * `{ ok: false, errorCode }`. Change nothing (no A/D bits: the MMU does that).
 */
import type { PageWalkExercise } from "../../src/exercise-api.js";

// Entry bits (Intel SDM vol. 3A, tables 4-5 and 4-6).
const P = 0x001; // present
const RW = 0x002; // writable
const US = 0x004; // user
const PS = 0x080; // in a PDE with CR4.PSE=1: a 4 MiB page
// Error code bits (SDM §4.7).
const PF_P = 1;
const PF_W = 2;
const PF_U = 4;
const PF_RSVD = 8;
// Control register bits.
const CR0_WP = 0x0001_0000;
const CR4_PSE = 0x0000_0010;

export const walk: PageWalkExercise["walk"] = (read, regs, va, access) => {
  // TODO 1: the PDE: index va >>> 22 into the directory at CR3.
  // TODO 2: not present -> fault.
  // TODO 3: CR4.PSE and PDE.PS -> a 4 MiB page (mind the reserved bits 21:13).
  // TODO 4: otherwise the PTE, then permissions over both levels (CR0.WP for supervisor writes).
  void [read, regs, va, access, P, RW, US, PS, PF_P, PF_W, PF_U, PF_RSVD, CR0_WP, CR4_PSE];
  throw new Error("exercise 1: walk is not written yet");
};
