/**
 * The main program's story for `--design linux`: the boot told step by step
 * with the values the simulated machine really holds (head.S's tables,
 * bootmem handing over, the direct map, `__va` at work, the zones' free
 * counts, one process). The main program prints what {@link linuxStory}
 * returns.
 *
 * @module
 */
import { GFP, LinuxMmError } from "@mm386/allocation/linux";
import { CR4, createMachine, formatWalk, hex32, PAGE_SIZE, PTE } from "@mm386/hw-i386";
import { PAGING_ERROR, PagingError } from "../api.js";
import { memInit, pagingInit, setupMemory, startLinuxBoot } from "./boot.js";
import { PROT } from "./fault.js";
import { LinuxPaging } from "./paging.js";

/** Options of {@link linuxStory}. */
export interface LinuxStoryOptions {
  /** MiB of RAM of the machine booted (16 to 3840). Default 64. */
  readonly ramMiB?: number;
  /** Boot with 4 MiB pages for the direct map. Default false. */
  readonly pse?: boolean;
}

const MiB = 1024 * 1024;

/** The boot of Linux on i386 told as text, from a fresh machine to a first process. */
export function linuxStory(options: LinuxStoryOptions = {}): string {
  if (typeof options !== "object" || options === null)
    throw new PagingError(PAGING_ERROR.BAD_CONFIG, "story options must be an object");
  const ramMiB = options.ramMiB ?? 64;
  const pse = options.pse ?? false;
  if (!Number.isSafeInteger(ramMiB) || ramMiB < 16 || ramMiB > 3840)
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `RAM ${String(ramMiB)} MiB must be an integer from 16 to 3840`,
    );
  if (typeof pse !== "boolean")
    throw new PagingError(PAGING_ERROR.BAD_CONFIG, "pse must be a boolean");
  const out: string[] = [];
  const say = (...lines: string[]) => out.push(...lines);
  const machine = createMachine({ ramBytes: ramMiB * MiB });
  const { ram, mmu } = machine;

  say(
    `Linux on i386 (non-PAE), ${ramMiB} MiB of RAM, ${pse ? "4 MiB" : "4 KiB"} pages for the direct map`,
    "",
  );
  const ctx = startLinuxBoot(machine, { pse });
  const { head } = ctx;
  const pde = (r: number) => ram.read32(head.swapperPgDir + 4 * r);
  say(
    "1. head.S (paging off, physical writes)",
    `   kernel image at ${hex32(head.kernelStart)}; swapper_pg_dir = ${hex32(head.swapperPgDir)} (.org 0x1000)`,
    `   pg0 = ${hex32(head.pg0)}, pg1 = ${hex32(head.pg1)}: 2048 PTEs, page i -> i * 4096 | 0x007`,
    `   PDE[0] = ${hex32(pde(0))}  PDE[1] = ${hex32(pde(1))}     the identity map, so the next instruction runs`,
    `   PDE[768] = ${hex32(pde(768))}  PDE[769] = ${hex32(pde(769))} the same tables at PAGE_OFFSET`,
    `   CR3 = ${hex32(mmu.cr3)}, CR0.PG set: physical 0x7ff000 is now both 0x007ff000 and 0xc07ff000`,
    "",
  );

  setupMemory(ctx);
  const bm = ctx.bootmem!;
  say(
    "2. setup_memory: bootmem",
    `   e820 -> max_pfn = ${hex32(ctx.maxPfn)} (${(ctx.maxPfn * PAGE_SIZE) / MiB} MiB), max_low_pfn = min(max_pfn, MAXMEM 896 MiB) = ${hex32(ctx.maxLowPfn)}`,
    `   one bit per low page (${bm.bitmapBytes} bytes, right after the image); usable RAM freed, then page 0,`,
    `   the image [${hex32(head.kernelStart)}, ${hex32(head.kernelEnd)}) and the bitmap reserved: ${bm.freePages} pages free`,
    "",
  );

  pagingInit(ctx);
  const firstTable = pde(770);
  say(
    "3. paging_init -> pagetable_init -> kernel_physical_mapping_init",
    `   CR4 = ${hex32(mmu.cr4)} (${mmu.cr4 & CR4.PSE ? "PSE " : ""}${mmu.cr4 & CR4.PGE ? "PGE" : ""}): kernel pages are global`,
    pse
      ? `   every whole 4 MiB below max_low_pfn is one PDE: PDE[769] = ${hex32(pde(769))} (phys 0x00400000 | 0x1e3)`
      : `   pg0 and pg1 are kept; ${ctx.tablesFromBootmem} more page tables from alloc_bootmem_low_pages (first fit, zeroed):`,
    pse
      ? "   no page table at all for the direct map"
      : `   PDE[770] = ${hex32(firstTable)}: its table is the first free low page, written at __va = ${hex32(ctx.pageOffset + (firstTable & ~0xfff))}`,
    `   every page below max_low_pfn at PAGE_OFFSET + phys with PAGE_KERNEL (0x163 with G, A and D);`,
    `   fixrange_init and permanent_kmaps_init: ${ctx.kmapTables} more tables, for the fixmap (kmap_atomic slots)`,
    `   and the pkmap area at ${hex32(ctx.layout!.pkmapBase)} (1024 kmap slots), made now so every pgd shares them`,
    `   then load_cr3(swapper_pg_dir) and __flush_tlb_all (CR4.PGE toggled: the globals go too)`,
    `   bootmem now has ${bm.freePages} free pages; the zones exist but hold nothing yet`,
    "",
  );

  memInit(ctx);
  const l = new LinuxPaging(ctx);
  let retired = "";
  try {
    bm.allocBootmemLowPages(1);
  } catch (e) {
    retired = e instanceof LinuxMmError ? e.code : String(e);
  }
  const c = l.zones.freeCounts();
  say(
    "4. mem_init: bootmem hands over",
    `   free_all_bootmem: ${ctx.lowPagesFreed} low pages into DMA and NORMAL; bootmem retired (a later call: ${retired})`,
    `   set_highmem_pages_init: ${ctx.highPagesFreed} pages into HIGHMEM`,
    `   zap_low_mappings: PDE[0] = ${hex32(pde(0))}, a read of 0x00001000 now faults`,
    `   free pages: DMA ${c.DMA}, NORMAL ${c.NORMAL}, HIGHMEM ${c.HIGHMEM}`,
    "",
  );

  const phys = 0x0034_5678;
  ram.write32(phys, 0xfeed_beef);
  const va = l.va(phys);
  say(
    "5. __va at work: every low physical address has a kernel address for free",
    `   __va(${hex32(phys)}) = ${hex32(va)}; __pa(${hex32(va)}) = ${hex32(l.pa(va))}`,
    `   read32(${hex32(va)}) at CPL 0 = ${hex32(l.read32(va, 0))} (written physically at ${hex32(phys)})`,
    ...formatWalk(l.translate(va))
      .split("\n")
      .map((s) => `   ${s}`),
    "",
  );

  const mm = l.pgdAlloc()!;
  const frame = l.zones.allocPages(GFP.HIGHUSER, 0)!;
  const lowFrame = l.allocFrames(1)!;
  l.map(mm, 0x0804_8000, lowFrame, 1, PTE.P | PTE.RW | PTE.US);
  l.switchTo(mm);
  l.write32(0x0804_8000, 0x1234_5678, 3);
  const kernelSees = l.read32(l.va(lowFrame), 0);
  say(
    "6. a process",
    `   pgd_alloc: pgd at ${hex32(mm.pgd)} (phys ${hex32(mm.cr3)}): user PDEs cleared, kernel PDEs 768..1023 copied`,
    `   user page 0x08048000 -> frame ${hex32(lowFrame)}; the process writes 0x12345678 at CPL 3,`,
    `   the kernel reads ${hex32(kernelSees)} at __va(${hex32(lowFrame)}) = ${hex32(l.va(lowFrame))}: two mappings, one frame`,
    `   alloc_pages(GFP_HIGHUSER, 0) = ${hex32(frame)} (${l.zones.zoneOfPfn(frame / PAGE_SIZE)!.name}): ${
      frame >= ctx.maxLowPfn * PAGE_SIZE
        ? "highmem, no __va (kmap's job)"
        : "no highmem here, so NORMAL then DMA"
    }`,
    `   free pages now: ${Object.entries(l.zones.freeCounts())
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  l.mmap(mm, 0x1000_0000, 4 * PAGE_SIZE, PROT.READ | PROT.WRITE);
  const before = l.zones.freeCounts();
  const zeros = l.read32(0x1000_0000, 3);
  l.write32(0x1000_1000, 7, 3);
  l.write32(0x1000_0000, 8, 3);
  const after = l.zones.freeCounts();
  const taken = Object.keys(before)
    .map((k) => before[k as keyof typeof before] - after[k as keyof typeof after])
    .reduce((a, b) => a + b, 0);
  let segv = "";
  try {
    l.read32(0x2000_0000, 3);
  } catch (e) {
    segv = e instanceof Error ? e.message : String(e);
  }
  say(
    "",
    "7. demand paging",
    "   mmap(0x10000000, 4 pages, READ|WRITE): an area, nothing mapped",
    `   read 0x10000000 -> ${zeros}: a fault, the shared zero page mapped read-only`,
    "   write 0x10001000 -> a fault, a zeroed frame of its own (GFP_HIGHUSER)",
    "   write 0x10000000 -> a protection fault on the zero page: copy on write",
    `   ${l.stats.minorFaults} minor faults, ${l.stats.zeroPageMaps} zero-page map(s), ${l.stats.zeroPageCopies} zero-page copy; ${taken} page(s) taken from the zones (a table, the zero page, two frames)`,
    `   read 0x20000000 -> ${segv}`,
  );
  return out.join("\n");
}
