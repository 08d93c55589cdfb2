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
import { type Paging, type StartPagingOptions, startPaging } from "@mm386/paging";
import type { HeapAllocator, HeapAllocatorFactory, PolicyFactory } from "./api.js";
import { Malloc } from "./heap.js";

/** Options of {@link createStack}: the machine, then one option per swap point. */
export interface StackOptions extends StartPagingOptions {
  /** Bytes of installed RAM (default 64 MiB). */
  readonly ramBytes?: number;
  /** A firmware memory map instead of the default PC layout. */
  readonly memoryMap?: readonly MemoryRegion[];
  /** Makes the TLB (a factory, so every stack gets its own). Default: unbounded. */
  readonly tlb?: () => Tlb;
  /** Called with the machine before boot: subscribe to MMU events, seed memory... */
  readonly beforeBoot?: (machine: Machine) => void;
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

/** Every layer of one simulated kernel, booted and ready. */
export interface Stack {
  /** RAM and MMU. */
  readonly machine: Machine;
  /** Shortcut for `machine.mmu`. */
  readonly mmu: Mmu;
  /** Page directories, mapMem, address spaces. */
  readonly paging: Paging;
  /** ppalloc/ppfree, vpcreate/vpalloc/vpfree. */
  readonly allocators: Paging["allocators"];
  /** kvmalloc/kvfree. */
  readonly kv: KernelPageAllocator;
  /** malloc/free/realloc. */
  readonly heap: HeapAllocator;
}

/** Build and boot a whole stack; every option left out takes the default layer. */
export function createStack(options: StackOptions = {}): Stack {
  const machine = createMachine({
    ...(options.ramBytes === undefined ? {} : { ramBytes: options.ramBytes }),
    ...(options.memoryMap === undefined ? {} : { memoryMap: options.memoryMap }),
    ...(options.tlb === undefined ? {} : { tlb: options.tlb() }),
  });
  options.beforeBoot?.(machine);
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
  return { machine, mmu: machine.mmu, paging, allocators: paging.allocators, kv, heap };
}
