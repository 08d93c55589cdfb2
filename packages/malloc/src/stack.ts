/**
 * The whole default stack in one call: machine, boot, page allocators,
 * paging, kvmalloc and malloc, with every swap point as an option.
 *
 * ```
 *  createStack(options)
 *    machine   createMachine({ ramBytes, memoryMap, tlb })     hw-i386
 *    paging    startPaging(machine, { boot, rangeAllocator,     paging, allocation, buddy
 *                                     pageRanges, mapMem, ... })
 *    kv        kvmalloc(paging)                                 kvmalloc
 *    heap      malloc(kv) or new Malloc(kv, { policy, align })  malloc
 * ```
 *
 * It lives here because malloc is the top of the library stack: the only
 * package allowed to see every layer below it.
 *
 * @module
 */
import { type Machine, type MemoryRegion, type Mmu, type Tlb, createMachine } from "@mm386/hw-i386";
import { type KernelPageAllocator, Kvmalloc } from "@mm386/kvmalloc";
import {
  PAGING_ERROR,
  type Paging,
  type PagingDesign,
  PagingError,
  type StartPagingOptions,
  describeValue,
  startPaging,
} from "@mm386/paging";
import { type LinuxPaging, bootLinux } from "@mm386/paging/linux";
import { bootWhitix, whitixPageSource } from "@mm386/paging/whitix";
import type { HeapAllocator, HeapAllocatorFactory, PolicyFactory } from "./api.js";
import { Malloc } from "./heap.js";
import { Kmalloc, type SlabPageSource } from "./slab/index.js";

/**
 * The kernel designs {@link createStack} can boot, by name: what each
 * contributes to a stack (its paging and its kernel heap). The hobby kernel
 * is the default and the only one whose stack also has `paging`,
 * `allocators` and `kv`.
 */
export interface DesignEntry {
  /** The name `createStack({ design })` and `--design` take. */
  readonly name: string;
  /** One line for `--help`. */
  readonly summary: string;
  /** Boot `machine` into this design and build its kernel heap. */
  boot(machine: Machine, options: DesignStackOptions): DesignParts;
}

/** What a design contributes to a stack. */
export interface DesignParts {
  /** Its paging, through the interface every design implements. */
  readonly design: PagingDesign;
  /** Its kernel heap. */
  readonly heap: HeapAllocator;
}

/** Every design createStack knows, by name (the hobby kernel is built by createStack itself). */
export const DESIGNS: Readonly<Record<string, DesignEntry>> = {
  hobby: {
    name: "hobby",
    summary: "the hobby kernel: vpde/kvpd, ppalloc/vpalloc on a buddy, kvmalloc, malloc",
    boot: (machine, options) => {
      const s = buildHobby(machine, options as StackOptions);
      return { design: s.paging, heap: s.heap };
    },
  },
  whitix: {
    name: "whitix",
    summary:
      "Whitix: recursive page directory (PDE 1023), VirtMemMapPage, slab kernel heap on VirtMapPhysRange",
    boot: (machine) => {
      const w = bootWhitix(machine);
      return { design: w, heap: new Kmalloc(whitixPageSource(w), machine.mmu) };
    },
  },
  linux: {
    name: "linux",
    summary:
      "Linux on i386: head.S, bootmem, zones, the direct map at PAGE_OFFSET, demand paging; kmalloc (slab) on __va of low pages",
    boot: (machine) => {
      const l = bootLinux(machine);
      return { design: l, heap: new Kmalloc(linuxPageSource(l), machine.mmu) };
    },
  },
};

/**
 * Linux's pages for the slab: low-memory frames from the zones (GFP_KERNEL),
 * reached through the direct map, `__va(phys)`, as kmalloc's are.
 */
export function linuxPageSource(l: LinuxPaging): SlabPageSource {
  return {
    name: "Linux allocPages(GFP_KERNEL) + __va",
    allocPages(n: number): number | null {
      const phys = l.allocFrames(n);
      return phys === null ? null : l.va(phys);
    },
    freePages(va: number, n: number): void {
      l.freeFrames(l.pa(va), n);
    },
  };
}

/** The names of {@link DESIGNS}, for messages and `--help`. */
export function designNames(): string[] {
  return Object.keys(DESIGNS);
}

