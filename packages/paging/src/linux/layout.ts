/**
 * Linux on i386's virtual layout (non-PAE), computed from PAGE_OFFSET and
 * the end of low memory as include/asm-i386/page.h and pgtable.h do.
 *
 * ```
 *  0x00000000              PAGE_OFFSET              high_memory
 *  [ user (TASK_SIZE) ... ][ direct map: __va(p) = p + PAGE_OFFSET ][8 MiB gap]
 *
 *  VMALLOC_START ........... VMALLOC_END [2 pages] PKMAP_BASE ... FIXADDR_START ... FIXADDR_TOP
 *  [ vmalloc areas, a guard page after each ]      [ 1024 kmap slots ]   [ fixmap ]
 * ```
 *
 * The fixmap grows down from FIXADDR_TOP (0xFFFFF000, FIX_HOLE, never
 * mapped): the kmap_atomic slot of type t is at FIXADDR_TOP - (1 + t) pages,
 * KM_BOUNCE_READ at 0xFFFFE000 down to KM_SOFTIRQ1 at 0xFFFF2000.
 *
 * With PAGE_OFFSET = 0xC0000000: MAXMEM = 896 MiB, so the direct map ends at
 * 0xF8000000 at most; with 64 MiB of RAM high_memory is 0xC4000000 and the
 * vmalloc area starts at 0xC4800000.
 *
 * @module
 */
import { PAGE_SIZE, PTE } from "@mm386/hw-i386";

const MiB = 1024 * 1024;

/** The constants of Linux 2.6's i386 memory layout that do not depend on RAM. */
export const LINUX_LAYOUT = {
  /** The default PAGE_OFFSET: the 3 GiB / 1 GiB split. */
  PAGE_OFFSET: 0xc000_0000,
  /** `__VMALLOC_RESERVE`: the top 128 MiB of the kernel half are not direct-mapped. */
  VMALLOC_RESERVE: 128 * MiB,
  /** `VMALLOC_OFFSET`: the gap that catches overruns off the end of the direct map. */
  VMALLOC_OFFSET: 8 * MiB,
  /** `FIXADDR_TOP`: the fixmap ends one page below 4 GiB. */
  FIXADDR_TOP: 0xffff_f000,
  /** `LAST_PKMAP`: slots of the persistent kmap area (one page table, non-PAE). */
  LAST_PKMAP: 1024,
  /** `KM_TYPE_NR`: kmap_atomic slot types per CPU (Linux 2.6.11's list). */
  KM_TYPE_NR: 13,
  /** `FIX_KMAP_BEGIN`: the fixmap index of the first kmap_atomic slot (index 0 is FIX_HOLE, never mapped). */
  FIX_KMAP_BEGIN: 1,
  /** Where the boot loader puts the kernel image (1 MiB). */
  KERNEL_LOAD: 0x0010_0000,
  /** head.S's `.org 0x1000`: swapper_pg_dir is the image's second page. */
  SWAPPER_PG_DIR_OFFSET: 0x1000,
  /** head.S maps this much of low memory (pg0 and pg1: 8 MiB) before paging_init. */
  HEAD_MAPPED: 8 * MiB,
} as const;

/**
 * The entry flags Linux uses (include/asm-i386/pgtable.h), as PTE bits.
 * `PAGE_KERNEL` gets `_PAGE_GLOBAL` too when the CPU has PGE.
 */
export const LINUX_FLAGS = {
  /** `_PAGE_TABLE`: a PDE pointing to a page table (present, writable, user, accessed, dirty). */
  PAGE_TABLE: PTE.P | PTE.RW | PTE.US | PTE.A | PTE.D,
  /** head.S's PTE attributes for pg0/pg1: present, writable, user (0x007). */
  HEAD_PTE: PTE.P | PTE.RW | PTE.US,
  /** `__PAGE_KERNEL`: present, writable, supervisor, accessed and dirty. */
  PAGE_KERNEL: PTE.P | PTE.RW | PTE.A | PTE.D,
  /** `_PAGE_PSE`: the PDE maps a 4 MiB page. */
  PSE: 0x080,
} as const;

/**
 * The kmap_atomic slot types (`enum km_type`, Linux 2.6.11, i386): each
 * context that may map a highmem page atomically has a slot of its own, so
 * an interrupt never overwrites the slot of the code it interrupted.
 */
