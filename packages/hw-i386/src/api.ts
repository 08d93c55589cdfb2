/**
 * The vocabulary of the simulated i386: register and entry bit layouts, the
 * TLB swap point, and the events the MMU reports.
 *
 * Everything here follows the Intel SDM, vol. 3A, chapter 4 ("32-bit paging").
 * Bit names are the SDM's: P, R/W (here `RW`), U/S (`US`), PWT, PCD, A, D, PS,
 * G, PAT.
 *
 * ```
 *  linear address (32 bits)
 *  31            22 21            12 11                 0
 * +----------------+----------------+--------------------+
 * | directory (10) |   table (10)   |    offset (12)     |   4 KiB page
 * +----------------+----------------+--------------------+
 * | directory (10) |           offset (22)               |   4 MiB page (PDE.PS=1, CR4.PSE=1)
 * +----------------+-------------------------------------+
 * ```
 *
 * @module
 */

/** Size of a small page and of a page table or page directory, in bytes. */
export const PAGE_SIZE = 4096;
/**
 * The byte offset of `v` in its page: `v % PAGE_SIZE` for any non-negative
 * safe integer. Written as a mask because a kernel address (2^31 and up) is
 * a double to V8, and `%` of a double is a call to the C library's fmod;
 * the mask takes the low 12 bits of `v` modulo 2^32, which are `v`'s own.
 * (Not for fractions: the mask drops them.)
 *
 * @example
 * ```ts
 * pageOffset(0xc0001234); // 0x234
 * pageOffset(2 ** 40 + 8); // 8
 * ```
 */
export function pageOffset(v: number): number {
  return v & (PAGE_SIZE - 1);
}

/** Size of a large page (PDE.PS=1 with CR4.PSE=1), in bytes. */
export const LARGE_PAGE_SIZE = 4 * 1024 * 1024;
/** Number of 32-bit entries in a page directory or a page table. */
export const ENTRIES_PER_TABLE = 1024;
/**
 * The index of linear address `va`'s entry in the page directory: bits 31:22
 * (the "directory" field in the module's diagram).
 *
 * @example
 * ```ts
 * pdeIndex(0xc040_1234); // 0x301
 * ```
 */
export function pdeIndex(va: number): number {
  return va >>> 22;
}

/**
 * The index of linear address `va`'s entry in its page table: bits 21:12
 * (the "table" field in the module's diagram).
 *
 * @example
 * ```ts
 * pteIndex(0xc040_1234); // 1
 * ```
 */
export function pteIndex(va: number): number {
  return (va >>> 12) & (ENTRIES_PER_TABLE - 1);
}

/** Size of the physical address space (MAXPHYADDR = 32), in bytes. */
export const PHYS_SPACE = 2 ** 32;

/**
 * CR0 bits this machine models. Other architecturally defined CR0 bits (MP, EM,
 * TS, ET, NE, AM, NW, CD) are accepted and kept but have no effect here.
 *
 * ```
 *  31                  16                        0
 * +--+----------------+--+---------------------+--+
 * |PG|      ...       |WP|         ...         |PE|
 * +--+----------------+--+---------------------+--+
 * ```
 */
export const CR0 = {
  /** Protection enable. Paging requires it. */
  PE: 0x0000_0001,
  /** Write protect: when set, CPL 0 writes honour R/W=0 too. */
  WP: 0x0001_0000,
  /** Paging. */
  PG: 0x8000_0000,
} as const;

/** CR0 bits that exist on a 32-bit processor (writing any other bit is refused, as #GP would). */
export const CR0_DEFINED = 0xe005_003f;

/**
 * CR4 bits this machine models; it refuses every other bit (PAE, PCIDE, SMEP... are
 * features of processors it does not simulate).
 */
export const CR4 = {
  /** Page size extensions: a PDE with PS=1 maps a 4 MiB page. */
  PSE: 0x0000_0010,
  /** Page global enable: translations with G=1 survive CR3 loads. */
  PGE: 0x0000_0080,
} as const;

