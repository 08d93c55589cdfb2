/**
 * The second chapter of the guided tour: the hobby kernel's paging on a
 * fresh machine. Boot, createInitPagedir, mapMem into two address spaces,
 * their dumps, one address explained, and the isolation between them.
 *
 * @module
 */
import { BuddyRangeAllocator, PageRangeAllocator, type PageRanges } from "@mm386/allocation";
import { hex32, PageFault } from "@mm386/hw-i386";
import { type Stack, createStack } from "@mm386/malloc";
import { type Paging, PTE_PRESENT, PTE_USER, PTE_WRITE } from "@mm386/paging";
import { defaultStyle, type TourStyle } from "./hw-tour.js";

/** What the paging chapter observed, for tests. */
export interface PagingTourResult {
  /** The stack it ran on (built with createStack). */
  readonly stack: Stack;
  /** The paging state it ran on. */
  readonly paging: Paging;
  /** Error code of the low-address read after createInitPagedir. */
  readonly lowFault: number;
  /** Values read at 0x00400000 in address space A and B. */
  readonly reads: readonly [number, number];
  /** Error code of address space B's user read of A-only address 0x00800000. */
  readonly isolationFault: number;
}

/** Run the paging chapter, writing lines with `write`. */
export function runPagingTour(
  write: (line: string) => void,
  style: TourStyle = defaultStyle(),
): PagingTourResult {
  const s = style;
  const say = (line = "") => write(line);
  const step = (n: number, text: string) => {
    say();
    say(s.head(`${n}. ${text}`));
  };
  const faultCode = (f: () => unknown): number => {
    try {
      f();
    } catch (e) {
      if (e instanceof PageFault) return e.errorCode;
      throw e;
    }
    return -1;
  };

  say(s.title("mm386 · the hobby kernel's paging (@mm386/paging)"));
  const ramBytes = 32 * 1024 * 1024;
  const stack = createStack({ ramBytes });
  const { machine: m, paging, allocators } = stack;
  say(
    s.dim(
      `Chapters 8 to 12 run on a new machine: ${ramBytes / 1024 / 1024} MiB of RAM (chapters 1 to 7 had 16), the whole default stack (createStack), split at ${hex32(paging.split)}.`,
    ),
  );

  step(8, "Boot and the first pagedir");
  say(
    `boot built two page tables: the first 4 MiB 1:1 (PDE 0), and the kernel, loaded at physical 0x00100000, at ${hex32(paging.split)} (PDE ${paging.userPdes}).`,
  );
  say(
    `createInitPagedir: pagedir at ${s.code(hex32(paging.init.phys))} (CR3), kernel address ${s.code(hex32(paging.init.virt))};`,
  );
  say(`kvpd[0] = ${hex32(paging.kvpd[0]!)} is the boot table's kernel address; PDE 0 is gone, so:`);
  const lowFault = faultCode(() => m.mmu.read32(0x0010_0000));
  say(
    `  read32(0x00100000) at CPL 0: ${s.bad(`#PF error ${lowFault}`)}; the kernel is at ${hex32(paging.split)} now.`,
  );
  say(
    `ppalloc has ${allocators.physical.freePages} free pages (the first MiB, the kernel and the boot frames are reserved).`,
  );

  step(9, "Two address spaces, one kernel half");
  const a = paging.createAddressSpace()!;
  const b = paging.createAddressSpace()!;
  say(
    "ppalloc(min, max) hands out between min and max CONSECUTIVE frames, as many as one free run allows, or null;",
  );
  say(
    "ppalloc(3, 3) asks for exactly 3. Its buddy free lists (oK:n = n free blocks of 2^K frames), before and after:",
  );
  say(s.dim(`  before: ${freeLists(allocators.physical)}`));
  const frames = allocators.ppalloc(3, 3)!;
  say(s.dim(`  after:  ${freeLists(allocators.physical)}`));
  say(
    `  ppalloc(3, 3) = ${s.code(hex32(frames.start))}: a block of 4 frames split off the smallest free block big enough, and its unused 4th frame went straight back (order 0).`,
  );
  const f0 = frames.start;
  m.ram.write32(f0, 0xaaaa_0001);
  m.ram.write32(f0 + 4096, 0xbbbb_0002);
  m.ram.write32(f0 + 8192, 0xcccc_0003);
  const user = PTE_PRESENT | PTE_WRITE | PTE_USER;
  paging.mapMem(a, f0, 0x0040_0000, 1, user);
  paging.mapMem(a, f0 + 8192, 0x0080_0000, 1, user);
  paging.mapMem(b, f0 + 4096, 0x0040_0000, 1, user);
  say(
    `A = pagedir ${hex32(a.phys)}, B = pagedir ${hex32(b.phys)}; both got their tables on demand:`,
  );
  say(
    `  A.vpde[1] = ${hex32(a.vpde[1]!)}, A.vpde[2] = ${hex32(a.vpde[2]!)}, B.vpde[1] = ${hex32(b.vpde[1]!)} (kernel addresses of the tables)`,
  );
  say(
    s.dim(
      "mapMem wrote both tables through those addresses while the first pagedir was still in CR3: no CR3 load.",
    ),
  );
  say(
    s.dim(
      `vpde[r] is indexed by the PDE number r (the user half, 0..${paging.userPdes - 1}); kvpd[i] counts from the split: kvpd[i] is PDE ${paging.userPdes} + i.`,
    ),
  );
  paging.switchTo(a);
  const ra = m.mmu.read32(0x0040_0000, 3);
  paging.switchTo(b);
  const rb = m.mmu.read32(0x0040_0000, 3);
  say(
    `read32(0x00400000) from user mode: in A ${s.code(hex32(ra))}, in B ${s.code(hex32(rb))}: same address, different frames.`,
  );
  const isolationFault = faultCode(() => m.mmu.read32(0x0080_0000, 3));
  say(
    `in B, read32(0x00800000) (mapped only in A): ${s.bad(`#PF error ${isolationFault}`)} (not present, user).`,
  );
  say(
    `in B, read32(${hex32(paging.split)}) from user mode: ${s.bad(`#PF error ${faultCode(() => m.mmu.read32(paging.split, 3))}`)} (protection, user).`,
  );

  step(10, "Inspection");
  say("A's mappings, coalesced (the kernel half is the same in every address space):");
  for (const line of paging.formatDump(a).split("\n")) say(`  ${line}`);
  say("one address, as the walk sees it:");
  for (const line of paging.explain(0x0080_0123, a).split("\n")) say(`  ${line}`);
  return { stack, paging, lowFault, reads: [ra, rb], isolationFault };
}

/** The non-empty buddy free lists of a page allocator, one `order k: n block(s)` each. */
export function freeLists(pages: PageRanges): string {
  const ranges = pages instanceof PageRangeAllocator ? pages.ranges : null;
  if (!(ranges instanceof BuddyRangeAllocator)) return "(not a buddy allocator)";
  return ranges.buddy
    .freeLists()
    .map((list, k) => (list.length === 0 ? "" : `o${k}:${list.length}`))
    .filter(Boolean)
    .join(" ");
}
