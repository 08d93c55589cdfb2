/**
 * A guided tour of `@mm386/hw-i386`, the main program until the workbook's
 * full tour exists: page tables built by hand, paging switched on, one
 * translation explained, a TLB miss then a hit, a stale entry after a PTE
 * edit, invlpg fixing it, and two page faults with their error codes.
 *
 * Everything printed is read back from the simulated machine; nothing is
 * hard-coded except the story.
 *
 * @module
 */
import {
  CR0,
  type Machine,
  type MmuEvent,
  PageFault,
  PDE,
  PTE,
  createMachine,
  describeErrorCode,
  explainAddress,
  formatWalk,
  hex32,
  pdeFlags,
  pteFlags,
} from "@mm386/hw-i386";
import pc from "picocolors";

/** Colour functions used by the tour (plain strings when colour is off). */
export interface TourStyle {
  /** The tour's title. */
  readonly title: (s: string) => string;
  /** Section headings. */
  readonly head: (s: string) => string;
  /** Numbers and commands. */
  readonly code: (s: string) => string;
  /** Things going right (a hit, the fix). */
  readonly good: (s: string) => string;
  /** Things going wrong (a miss, a fault, a stale value). */
  readonly bad: (s: string) => string;
  /** Asides. */
  readonly dim: (s: string) => string;
}

/** Colours when the terminal supports them (picocolors decides), plain otherwise. */
export function defaultStyle(color = pc.isColorSupported): TourStyle {
  const c = pc.createColors(color);
  return {
    title: (s) => c.bold(c.cyan(s)),
    head: (s) => c.bold(s),
    code: (s) => c.yellow(s),
    good: (s) => c.green(s),
    bad: (s) => c.red(s),
    dim: (s) => c.dim(s),
  };
}

/** What the tour observed, for tests and for anyone scripting it. */
export interface TourResult {
  /** The machine the tour ran on, in its final state. */
  readonly machine: Machine;
  /** Value read through the kernel mapping before the PTE edit. */
  readonly before: number;
  /** Value read after the PTE edit, before invlpg (stale). */
  readonly stale: number;
  /** Value read after invlpg. */
  readonly after: number;
  /** The two faults provoked at the end. */
  readonly faults: readonly PageFault[];
}

/** The four bytes of a little-endian word as text, e.g. `"krnl"`. */
function ascii(word: number): string {
  const bytes = [0, 8, 16, 24].map((shift) => (word >>> shift) & 0xff);
  return `"${bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("")}"`;
}

const PD = 0x0000_1000; // page directory
const PT_KERNEL = 0x0000_2000; // page table for 0xC0000000-0xC03FFFFF
const PT_USER = 0x0000_3000; // page table for 0x00400000-0x007FFFFF
const KERNEL_VA = 0xc000_0000;
const KERNEL_PA = 0x0010_0000;
const OTHER_PA = 0x0020_0000;
const USER_VA = 0x0040_0000;
const USER_PA = 0x0030_0000;

/**
 * The one flag notation of the tour (hw-i386's pdeFlags/pteFlags), with its
 * legend; paging's dumps write S where US is clear.
 */
export const FLAG_LEGEND =
  "P present, RW writable (absent: read-only), US user (absent: supervisor only, S in the dumps), A accessed, D dirty, PS 4 MiB page, G global";