/** Options every design's stack takes: the machine, and the design by name. */
export interface DesignStackOptions {
  /** The kernel design (a key of {@link DESIGNS}); default `"hobby"`. */
  readonly design?: string;
  /** Bytes of installed RAM (default 64 MiB). */
  readonly ramBytes?: number;
  /** A firmware memory map instead of the default PC layout. */
  readonly memoryMap?: readonly MemoryRegion[];
  /** Makes the TLB (a factory, so every stack gets its own). Default: unbounded. */
  readonly tlb?: () => Tlb;
  /** Called with the machine before boot: subscribe to MMU events, seed memory... */
  readonly beforeBoot?: (machine: Machine) => void;
}

/** The layers every design's stack has. */
export interface DesignStack {
  /** The design's name. */
  readonly designName: string;
  /** RAM and MMU. */
  readonly machine: Machine;
  /** Shortcut for `machine.mmu`. */
  readonly mmu: Mmu;
  /** The design's paging, through the interface every design implements. */
  readonly design: PagingDesign;
  /** The design's kernel heap. */
  readonly heap: HeapAllocator;
}

/** Options of {@link createStack}: the machine, then one option per swap point (the hobby kernel's). */
export interface StackOptions extends StartPagingOptions, DesignStackOptions {
  /** The hobby kernel (the default); other designs take {@link DesignStackOptions} only. */
  readonly design?: "hobby";
  /** Makes the kernel's page allocator. Default: `Kvmalloc`. */
  readonly kvmalloc?: (paging: Paging) => KernelPageAllocator;
  /** Guard pages after every kvmalloc (default kvmalloc only). */
  readonly guardPages?: boolean;
  /** Makes the heap. Default: `Malloc` with `policy` and `align`. */
  readonly malloc?: HeapAllocatorFactory;
  /** The placement policy of the default Malloc (default: segregated fits). */
  readonly policy?: PolicyFactory;
  /** Alignment of the default Malloc (default 8). */
  readonly align?: 8 | 16;
}

/** Every layer of one simulated hobby kernel, booted and ready. */
export interface Stack extends DesignStack {
  /** Page directories, mapMem, address spaces. */
  readonly paging: Paging;
  /** ppalloc/ppfree, vpcreate/vpalloc/vpfree. */
  readonly allocators: Paging["allocators"];
  /** kvmalloc/kvfree. */
  readonly kv: KernelPageAllocator;
}

/** The machine every design's stack starts from. */
function buildMachine(options: DesignStackOptions): Machine {
  const machine = createMachine({
    ...(options.ramBytes === undefined ? {} : { ramBytes: options.ramBytes }),
    ...(options.memoryMap === undefined ? {} : { memoryMap: options.memoryMap }),
    ...(options.tlb === undefined ? {} : { tlb: options.tlb() }),
  });
  options.beforeBoot?.(machine);
  return machine;
}

/** The hobby kernel's layers on a machine. */
function buildHobby(machine: Machine, options: StackOptions): Stack {
  const paging = startPaging(machine, options);
  const kv = options.kvmalloc
    ? options.kvmalloc(paging)
    : new Kvmalloc(paging, { guardPages: options.guardPages ?? false });
  const heap = options.malloc
    ? options.malloc(kv)
    : new Malloc(kv, {
        ...(options.policy ? { policy: options.policy } : {}),
        ...(options.align ? { align: options.align } : {}),
      });
  return {
    designName: "hobby",
    machine,
    mmu: machine.mmu,
    design: paging,
    paging,
    allocators: paging.allocators,
    kv,
    heap,
  };
}

/**
 * Build and boot a whole stack; every option left out takes the default
 * layer. Without `design` (or with `"hobby"`) it is the hobby kernel with all
 * its swap points; another design's stack has the layers every design has.
 * An unknown design: E_BAD_CONFIG naming it, before anything is built.
 */
export function createStack(options?: StackOptions): Stack;
export function createStack(options: DesignStackOptions): DesignStack;
export function createStack(options: StackOptions | DesignStackOptions = {}): DesignStack {
  // Only undefined means "the default": null is a mistake, refused like any other non-name.
  const name = options.design === undefined ? "hobby" : options.design;
  if (typeof name !== "string" || !Object.hasOwn(DESIGNS, name))
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `design ${describeValue(name)} is not one of ${designNames().join(", ")}`,
    );
  const machine = buildMachine(options);
  if (name === "hobby") return buildHobby(machine, options as StackOptions);
  const { design, heap } = DESIGNS[name]!.boot(machine, options);
  return { designName: name, machine, mmu: machine.mmu, design, heap };
}
