/**
 * Booting Linux on i386, step by step, as arch/i386 does it:
 *
 * ```
 *  headS                  physical, paging off: swapper_pg_dir at 0x00101000,
 *                         pg0/pg1 map 8 MiB at 0 and at PAGE_OFFSET; CR3, CR0.PG
 *  setupMemory            e820 -> max_pfn, max_low_pfn; bootmem over low memory,
 *                         usable RAM freed, page 0 / image / bitmap reserved
 *  pagingInit             pagetableInit -> kernelPhysicalMappingInit (rewrites
 *                         swapper_pg_dir in place, tables from bootmem, through
 *                         __va), fixrangeInit, permanentKmapsInit (the fixmap's
 *                         and pkmap's tables), loadCr3(swapper_pg_dir), __flush_tlb_all; zones
 *  memInit                freeAllBootmem (low pages -> DMA, NORMAL; bootmem
 *                         retired), setHighmemPagesInit, zapLowMappings
 * ```
 *
 * {@link bootLinux} runs them all; the steps are exported for the story, the
 * workbook and tests that look between them.
 *
 * @module
 */
import {
  Bootmem,
  findMaxPfn,
  LINUX_ERROR,
  LinuxMmError,
  usableRegions,
  Zones,
} from "@mm386/allocation/linux";
import { describeValue } from "@mm386/allocation";
import {
  CR0,
  CR4,
  ENTRIES_PER_TABLE,
  hex32,
  LARGE_PAGE_SIZE,
  type Machine,
  PAGE_SIZE,
  PDE,
  PTE,
} from "@mm386/hw-i386";
import { checkFaultHandler, type UserFaultHandler } from "./fault.js";
import { LINUX_FLAGS, LINUX_LAYOUT, type LinuxLayout, linuxLayout, maxmemFor } from "./layout.js";

/** Options of {@link bootLinux}. */
export interface LinuxBootOptions {
  /** PAGE_OFFSET, "depending on the split": a multiple of 4 MiB in [0x40000000, 0xE0000000]. Default 0xC0000000. */
  readonly pageOffset?: number;
  /** Map low memory with 4 MiB pages (`cpu_has_pse`). Default false: 4 KiB pages. */
  readonly pse?: boolean;
  /** Mark kernel mappings global and turn CR4.PGE on (`cpu_has_pge`). Default true. */
  readonly pge?: boolean;
  /** Size of the kernel image at 1 MiB, head.S's tables included; 16 KiB to 4 MiB. Default 1 MiB. */
  readonly kernelSize?: number;
  /** How user-range page faults are resolved. Default {@link linuxUserFault}. */
  readonly faultHandler?: UserFaultHandler;
  /**
   * CONFIG_HIGHPTE: user page tables from highmem (GFP_HIGHUSER), edited
   * through `kmapAtomic(KM_PTE0)`. Default true; it only changes anything
   * when there is highmem (RAM above 896 MiB with the default split).
   */
  readonly highpte?: boolean;
}

/** What head.S left: where its tables are. */
export interface HeadInfo {
  /** Physical address of swapper_pg_dir (image + 0x1000). */
  readonly swapperPgDir: number;
  /** Physical address of pg0 (maps physical 0-4 MiB). */
  readonly pg0: number;
  /** Physical address of pg1 (maps physical 4-8 MiB). */
  readonly pg1: number;
  /** The kernel image: `[kernelStart, kernelEnd)`, physical. */
  readonly kernelStart: number;
  /** One past the image's last byte. */
  readonly kernelEnd: number;
}