/** Run the tour, writing lines with `write`. */
export function runHwTour(
  write: (line: string) => void,
  style: TourStyle = defaultStyle(),
): TourResult {
  const s = style;
  const say = (line = "") => write(line);
  const step = (n: number, text: string) => {
    say();
    say(s.head(`${n}. ${text}`));
  };

  const machine = createMachine({ ramBytes: 16 * 1024 * 1024 });
  const { ram, mmu } = machine;

  say(s.title("mm386 · a tour of the simulated i386 (hw-i386)"));
  say(s.dim("Every number below is read back from the simulated machine."));

  step(1, "A machine with paging off");
  say(
    `This chapter's machine: 16 MiB of RAM, an unbounded TLB, built by hand (no kernel yet). CR0 = ${s.code(hex32(mmu.cr0))}: paging is off, so every address is physical.`,
  );
  // Markers: four ASCII letters each, so that a reader can tell frames apart.
  ram.write32(KERNEL_PA, 0x6c6e_726b); // "krnl"
  ram.write32(OTHER_PA, 0x7765_6e21); // "!new"
  ram.write32(USER_PA, 0x7265_7375); // "user"
  const marker = mmu.read32(KERNEL_PA);
  say(
    `Boot code stores a marker at physical ${s.code(hex32(KERNEL_PA))}: ${s.code(hex32(marker))} ${s.dim(ascii(marker))}.`,
  );

  step(2, "Page tables, built by hand before paging is on");
  const kernelPde = (PT_KERNEL | PDE.P | PDE.RW) >>> 0;
  const userPde = (PT_USER | PDE.P | PDE.RW | PDE.US) >>> 0;
  const kernelPte = (KERNEL_PA | PTE.P | PTE.RW) >>> 0;
  const userPte = (USER_PA | PTE.P | PTE.RW | PTE.US) >>> 0;
  const kernelDir = KERNEL_VA >>> 22;
  const userDir = USER_VA >>> 22;
  ram.write32(PD + 4 * kernelDir, kernelPde);
  ram.write32(PD + 4 * userDir, userPde);
  ram.write32(PT_KERNEL, kernelPte);
  ram.write32(PT_USER, userPte);
  say(`page directory at ${s.code(hex32(PD))}, 1024 entries; linear bits 31:22 pick one:`);
  say(
    `  PDE ${kernelDir} (${hex32(KERNEL_VA)}) = ${s.code(hex32(kernelPde))}  ${s.dim(pdeFlags(kernelPde))}  -> page table ${hex32(PT_KERNEL)}`,
  );
  say(
    `  PDE ${userDir}   (${hex32(USER_VA)}) = ${s.code(hex32(userPde))}  ${s.dim(pdeFlags(userPde))}  -> page table ${hex32(PT_USER)}`,
  );
  say(s.dim(`  flags, here and in every chapter: ${FLAG_LEGEND}`));
  say(`linear bits 21:12 pick the PTE:`);
  say(
    `  PTE 0 of ${hex32(PT_KERNEL)} = ${s.code(hex32(kernelPte))}  ${s.dim(pteFlags(kernelPte))}  -> frame ${hex32(KERNEL_PA)} (supervisor only)`,
  );
  say(
    `  PTE 0 of ${hex32(PT_USER)} = ${s.code(hex32(userPte))}  ${s.dim(pteFlags(userPte))}  -> frame ${hex32(USER_PA)} (user)`,
  );

  step(3, "Paging on: load CR3, set CR0.PG");
  mmu.loadCr3(PD);
  mmu.loadCr0(CR0.PE | CR0.PG);
  say(
    `CR3 = ${s.code(hex32(mmu.cr3))}, CR0 = ${s.code(hex32(mmu.cr0))} (PE and PG set). From now on addresses are linear.`,
  );

  step(4, `Translating ${hex32(KERNEL_VA + 0x123)}, as the walk sees it`);
  for (const line of formatWalk(explainAddress(mmu, KERNEL_VA + 0x123)).split("\n"))
    say(`  ${line}`);

  step(5, "The TLB: a miss walks the tables, a hit does not");
  const events: string[] = [];
  const show = (e: MmuEvent): string => {
    switch (e.type) {
      case "tlb-hit":
        return s.good(`tlb-hit  ${hex32(e.va)}`);
      case "tlb-miss":
        return s.bad(`tlb-miss ${hex32(e.va)}`);
      case "walk":
        return `walk     PDE@${hex32(e.pdeAddr)}=${hex32(e.pde)}${e.pteAddr === null ? "" : ` PTE@${hex32(e.pteAddr)}=${hex32(e.pte ?? 0)}`} -> ${e.pa === null ? "no translation" : hex32(e.pa)}`;
      case "ad-update":
        return `set A/D  ${e.level.toUpperCase()} @${hex32(e.entryAddr)}: ${hex32(e.before)} -> ${hex32(e.after)}`;
      case "fault":
        return s.bad(`#PF      ${hex32(e.va)} error ${e.errorCode}`);
      case "flush":
        return `flush    (${e.reason}) dropped ${e.dropped}`;
    }
  };
  const stop = mmu.subscribe((e) => events.push(show(e)));
  const before = mmu.read32(KERNEL_VA);
  say(`first read32(${hex32(KERNEL_VA)}) = ${s.code(hex32(before))} ${s.dim(ascii(before))}:`);
  for (const e of events.splice(0)) say(`  ${e}`);
  mmu.read32(KERNEL_VA + 4);
  say(`second read32(${hex32(KERNEL_VA + 4)}), same page:`);
  for (const e of events.splice(0)) say(`  ${e}`);
  stop();
  const st = mmu.stats;
  say(
    `counters: ${st.tlbHits} hit, ${st.tlbMisses} miss, ${st.walks} walk. The walk also set the accessed bits.`,
  );

  step(6, "A stale TLB entry: edit the PTE, forget invlpg");
  const newPte = (OTHER_PA | PTE.P | PTE.RW) >>> 0;
  ram.write32(PT_KERNEL, newPte);
  say(
    `PTE 0 now says frame ${s.code(hex32(OTHER_PA))}, which holds ${ascii(ram.read32(OTHER_PA))}.`,
  );
  const stale = mmu.read32(KERNEL_VA);
  say(
    `read32(${hex32(KERNEL_VA)}) = ${s.code(hex32(stale))} ${ascii(stale)}  ${s.bad("<- still the old frame: the TLB is not coherent with memory")}`,
  );
  mmu.invlpg(KERNEL_VA);
  const after = mmu.read32(KERNEL_VA);
  say(
    `after invlpg(${hex32(KERNEL_VA)}): read32 = ${s.code(hex32(after))} ${ascii(after)}  ${s.good("<- the new frame")}`,
  );
  say(s.dim("A kernel that edits a live mapping must invlpg it (or reload CR3)."));

  step(7, "Page faults");
  const faults: PageFault[] = [];
  const attempt = (what: string, f: () => number | void) => {
    try {
      const v = f();
      say(
        `${what}: ${s.good("allowed")}${typeof v === "number" ? ` = ${hex32(v)} ${ascii(v)}` : ""}`,
      );
    } catch (e) {
      if (!(e instanceof PageFault)) throw e;
      faults.push(e);
      say(
        `${what}: ${s.bad(`#PF, error code ${e.errorCode}`)} = ${describeErrorCode(e.errorCode)}; CR2 = ${s.code(hex32(mmu.cr2))}`,
      );
    }
  };
  attempt(`user (CPL 3) read32(${hex32(USER_VA)}), U/S set at both levels`, () =>
    mmu.read32(USER_VA, 3),
  );
  attempt(`user (CPL 3) write32(${hex32(KERNEL_VA)}), a supervisor page`, () =>
    mmu.write32(KERNEL_VA, 1, 3),
  );
  attempt(`kernel read32(${hex32(0x0080_0000)}), no page table there`, () =>
    mmu.read32(0x0080_0000),
  );
  say(s.dim("error code bits: 0 = protection (1) or not present (0), 1 = write, 2 = user mode."));

  say();
  say(s.head("Where next"));
  say(
    `  replay a JSON case step by step:  ${s.code("npx -y pnpm@12.21.0 --silent mmu-replay packages/hw-i386/test/fixtures/replay/basic.json")}`,
  );
  say(
    `  read the layer's guide:           ${s.code("packages/hw-i386/README.md")} and ${s.code("docs/architecture.md")}`,
  );
  return { machine, before, stale, after, faults };
}
