/**
 * One call from a fresh machine to a running Linux memory manager.
 *
 * @module
 */
import type { Machine } from "@mm386/hw-i386";
import { type LinuxBootOptions, memInit, pagingInit, setupMemory, startLinuxBoot } from "./boot.js";
import { LinuxPaging } from "./paging.js";

/**
 * Boot Linux on i386 on `machine` (paging off, any e820 map with at least
 * 16 MiB): head.S, setup_memory (bootmem), paging_init (the direct map in
 * swapper_pg_dir), mem_init (bootmem handed to the zones, highmem freed,
 * the identity map zapped). Returns the design, running on swapper_pg_dir.
 * Bad options or an unusable machine: a typed E_BAD_CONFIG error before
 * anything is written.
 */
export function bootLinux(machine: Machine, options: LinuxBootOptions = {}): LinuxPaging {
  const ctx = startLinuxBoot(machine, options);
  setupMemory(ctx);
  pagingInit(ctx);
  memInit(ctx);
  return new LinuxPaging(ctx);
}
