/**
 * A whole simulated machine: RAM plus one processor's MMU, the unit that boot
 * code, tests and tools start from.
 *
 * @module
 */
import type { MemoryRegion, Tlb } from "./api.js";
import { HW_ERROR, HwError, showValue } from "./errors.js";
import { Mmu } from "./mmu.js";
import { PhysicalMemory } from "./ram.js";

/** Options for {@link createMachine}. */
export interface MachineOptions {
  /** Bytes of installed RAM (default 64 MiB). */
  readonly ramBytes?: number;
  /** A firmware memory map to report instead of the default PC layout. */
  readonly memoryMap?: readonly MemoryRegion[];
  /** The TLB (default: unbounded). */
  readonly tlb?: Tlb;
}

/** RAM and an MMU wired together. Paging is off until CR0.PG is set. */
export interface Machine {
  /** Physical memory. */
  readonly ram: PhysicalMemory;
  /** The processor's MMU, reaching `ram`. */
  readonly mmu: Mmu;
}

/** Build a machine: zeroed RAM, CR0 = CR3 = CR4 = 0, an empty TLB. */
export function createMachine(options: MachineOptions = {}): Machine {
  if (typeof options !== "object" || options === null) {
    throw new HwError(
      HW_ERROR.BAD_CONFIG,
      `machine options ${showValue(options)} are not an object`,
    );
  }
  const ram = new PhysicalMemory({
    ...(options.ramBytes !== undefined ? { installedBytes: options.ramBytes } : {}),
    ...(options.memoryMap !== undefined ? { memoryMap: options.memoryMap } : {}),
  });
  const mmu = new Mmu(ram, options.tlb !== undefined ? { tlb: options.tlb } : {});
  return { ram, mmu };
}