/**
 * Page-directory entry bits.
 *
 * ```
 *  PDE that references a page table (PS=0, or CR4.PSE=0):
 *  31                             12 11   8 7  6 5 4   3   2   1  0
 * +---------------------------------+------+--+-+-+---+---+---+--+-+
 * |  page table physical address    |ignore|PS|-|A|PCD|PWT|U/S|R/W|P|
 * +---------------------------------+------+--+-+-+---+---+---+--+-+
 *
 *  PDE that maps a 4 MiB page (PS=1 and CR4.PSE=1):
 *  31          22 21         13 12  11  9 8 7 6 5 4   3   2   1  0
 * +--------------+-------------+---+-----+-+-+-+-+---+---+---+---+-+
 * | frame address| reserved (0)|PAT|ignor|G|1|D|A|PCD|PWT|U/S|R/W|P|
 * +--------------+-------------+---+-----+-+-+-+-+---+---+---+---+-+
 * ```
 *
 * With MAXPHYADDR = 32 (this machine has no PSE-36), bits 21:13 of a 4 MiB PDE
 * are reserved: setting one makes the access fault with {@link PF_ERROR}.RSVD.
 */
export const PDE = {
  /** Present: the entry is used; if 0, the access faults with error code bit 0 clear. */
  P: 0x001,
  /** Read/write: if 0, writes to the 4 MiB region are refused (CPL 3, or CPL 0 with CR0.WP). */
  RW: 0x002,
  /** User/supervisor: if 0, CPL 3 may not access the 4 MiB region. */
  US: 0x004,
  /** Page-level write-through (cache policy; no effect in this simulation). */
  PWT: 0x008,
  /** Page-level cache disable (cache policy; no effect in this simulation). */
  PCD: 0x010,
  /** Accessed: set by the processor when the entry is used in a walk. */
  A: 0x020,
  /** Dirty; meaningful only in a PDE that maps a 4 MiB page. */
  D: 0x040,
  /** Page size; makes a 4 MiB page only while CR4.PSE=1. */
  PS: 0x080,
  /** Global; meaningful only in a PDE that maps a 4 MiB page. */
  G: 0x100,
  /** PAT bit of a 4 MiB page. */
  PAT: 0x1000,
} as const;

/** Bits 21:13 of a PDE that maps a 4 MiB page: reserved when MAXPHYADDR = 32. */
export const PDE_LARGE_RESERVED = 0x003f_e000;

/**
 * Page-table entry bits.
 *
 * ```
 *  31                             12 11  9 8 7   6 5 4   3   2   1  0
 * +---------------------------------+-----+-+---+-+-+---+---+---+---+-+
 * |     page frame physical address |ignor|G|PAT|D|A|PCD|PWT|U/S|R/W|P|
 * +---------------------------------+-----+-+---+-+-+---+---+---+---+-+
 * ```
 */
export const PTE = {
  /** Present: the page is mapped; if 0, the access faults with error code bit 0 clear. */
  P: 0x001,
  /** Read/write: if 0, writes are refused (CPL 3, or CPL 0 with CR0.WP). */
  RW: 0x002,
  /** User/supervisor: if 0, CPL 3 may not access the page. */
  US: 0x004,
  /** Page-level write-through (cache policy; no effect in this simulation). */
  PWT: 0x008,
  /** Page-level cache disable (cache policy; no effect in this simulation). */
  PCD: 0x010,
  /** Accessed: set by the processor on the first access through this entry. */
  A: 0x020,
  /** Dirty: set by the processor on the first write to the page. */
  D: 0x040,
  /** Page attribute table index bit (memory type; no effect in this simulation). */
  PAT: 0x080,
  /** Global: with CR4.PGE=1 the translation survives CR3 loads. */
  G: 0x100,
} as const;

/**
 * Bits of the page-fault error code.
 *
 * ```
 *  4   3    2   1   0
 * +--+----+---+---+---+
 * |ID|RSVD|U/S|W/R| P |
 * +--+----+---+---+---+
 * ```
 */