/** The boot's state, handed from step to step. */
export interface LinuxBootContext {
  /** The machine booted. */
  readonly machine: Machine;
  /** PAGE_OFFSET. */
  readonly pageOffset: number;
  /** 4 MiB pages for the direct map. */
  readonly pse: boolean;
  /** Global kernel pages. */
  readonly pge: boolean;
  /** What head.S made. */
  readonly head: HeadInfo;
  /** One past the last page of RAM. */
  maxPfn: number;
  /** One past the last page of low (direct-mapped) memory. */
  maxLowPfn: number;
  /** The addresses that follow from PAGE_OFFSET and max_low_pfn. */
  layout: LinuxLayout | null;
  /** The boot allocator. */
  bootmem: Bootmem | null;
  /** The zones (from pagingInit on). */
  zones: Zones | null;
  /** Page tables bootmem gave kernelPhysicalMappingInit. */
  tablesFromBootmem: number;
  /** Page tables bootmem gave fixrangeInit and permanentKmapsInit (the fixmap's and pkmap's). */
  kmapTables: number;
  /** `pkmap_page_table`: kernel virtual address of the pkmap area's page table (0 before permanentKmapsInit). */
  pkmapPageTable: number;
  /** `kmap_pte`'s table: kernel virtual address of the fixmap's page table (0 before fixrangeInit). */
  fixmapPageTable: number;
  /** Pages freeAllBootmem handed to the zones. */
  lowPagesFreed: number;
  /** Pages setHighmemPagesInit freed into HIGHMEM. */
  highPagesFreed: number;
  /** The user fault handler the design will use (null: the default). */
  readonly faultHandler: UserFaultHandler | null;
  /** CONFIG_HIGHPTE as asked (in effect only with highmem). */
  readonly highpte: boolean;
}

/** An address in hex when it is one, else the value named as what it is. */
export function show(v: unknown): string {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? hex32(v) : describeValue(v);
}

function bad(message: string): never {
  throw new LinuxMmError(LINUX_ERROR.BAD_CONFIG, message);
}

/** {@link LinuxBootOptions} checked, with every default filled in. */
export interface CheckedLinuxBootOptions extends Required<Omit<LinuxBootOptions, "faultHandler">> {
  /** The user fault handler asked for, or null for the default. */
  readonly faultHandler: UserFaultHandler | null;
}

/** Check `options` and fill in the defaults (only undefined means the default). */
export function checkLinuxBootOptions(options: LinuxBootOptions): CheckedLinuxBootOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    bad(`boot options ${describeValue(options)} are not an object`);
  const known = ["pageOffset", "pse", "pge", "kernelSize", "faultHandler", "highpte"];
  for (const k of Object.keys(options))
    if (!known.includes(k))
      bad(`unknown boot option ${JSON.stringify(k)} (known: ${known.join(", ")})`);
  const pageOffset =
    options.pageOffset === undefined ? LINUX_LAYOUT.PAGE_OFFSET : options.pageOffset;
  const pse = options.pse === undefined ? false : options.pse;
  const pge = options.pge === undefined ? true : options.pge;
  const kernelSize = options.kernelSize === undefined ? 0x10_0000 : options.kernelSize;
  const highpte = options.highpte === undefined ? true : options.highpte;
  if (
    !Number.isSafeInteger(pageOffset) ||
    pageOffset % LARGE_PAGE_SIZE !== 0 ||
    pageOffset < 0x4000_0000 ||
    pageOffset > 0xe000_0000
  )
    bad(`PAGE_OFFSET ${show(pageOffset)} must be a multiple of 4 MiB in [0x40000000, 0xe0000000]`);
  if (typeof pse !== "boolean") bad(`pse ${describeValue(pse)} is not a boolean`);
  if (typeof pge !== "boolean") bad(`pge ${describeValue(pge)} is not a boolean`);
  if (typeof highpte !== "boolean") bad(`highpte ${describeValue(highpte)} is not a boolean`);
  if (!Number.isSafeInteger(kernelSize) || kernelSize < 0x4000 || kernelSize > LARGE_PAGE_SIZE)
    bad(
      `kernel size ${show(kernelSize)} must be an integer in [0x4000, 0x400000] (head.S's tables live in it)`,
    );
  // Only undefined means the default: null is refused like any other non-handler.
  const faultHandler = options.faultHandler === undefined ? null : options.faultHandler;
  if (options.faultHandler !== undefined) checkFaultHandler(options.faultHandler);
  return { pageOffset, pse, pge, kernelSize, faultHandler, highpte };
}

