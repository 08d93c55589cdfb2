/**
 * What the hobby kernel's boot assembly does before paging is on, as the seed
 * says: "creates a 1:1 mapping for the first 4 MiB of memory, and creates a
 * mapping at 0xC0000000 to point to the kernel at 0x00100000". Two boot page
 * tables, then CR3 and CR0.PG.
 *
 * ```
 *  physical:  0 ... kernelLoad [ kernel image ] | PD | KT | IT |  ... 4 MiB
 *                              <------- mapped at split ------>
 *
 *  PD[0]            -> IT   IT[i] = i * 4096 | P | RW for all 1024 entries:
 *                           the first 4 MiB 1:1, so the next instruction still runs
 *  PD[split >> 22]  -> KT   KT[i] = (kernelLoad + i * 4096) | P | RW up to the end of IT:
 *                           virtual split + x is physical kernelLoad + x
 *  KT[1023]         the window: left empty, paging points it at frames
 * ```
 *
 * This is the one place that writes page tables physically: paging is off.
 *
 * @module
 */
import { describeValue } from "@mm386/allocation";
import {
  CR0,
  ENTRIES_PER_TABLE,
  hex32,
  LARGE_PAGE_SIZE,
  type Machine,
  PAGE_SIZE,
  PDE,
  PTE,
} from "@mm386/hw-i386";
import {
  type BootInfo,
  type BootOptions,
  DEFAULT_SPLIT,
  PAGING_ERROR,
  PagingError,
} from "./api.js";

/** An address in hex when it is a number, else the value named as what it is (`5n`, `Symbol(x)`). */
function show(v: unknown): string {
  return typeof v === "number" ? hex32(v) : describeValue(v);
}

/** Refuse a machine that is not one (no RAM or MMU) with E_BAD_CONFIG, before anything reads it. */
export function checkMachine(machine: Machine): void {
  const m = machine as Partial<Machine> | null;
  if (typeof m !== "object" || m === null || typeof m.ram !== "object" || typeof m.mmu !== "object")
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `${describeValue(machine)} is not a machine (createMachine's result)`,
    );
}

/** Check a split: a multiple of 4 MiB strictly inside the 4 GiB space. */
export function checkSplit(split: number): void {
  if (
    !Number.isSafeInteger(split) ||
    split % LARGE_PAGE_SIZE !== 0 ||
    split < LARGE_PAGE_SIZE ||
    split > 2 ** 32 - LARGE_PAGE_SIZE
  ) {
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `split ${show(split)} must be a multiple of 4 MiB between 4 MiB and 4 GiB - 4 MiB`,
    );
  }
}

/** Build the boot page tables in physical memory and turn paging on. */
export function boot(machine: Machine, options: BootOptions = {}): BootInfo {
  checkMachine(machine);
  if (typeof options !== "object" || options === null)
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `boot options ${describeValue(options)} are not an object`,
    );
  // Only undefined means "the default": an explicit null is refused below
  // like any other value that is not a number.
  const split = options.split === undefined ? DEFAULT_SPLIT : options.split;
  const kernelLoad = options.kernelLoad === undefined ? 0x10_0000 : options.kernelLoad;
  const kernelSize = options.kernelSize === undefined ? 0x10_0000 : options.kernelSize;
  checkSplit(split);
  if (!Number.isSafeInteger(kernelLoad) || kernelLoad % PAGE_SIZE !== 0 || kernelLoad < 0) {
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `kernel load address ${show(kernelLoad)} must be page-aligned`,
    );
  }
  if (!Number.isSafeInteger(kernelSize) || kernelSize < 1) {
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `kernel size ${describeValue(kernelSize)} must be a positive number of bytes`,
    );
  }
  const pageDirectory = Math.ceil((kernelLoad + kernelSize) / PAGE_SIZE) * PAGE_SIZE;
  const pageTable = pageDirectory + PAGE_SIZE;
  const identityTable = pageTable + PAGE_SIZE;
  const mappedBytes = identityTable + PAGE_SIZE;
  // The identity table maps only the first 4 MiB, where the boot code must run;
  // the kernel table keeps its last entry for the window.
  if (mappedBytes > LARGE_PAGE_SIZE || mappedBytes - kernelLoad > LARGE_PAGE_SIZE - PAGE_SIZE) {
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `kernel image [${hex32(kernelLoad)}, ${hex32(kernelLoad + kernelSize)}) and the boot tables do not fit in the first 4 MiB`,
    );
  }
  if (mappedBytes > machine.ram.installedBytes) {
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `the boot range [0, ${hex32(mappedBytes)}) is larger than RAM`,
    );
  }
  const { ram, mmu } = machine;
  if (mmu.pagingEnabled) throw new PagingError(PAGING_ERROR.BAD_CONFIG, "paging is already on");
  ram.clearFrame(pageDirectory / PAGE_SIZE);
  ram.clearFrame(pageTable / PAGE_SIZE);
  ram.clearFrame(identityTable / PAGE_SIZE);
  for (let i = 0; i < ENTRIES_PER_TABLE; i++)
    ram.write32(identityTable + 4 * i, (i * PAGE_SIZE) | PTE.P | PTE.RW);
  for (let i = 0; i < (mappedBytes - kernelLoad) / PAGE_SIZE; i++)
    ram.write32(pageTable + 4 * i, (kernelLoad + i * PAGE_SIZE) | PTE.P | PTE.RW);
  ram.write32(pageDirectory, identityTable | PDE.P | PDE.RW);
  ram.write32(pageDirectory + 4 * (split >>> 22), pageTable | PDE.P | PDE.RW);
  mmu.loadCr3(pageDirectory);
  mmu.loadCr0(mmu.cr0 | CR0.PE | CR0.PG);
  const windowVa = split + 1023 * PAGE_SIZE;
  return {
    split,
    kernelLoad,
    kernelSize,
    pageDirectory,
    pageTable,
    identityTable,
    mappedBytes,
    windowVa,
    // The identity table too: paging removes PDE 0 but keeps the frame (one page, not worth a special case).
    reservedPhysical: [{ start: pageDirectory, length: 3 * PAGE_SIZE }],
    reservedVirtual: [
      { start: split, length: mappedBytes - kernelLoad },
      { start: windowVa, length: PAGE_SIZE },
    ],
  };
}