export const PF_ERROR = {
  /** 0: the page was not present; 1: a protection violation. */
  P: 0x01,
  /** The access was a write. */
  W: 0x02,
  /** The access was made at CPL 3. */
  U: 0x04,
  /** A reserved bit was set in a paging-structure entry. */
  RSVD: 0x08,
} as const;

/** Current privilege level of an access: the kernel (0) or user mode (3). */
export type Cpl = 0 | 3;

/** Access sizes in bytes. */
export type AccessSize = 1 | 2 | 4;

/**
 * A cached translation for one 4 KiB linear page.
 *
 * A translation of a 4 MiB page is cached as 4 KiB pieces with `large` set, as
 * the SDM allows (vol. 3A §4.10.2.3); `invlpg` anywhere in the large page then
 * drops every piece of it.
 *
 * The MMU creates entries; a {@link Tlb} stores them in any form it likes and
 * hands back an entry with the same fields from {@link Tlb.lookup}.
 */
export interface TlbEntry {
  /** Linear page number: bits 31:12 of the linear address. */
  readonly vpn: number;
  /** Physical frame number: bits 31:12 of the physical address. */
  readonly pfn: number;
  /** Writes allowed: R/W combined (AND) over every level of the walk. */
  readonly writable: boolean;
  /** User access allowed: U/S combined (AND) over every level of the walk. */
  readonly user: boolean;
  /** The leaf entry's D bit was set when this translation was cached. */
  readonly dirty: boolean;
  /** G=1 in the leaf entry while CR4.PGE=1: the entry survives CR3 loads. */
  readonly global: boolean;
  /** This piece came from a 4 MiB page. */
  readonly large: boolean;
}

/**
 * The TLB swap point: what the MMU needs from a translation cache.
 *
 * The contract, checked by the conformance suite in
 * `@mm386/hw-i386/conformance`:
 * - `lookup(vpn)` returns (the fields of) the entry most recently inserted for
 *   `vpn` that has not been invalidated or evicted since, or undefined. A TLB
 *   never invents.
 * - A TLB forgets an entry only when told to (invalidate, flush) or when
 *   `insert` evicts it to make room, and then `insert` returns it, so that an
 *   eviction can be told from a lost entry.
 *
 * The MMU calls `lookup` on every access it makes through a TLB it does not
 * know, so an implementation sees the whole access stream and may keep any
 * replacement state it likes. Counters for hits, misses and walks live in the
 * MMU, so an implementation needs none.
 */
export interface Tlb {
  /** A short human-readable name, e.g. `"64-entry 4-way LRU"`. */
  readonly name: string;
  /** Maximum number of entries held, or `Infinity`. */
  readonly capacity: number;
  /** The cached translation for linear page `vpn`, or undefined. */
  lookup(vpn: number): TlbEntry | undefined;
  /**
   * @deprecated Ignored since the MMU calls `lookup` on every access through a
   * TLB it does not know. Kept so that existing implementations still compile.
   */
  readonly observesHits?: boolean;
  /**
   * Cache `entry`, replacing any entry for the same `vpn`. If another entry
   * had to go to make room, return it; otherwise return undefined.
   */
  insert(entry: TlbEntry): TlbEntry | undefined;
  /**
   * Drop the entry for `vpn`, global or not, and every `large` entry in the same
   * 4 MiB region (`vpn >>> 10`). Returns the number of entries dropped.
   */
  invalidatePage(vpn: number): number;
  /** Drop every entry that is not global (a CR3 load). Returns the number dropped. */
  flushNonGlobal(): number;
  /** Drop every entry. Returns the number dropped. */
  flushAll(): number;
  /** Every entry currently held, in no particular order (for inspection). */
  entries(): TlbEntry[];
}

/** What the MMU has done since it was created or since its counters were reset. */
export interface MmuStats {
  /** Accesses served by a cached translation. */
  readonly tlbHits: number;
  /** Accesses that found no cached translation. */
  readonly tlbMisses: number;
  /** Page walks (a miss walks; so does a write through a clean cached entry). */
  readonly walks: number;
  /** Page faults raised. */
  readonly faults: number;
  /** Invalidation events: invlpg, CR3 loads, CR0/CR4 changes that flush, faults. */
  readonly flushes: number;
  /** Linear accesses made (a page-crossing access counts once). */
  readonly accesses: number;
}