/**
 * head.S, with paging off: clear swapper_pg_dir, pg0 and pg1 physically;
 * fill pg0/pg1 with the first 8 MiB (0x007: present, writable, user, as
 * head.S does); point PDEs 0-1 (identity, so the next instruction still
 * runs) and the two PDEs at PAGE_OFFSET at them (0x067); load CR3 and set
 * CR0.PG. This is the one place that writes page tables physically.
 */
export function headS(machine: Machine, pageOffset: number, kernelSize: number): HeadInfo {
  const { ram, mmu } = machine;
  const kernelStart = LINUX_LAYOUT.KERNEL_LOAD;
  const swapperPgDir = kernelStart + LINUX_LAYOUT.SWAPPER_PG_DIR_OFFSET;
  const pg0 = swapperPgDir + PAGE_SIZE;
  const pg1 = pg0 + PAGE_SIZE;
  for (const t of [swapperPgDir, pg0, pg1]) ram.clearFrame(t / PAGE_SIZE);
  for (let i = 0; i < 2048; i++) ram.write32(pg0 + 4 * i, (i * PAGE_SIZE) | LINUX_FLAGS.HEAD_PTE);
  const kpde = pageOffset >>> 22;
  for (const [r, t] of [
    [0, pg0],
    [1, pg1],
    [kpde, pg0],
    [kpde + 1, pg1],
  ] as const)
    ram.write32(swapperPgDir + 4 * r, t | LINUX_FLAGS.PAGE_TABLE);
  mmu.loadCr3(swapperPgDir);
  mmu.loadCr0(mmu.cr0 | CR0.PE | CR0.PG);
  return { swapperPgDir, pg0, pg1, kernelStart, kernelEnd: kernelStart + kernelSize };
}

/**
 * setup_memory: max_pfn from the e820 map, max_low_pfn = min(max_pfn,
 * MAXMEM), bootmem over low memory with its bitmap right after the image;
 * the usable ranges freed, then page 0 (BIOS data), the image (head.S's
 * tables are in it) and the bitmap reserved again.
 */
export function setupMemory(ctx: LinuxBootContext): void {
  const map = ctx.machine.ram.memoryMap;
  ctx.maxPfn = findMaxPfn(map);
  ctx.maxLowPfn = Math.min(ctx.maxPfn, maxmemFor(ctx.pageOffset) / PAGE_SIZE);
  ctx.layout = linuxLayout(ctx.pageOffset, ctx.maxLowPfn);
  const bootmem = new Bootmem({
    machine: ctx.machine,
    pageOffset: ctx.pageOffset,
    maxLowPfn: ctx.maxLowPfn,
  });
  bootmem.registerBootmemLowPages(usableRegions(map));
  const bitmapStart = Math.ceil(ctx.head.kernelEnd / PAGE_SIZE) * PAGE_SIZE;
  bootmem.reserveBootmem(0, PAGE_SIZE);
  bootmem.reserveBootmem(
    ctx.head.kernelStart,
    bitmapStart + bootmem.bitmapBytes - ctx.head.kernelStart,
  );
  ctx.bootmem = bootmem;
}

/** Kernel virtual address of low-memory physical address `phys`: `__va`. */
function va(ctx: LinuxBootContext, phys: number): number {
  return ctx.pageOffset + phys;
}

/**
 * `one_page_table_init`: the page table of the PDE at kernel address
 * `pdeVa`, as a kernel virtual address; made from bootmem (zeroed) and
 * installed when there is none. pg0 and pg1 are reused as they are.
 */
