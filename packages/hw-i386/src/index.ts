/**
 * @mm386/hw-i386: the simulated i386 machine that every other mm386 layer runs
 * on. Sparse physical RAM with an e820 memory map, CR0/CR2/CR3/CR4, the 32-bit
 * paging walk exactly as the Intel SDM gives it, a configurable TLB, page
 * faults, an event stream and read-only inspection.
 *
 * @packageDocumentation
 */
export * from "./api.js";
export * from "./errors.js";
export { PhysicalMemory, defaultMemoryMap, type PhysicalMemoryOptions } from "./ram.js";
export * from "./tlb.js";
export { Mmu, type MmuOptions } from "./mmu.js";
export * from "./inspect.js";
export { walkTables, permits, newWalkState, type WalkState, type WalkMemory } from "./walk.js";
export * from "./machine.js";
export * from "./deprecated.js";