export const KM_TYPE = {
  /** Bounce buffers on read. */
  BOUNCE_READ: 0,
  /** sunrpc skb data. */
  SKB_SUNRPC_DATA: 1,
  /** skb data in softirqs. */
  SKB_DATA_SOFTIRQ: 2,
  /** The first page of a user copy (copy_user_highpage's source). */
  USER0: 3,
  /** The second page of a user copy (its destination). */
  USER1: 4,
  /** bio source in interrupts. */
  BIO_SRC_IRQ: 5,
  /** bio destination in interrupts. */
  BIO_DST_IRQ: 6,
  /** A highmem page table (HIGHPTE: pte_offset_map). */
  PTE0: 7,
  /** A second highmem page table (pte_offset_map_nested). */
  PTE1: 8,
  /** Interrupt handlers. */
  IRQ0: 9,
  /** Interrupt handlers, a second page. */
  IRQ1: 10,
  /** Softirqs. */
  SOFTIRQ0: 11,
  /** Softirqs, a second page. */
  SOFTIRQ1: 12,
} as const;

/** One of the {@link KM_TYPE} values. */
export type KmType = (typeof KM_TYPE)[keyof typeof KM_TYPE];

/** The name of kmap_atomic slot type `type` (`"KM_USER0"`), for messages. */
export function kmTypeName(type: number): string {
  const e = Object.entries(KM_TYPE).find(([, v]) => v === type);
  return e === undefined ? String(type) : `KM_${e[0]}`;
}

/** `__fix_to_virt(idx)`: fixmap entries grow down from FIXADDR_TOP, one page each. */
export function fixToVirt(idx: number): number {
  return LINUX_LAYOUT.FIXADDR_TOP - idx * PAGE_SIZE;
}

/** The kmap_atomic slot address of `type` on the one CPU: `__fix_to_virt(FIX_KMAP_BEGIN + type)`. */
export function kmapAtomicAddr(type: number): number {
  return fixToVirt(LINUX_LAYOUT.FIX_KMAP_BEGIN + type);
}

/** The addresses that follow from PAGE_OFFSET and the end of low memory. */
export interface LinuxLayout {
  /** PAGE_OFFSET: where the kernel half and the direct map start. */
  readonly pageOffset: number;
  /** MAXMEM: the most physical memory the direct map can cover (-PAGE_OFFSET - 128 MiB). */
  readonly maxmem: number;
  /** `high_memory`: the end of the direct map, `__va(max_low_pfn << 12)`. */
  readonly highMemory: number;
  /** VMALLOC_START: high_memory rounded up past an 8 MiB gap. */
  readonly vmallocStart: number;
  /** VMALLOC_END: two pages below PKMAP_BASE. */
  readonly vmallocEnd: number;
  /** PKMAP_BASE: the persistent kmap area (4 MiB aligned). */
  readonly pkmapBase: number;
  /** FIXADDR_START: the fixmap's lowest page. */
  readonly fixaddrStart: number;
  /** `PKMAP_ADDR(LAST_PKMAP)`: one past the persistent kmap area. */
  readonly pkmapEnd: number;
}

/** MAXMEM for a PAGE_OFFSET: everything above it but the vmalloc reserve. */
export function maxmemFor(pageOffset: number): number {
  return 2 ** 32 - pageOffset - LINUX_LAYOUT.VMALLOC_RESERVE;
}

/** The layout for `pageOffset` with low memory ending at page frame `maxLowPfn`. */
export function linuxLayout(pageOffset: number, maxLowPfn: number): LinuxLayout {
  const L = LINUX_LAYOUT;
  const highMemory = pageOffset + maxLowPfn * PAGE_SIZE;
  const vmallocStart =
    Math.floor((highMemory + 2 * L.VMALLOC_OFFSET - 1) / L.VMALLOC_OFFSET) * L.VMALLOC_OFFSET;
  // The fixmap: one hole page and the kmap_atomic slots of one CPU.
  const fixaddrStart = L.FIXADDR_TOP - (1 + L.KM_TYPE_NR) * PAGE_SIZE;
  const FOUR_MIB = 4 * MiB;
  const pkmapBase =
    Math.floor((fixaddrStart - PAGE_SIZE * (L.LAST_PKMAP + 1)) / FOUR_MIB) * FOUR_MIB;
  return {
    pageOffset,
    maxmem: maxmemFor(pageOffset),
    highMemory,
    vmallocStart,
    vmallocEnd: pkmapBase - 2 * PAGE_SIZE,
    pkmapBase,
    fixaddrStart,
    pkmapEnd: pkmapBase + L.LAST_PKMAP * PAGE_SIZE,
  };
}