export function onePageTableInit(ctx: LinuxBootContext, pdeVa: number, forKmap = false): number {
  const { mmu } = ctx.machine;
  const pde = mmu.read32(pdeVa);
  if ((pde & PDE.P) !== 0 && (pde & PDE.PS) === 0) return va(ctx, (pde & 0xffff_f000) >>> 0);
  const table = ctx.bootmem!.allocBootmemLowPages(1);
  if (table === null)
    throw new LinuxMmError(
      LINUX_ERROR.BAD_CONFIG,
      "bootmem ran out of low pages for the direct map's page tables",
    );
  if (forKmap) ctx.kmapTables++;
  else ctx.tablesFromBootmem++;
  mmu.write32(pdeVa, (table - ctx.pageOffset) | LINUX_FLAGS.PAGE_TABLE);
  return table;
}

/**
 * `kernel_physical_mapping_init`: map every page below max_low_pfn at
 * PAGE_OFFSET + phys in swapper_pg_dir, through the MMU at `__va`. With PSE,
 * each whole 4 MiB below max_low_pfn is one large PDE (PAGE_KERNEL_LARGE); a
 * last partial 4 MiB gets a page table. `oneMdTableInit` has nothing to do
 * without PAE (the pmd is folded into the pgd), so it is not a call here.
 */
export function kernelPhysicalMappingInit(ctx: LinuxBootContext): void {
  const { mmu } = ctx.machine;
  const kernelFlags = LINUX_FLAGS.PAGE_KERNEL | (ctx.pge ? PTE.G : 0);
  const pgd = va(ctx, ctx.head.swapperPgDir);
  let pfn = 0;
  for (let r = ctx.pageOffset >>> 22; r < ENTRIES_PER_TABLE && pfn < ctx.maxLowPfn; r++) {
    const pdeVa = pgd + 4 * r;
    if (ctx.pse && pfn + ENTRIES_PER_TABLE <= ctx.maxLowPfn) {
      mmu.write32(pdeVa, (pfn * PAGE_SIZE) | kernelFlags | LINUX_FLAGS.PSE);
      pfn += ENTRIES_PER_TABLE;
      continue;
    }
    const table = onePageTableInit(ctx, pdeVa);
    for (let i = 0; i < ENTRIES_PER_TABLE; i++, pfn++)
      mmu.write32(table + 4 * i, pfn < ctx.maxLowPfn ? (pfn * PAGE_SIZE) | kernelFlags : 0);
  }
}

/**
 * `fixrange_init` for the fixmap: the page table holding
 * `[FIXADDR_START, FIXADDR_TOP]`, from bootmem, in swapper_pg_dir. Made at
 * boot, before any pgd is cloned, so every address space shares it and
 * kmap_atomic never needs a vmalloc fault.
 */
export function fixrangeInit(ctx: LinuxBootContext): void {
  const pgd = va(ctx, ctx.head.swapperPgDir);
  ctx.fixmapPageTable = onePageTableInit(ctx, pgd + 4 * (ctx.layout!.fixaddrStart >>> 22), true);
}

/**
 * `permanent_kmaps_init`: the one page table of the pkmap area
 * (`pkmap_page_table`, LAST_PKMAP = 1024 entries = one table without PAE),
 * from bootmem, in swapper_pg_dir, empty: kmap fills it slot by slot.
 */
export function permanentKmapsInit(ctx: LinuxBootContext): void {
  const pgd = va(ctx, ctx.head.swapperPgDir);
  ctx.pkmapPageTable = onePageTableInit(ctx, pgd + 4 * (ctx.layout!.pkmapBase >>> 22), true);
}

/** `__flush_tlb_all`: every TLB entry, global ones too (toggle CR4.PGE), or a CR3 reload without PGE. */
export function flushTlbAll(machine: Machine): void {
  const { mmu } = machine;
  const cr4 = mmu.cr4;
  if ((cr4 & CR4.PGE) !== 0) {
    mmu.loadCr4(cr4 & ~CR4.PGE);
    mmu.loadCr4(cr4);
  } else mmu.loadCr3(mmu.cr3);
}

/**
 * `paging_init`: `pagetable_init` (CR4.PSE and CR4.PGE on as the options
 * say, then kernelPhysicalMappingInit, fixrangeInit, permanentKmapsInit), `load_cr3(swapper_pg_dir)`,
 * `__flush_tlb_all`, and the zones' spans (`zone_sizes_init`).
 */