/** Why entries left the TLB. */
export type FlushReason = "invlpg" | "cr3" | "cr4" | "cr0" | "fault";

/** An access found its translation in the TLB. */
export interface TlbHitEvent {
  /** Discriminant. */
  readonly type: "tlb-hit";
  /** The linear address accessed. */
  readonly va: number;
  /** True for a write. */
  readonly write: boolean;
  /** Privilege level of the access. */
  readonly cpl: Cpl;
}

/** An access found no translation in the TLB; a walk follows. */
export interface TlbMissEvent {
  /** Discriminant. */
  readonly type: "tlb-miss";
  /** The linear address accessed. */
  readonly va: number;
  /** True for a write. */
  readonly write: boolean;
  /** Privilege level of the access. */
  readonly cpl: Cpl;
}

/** The processor walked the paging structures for a linear address. */
export interface WalkEvent {
  /** Discriminant. */
  readonly type: "walk";
  /** The linear address being translated. */
  readonly va: number;
  /** Physical address of the PDE read. */
  readonly pdeAddr: number;
  /** The PDE, after any A/D update. */
  readonly pde: number;
  /** Physical address of the PTE, or null for a 4 MiB page or a PDE that was not present. */
  readonly pteAddr: number | null;
  /** The PTE after any A/D update, or null when no PTE was read. */
  readonly pte: number | null;
  /** The physical address reached, or null when the walk faulted. */
  readonly pa: number | null;
}

/** The processor raised a page fault (#PF). */
export interface FaultEvent {
  /** Discriminant. */
  readonly type: "fault";
  /** The linear address that faulted. */
  readonly va: number;
  /** The error code pushed by the processor ({@link PF_ERROR} bits). */
  readonly errorCode: number;
  /** The value loaded into CR2 (the faulting linear address). */
  readonly cr2: number;
}

/** The processor set accessed or dirty bits in a paging-structure entry. */
export interface AdUpdateEvent {
  /** Discriminant. */
  readonly type: "ad-update";
  /** Physical address of the entry whose A/D bits changed. */
  readonly entryAddr: number;
  /** Which level the entry belongs to. */
  readonly level: "pde" | "pte";
  /** The entry before the update. */
  readonly before: number;
  /** The entry after the update. */
  readonly after: number;
}

/** Entries left the TLB (or would have: `dropped` may be 0). */
export interface FlushEvent {
  /** Discriminant. */
  readonly type: "flush";
  /** What caused it. */
  readonly reason: FlushReason;
  /** The linear address for invlpg and fault flushes, otherwise null. */
  readonly va: number | null;
  /** Number of TLB entries dropped. */
  readonly dropped: number;
}

/**
 * Something the MMU did, for tools that trace or visualise it. Only produced
 * while someone is subscribed ({@link Mmu.subscribe}); the access path pays
 * nothing otherwise.
 */
export type MmuEvent =
  TlbHitEvent | TlbMissEvent | WalkEvent | FaultEvent | AdUpdateEvent | FlushEvent;

/** A subscriber to {@link MmuEvent}s. */
export type MmuListener = (event: MmuEvent) => void;

/** e820 range types, as the BIOS reports them. */
export const E820 = {
  /** RAM the kernel may use. */
  USABLE: 1,
  /** Not to be used: ROM, device memory, firmware data. */
  RESERVED: 2,
  /** ACPI tables; usable once the kernel has read them. */
  ACPI_RECLAIMABLE: 3,
  /** ACPI non-volatile storage; never usable. */
  ACPI_NVS: 4,
  /** Memory found to be faulty. */
  BAD: 5,
} as const;

/** One of the {@link E820} values. */
export type E820Type = (typeof E820)[keyof typeof E820];

/** One entry of the firmware memory map: `[base, base + length)` of the given type. */
export interface MemoryRegion {
  /** First physical address of the region. */
  readonly base: number;
  /** Length in bytes. */
  readonly length: number;
  /** What the region is. */
  readonly type: E820Type;
}
