/**
 * The main program's `--design whitix` story: the recursive window at
 * work, the read-only kernel code, and VirtAllocateTemp.
 *
 * @module
 */
import { createMachine, CR0, hex32, PageFault, PDE, PTE, pteIndex } from "@mm386/hw-i386";
import { WHITIX } from "./api.js";
import { VirtMemManagerInit, windowPdeVa, windowPteVa } from "./whitix.js";

const MiB = 1024 * 1024;

/**
 * Boot Whitix on a 64 MiB machine and tell what it does, as text: the same
 * PTE read through 0xFFC00000 + (va >>> 12) * 4 and through the physical
 * page table, the directory at 0xFFFFF000, the write to the kernel's own
 * code that faults with error code 3, and another address space edited
 * through VirtAllocateTemp.
 */
export function whitixTour(): string {
  const out: string[] = [];
  const say = (s = "") => out.push(s);
  const m = createMachine({ ramBytes: 64 * MiB });
  const w = VirtMemManagerInit(m);
  const dir = w.reference.cr3;
  say("Whitix: the recursive page directory");
  say("====================================");
  say(
    `VirtMemManagerInit: kernel code ${hex32(w.kernelCode.start)}-${hex32(w.kernelCode.end - 1)} read-only, 0-8 MiB identity-mapped (two tables),`,
  );
  say(
    `kernel directory at ${hex32(dir)}, PDE 1023 = ${hex32(m.ram.read32(dir + 4 * 1023))} (itself), CR0.WP set, paging on.`,
  );
  say();

  say("1. The window at work");
  const va = w.VirtMapPhysRange(WHITIX.HEAP_START, WHITIX.HEAP_END, 1, PTE.P | PTE.RW)!;
  w.write32(va, 0x1234_5678, 0);
  const pteVa = windowPteVa(va);
  say(`   VirtMapPhysRange(0xC0000000, 0xD0000000, 1, P|RW) = ${hex32(va)}`);
  say(`   its PTE through the window: 0xFFC00000 + (${hex32(va)} >>> 12) * 4 = ${hex32(pteVa)}`);
  const throughWindow = w.read32(pteVa, 0);
  say(`     mmu.read32(${hex32(pteVa)}) = ${hex32(throughWindow)}`);
  const pde = m.ram.read32(dir + 4 * (va >>> 22));
  const table = (pde & 0xffff_f000) >>> 0;
  const pteAddr = table + 4 * pteIndex(va);
  const physically = m.ram.read32(pteAddr);
  say(
    `   the same PTE physically: PDE ${va >>> 22} -> table ${hex32(table)}, entry ${pteIndex(va)} at ${hex32(pteAddr)}`,
  );
  say(
    `     ram.read32(${hex32(pteAddr)}) = ${hex32(physically)}  ${throughWindow === physically ? "(the same word)" : "(DIFFERENT!)"}`,
  );
  const pdeVa = windowPdeVa(va);
  say(
    `   its PDE through 0xFFFFF000 + ${va >>> 22} * 4 = ${hex32(pdeVa)}: ${hex32(w.read32(pdeVa, 0))}`,
  );
  say(
    `   and 0xFFFFFFFC is PDE 1023: ${hex32(w.read32(0xffff_fffc, 0))} -> the directory ${hex32(dir)} again`,
  );
  say(
    `   the frame behind ${hex32(va)} holds ${hex32(m.ram.read32((physically & 0xffff_f000) >>> 0))}, written through ${hex32(va)}`,
  );
  say();

  say("2. The kernel's code is read-only, for the kernel too (CR0.WP)");
  say(
    `   CR0.WP = ${(m.mmu.cr0 & CR0.WP) !== 0 ? 1 : 0}; the PTE of ${hex32(w.kernelCode.start)} = ${hex32(m.mmu.read32(windowPteVa(w.kernelCode.start)))} (no R/W)`,
  );
  try {
    w.write32(w.kernelCode.start, 0x90, 0);
    say("   a kernel write to its own code went through (WRONG)");
  } catch (e) {
    if (!(e instanceof PageFault)) throw e;
    say(`   write32(${hex32(w.kernelCode.start)}, 0x90, CPL 0) -> ${e.message}`);
    say("   error code 3 = present (1) + write (2), from the kernel (no 4): a protection fault");
  }
  say();

  say("3. Another address space, edited through VirtAllocateTemp");
  const other = w.createAddressSpace()!;
  const frame = w.allocFrames(1)!;
  m.ram.write32(frame, 0xcafe);
  const user = 0x0804_8000;
  w.map(other, user, frame, 1, PTE.P | PTE.RW | PTE.US);
  say(
    `   new address space, directory ${hex32(other.cr3)}; the kernel directory is still current (CR3 = ${hex32(m.mmu.cr3)})`,
  );
  say(
    `   map(other, ${hex32(user)} -> ${hex32(frame)}): its new table was zeroed and its PDE written through temp slots at ${hex32(WHITIX.TEMP_BASE)}..`,
  );
  const here = (m.mmu.read32(windowPdeVa(user)) & PDE.P) !== 0;
  say(
    `   the window shows only the current space: PDE of ${hex32(user)} at ${hex32(windowPdeVa(user))} is ${here ? "present (WRONG)" : "not present here"}`,
  );
  const t = w.VirtAllocateTemp(other.cr3)!;
  const otherPde = m.mmu.read32(t + 4 * (user >>> 22));
  w.VirtFreeTemp(t);
  say(
    `   VirtAllocateTemp(${hex32(other.cr3)}) = ${hex32(t)}: its PDE ${user >>> 22} = ${hex32(otherPde)}; VirtFreeTemp clears the slot and invlpg's it`,
  );
  w.VirtSetCurrent(other);
  say(
    `   VirtSetCurrent(other): now ${hex32(windowPteVa(user))} is its PTE: ${hex32(w.read32(windowPteVa(user), 0))}, and ${hex32(user)} reads ${hex32(w.read32(user, 3))} at CPL 3`,
  );
  say(
    "   cost: a temp mapping is a PTE write and an invlpg to make and again to drop, and a TLB miss on first use;",
  );
  say("   the window itself costs the top 4 MiB of every address space.");
  return out.join("\n");
}