export function pagingInit(ctx: LinuxBootContext): void {
  const { mmu } = ctx.machine;
  mmu.loadCr4(mmu.cr4 | (ctx.pse ? CR4.PSE : 0) | (ctx.pge ? CR4.PGE : 0));
  kernelPhysicalMappingInit(ctx);
  fixrangeInit(ctx);
  permanentKmapsInit(ctx);
  mmu.loadCr3(ctx.head.swapperPgDir);
  flushTlbAll(ctx.machine);
  ctx.zones = new Zones({ maxLowPfn: ctx.maxLowPfn, maxPfn: ctx.maxPfn });
}

/** `zap_low_mappings`: clear every user PDE of swapper_pg_dir (head.S's identity map) and flush the TLB. */
export function zapLowMappings(ctx: LinuxBootContext): void {
  const { mmu } = ctx.machine;
  const pgd = va(ctx, ctx.head.swapperPgDir);
  for (let r = 0; r < ctx.pageOffset >>> 22; r++) mmu.write32(pgd + 4 * r, 0);
  flushTlbAll(ctx.machine);
}

/**
 * `mem_init`: free_all_bootmem (every free low page to DMA and NORMAL,
 * bootmem retired), set_highmem_pages_init (highmem RAM into HIGHMEM), and
 * zap_low_mappings.
 */
export function memInit(ctx: LinuxBootContext): void {
  ctx.lowPagesFreed = ctx.bootmem!.freeAllBootmem(ctx.zones!);
  ctx.highPagesFreed = ctx.zones!.setHighmemPagesInit(ctx.machine.ram.memoryMap);
  zapLowMappings(ctx);
}

/**
 * Check the machine and options, then run head.S with paging off. Returns
 * the context the other steps take. Refuses (E_BAD_CONFIG, nothing changed)
 * a machine that is not one, whose paging is on, whose RAM does not hold
 * the image and head.S's 8 MiB, or whose e820 map has no RAM under the image.
 */
export function startLinuxBoot(machine: Machine, options: LinuxBootOptions = {}): LinuxBootContext {
  const m = machine as Partial<Machine> | null;
  if (typeof m !== "object" || m === null || typeof m.ram !== "object" || typeof m.mmu !== "object")
    bad(`${describeValue(machine)} is not a machine (createMachine's result)`);
  const o = checkLinuxBootOptions(options);
  if (machine.mmu.pagingEnabled) bad("paging is already on");
  const map = machine.ram.memoryMap;
  const maxPfn = findMaxPfn(map);
  if (maxPfn * PAGE_SIZE < LINUX_LAYOUT.HEAD_MAPPED * 2)
    bad(`RAM ends at ${hex32(maxPfn * PAGE_SIZE)}: Linux here needs at least 16 MiB`);
  const imageEnd = LINUX_LAYOUT.KERNEL_LOAD + o.kernelSize;
  const usable = usableRegions(map);
  if (
    !usable.some(
      (r) => r.base <= LINUX_LAYOUT.KERNEL_LOAD && r.base + r.length >= imageEnd + 0x10_0000,
    )
  )
    bad(
      `the e820 map has no RAM under the kernel image and its bootmem [${hex32(LINUX_LAYOUT.KERNEL_LOAD)}, ${hex32(imageEnd + 0x10_0000)})`,
    );
  const head = headS(machine, o.pageOffset, o.kernelSize);
  return {
    machine,
    pageOffset: o.pageOffset,
    pse: o.pse,
    pge: o.pge,
    head,
    maxPfn: 0,
    maxLowPfn: 0,
    layout: null,
    bootmem: null,
    zones: null,
    tablesFromBootmem: 0,
    kmapTables: 0,
    pkmapPageTable: 0,
    fixmapPageTable: 0,
    lowPagesFreed: 0,
    highPagesFreed: 0,
    faultHandler: o.faultHandler,
    highpte: o.highpte,
  };
}
