/**
 * The conformance suite of {@link KernelPageAllocator}: the shipped
 * `Kvmalloc` and every student's kvmalloc in the workbook run these.
 *
 * ```ts
 * import { describeKvmallocConformance } from "@mm386/kvmalloc/conformance";
 * describeKvmallocConformance("mine", (paging) => new MyKvmalloc(paging));
 * ```
 *
 * Needs `vitest` (a peer dependency of this entry point only).
 *
 * @module
 */
import { createMachine, type Machine, type MachineOptions, PageFault } from "@mm386/hw-i386";
import { type Paging, PagingError, PTE_PRESENT, startPaging } from "@mm386/paging";
import { describe, expect, it } from "vitest";
import type { KernelPageAllocator } from "./api.js";

const MiB = 1024 * 1024;

function codeOf(f: () => unknown): { code: unknown; message: string } | null {
  try {
    f();
  } catch (e) {
    return { code: (e as { code?: unknown }).code, message: (e as Error).message };
  }
  return null;
}

/** Options of {@link describeKvmallocConformance}. */
export interface KvmallocConformanceOptions {
  /** Boots a machine and returns its paging (default: `startPaging(machine)`). */
  readonly start?: (machine: Machine) => Paging;
  /** Makes the machines (default `createMachine`), e.g. with a TLB of your own. */
  readonly machine?: (options: MachineOptions) => Machine;
}

/** Register the conformance tests for the kvmallocs `make` builds on a booted paging. */
export function describeKvmallocConformance(
  name: string,
  make: (paging: Paging) => KernelPageAllocator,
  options: KvmallocConformanceOptions = {},
): void {
  const start = options.start ?? ((m: Machine) => startPaging(m));
  const setup = (ramBytes = 16 * MiB): { m: Machine; p: Paging; kv: KernelPageAllocator } => {
    const m = (options.machine ?? createMachine)({ ramBytes });
    const p = start(m);
    return { m, p, kv: make(p) };
  };
  const free = (p: Paging) => [p.allocators.physical.freePages, p.allocators.kernel.freePages];

  describe(`kvmalloc conformance: ${name}`, () => {
    it("has a name and the paging it was given", () => {
      const { p, kv } = setup();
      expect(typeof kv.name).toBe("string");
      expect(kv.paging).toBe(p);
    });

    it("maps n consecutive kernel pages, writable and supervisor-only, to n distinct frames", () => {
      const { m, p, kv } = setup();
      const [phys] = free(p);
      const va = kv.kvmalloc(3)!;
      expect(va).not.toBeNull();
      expect(va % 4096).toBe(0);
      expect(va).toBeGreaterThanOrEqual(p.split);
      const frames = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const w = p.translate(va + i * 4096);
        expect(w.pa, `page ${i}`).not.toBeNull();
        expect(w.writable).toBe(true);
        expect(w.user).toBe(false);
        frames.add(w.pa!);
      }
      expect(frames.size).toBe(3);
      expect(free(p)[0]).toBeLessThanOrEqual(phys! - 3);
      m.mmu.write32(va + 3 * 4096 - 4, 7);
      expect(m.mmu.read32(va + 3 * 4096 - 4)).toBe(7);
      expect(() => m.mmu.read32(va, 3)).toThrow(PageFault);
      const other = kv.kvmalloc(1)!;
      expect(other >= va + 3 * 4096 || other + 4096 <= va).toBe(true);
    });

    it("takes frames that need not be consecutive", () => {
      const { p, kv } = setup();
      const run = p.allocators.ppalloc(64, 64)!;
      for (let i = 0; i < 64; i += 2) p.allocators.ppfree(run.start + i * 4096, 1);
      while (p.allocators.ppalloc(2, 2) !== null); // no two consecutive frames are left
      const va = kv.kvmalloc(4);
      expect(va, "kvmalloc(4) with only single free frames left").not.toBeNull();
      const frames = [0, 1, 2, 3].map((i) => p.translate(va! + i * 4096).pa!);
      expect(new Set(frames).size).toBe(4);
    });

    it("kvfree gives back the frames, the pages and the mapping", () => {
      const { m, p, kv } = setup();
      kv.kvfree(kv.kvmalloc(1)!, 1); // let page tables for the region exist first
      const before = free(p);
      const va = kv.kvmalloc(5)!;
      m.mmu.read32(va + 4096); // cached in the TLB: kvfree must invalidate it
      kv.kvfree(va, 5);
      expect(free(p)).toEqual(before);
      expect(() => m.mmu.read32(va + 4096)).toThrow(PageFault);
    });

    it("returns null when memory runs out, keeping only the kernel page tables made on the way", () => {
      const { p, kv } = setup(4 * MiB);
      const tables = () => p.kvpd.filter((t) => t !== null).length;
      const [phys, virt] = free(p);
      const tablesBefore = tables();
      expect(kv.kvmalloc(phys! + 1)).toBeNull();
      // Only kernel page tables made on the way may stay (one frame and one kernel page each).
      const made = tables() - tablesBefore;
      expect(free(p)).toEqual([phys! - made, virt! - made]);
      const va = kv.kvmalloc(2);
      expect(va).not.toBeNull();
    });

    it("gives back every frame, page and mapping when mapMem refuses a page half-way, then rethrows", () => {
      for (let k = 0; k < 5; k++) {
        const { m, p, kv } = setup();
        kv.kvfree(kv.kvmalloc(8)!, 8); // the region's page tables exist from here on
        // Scatter the free frames so that kvmalloc(5) needs several runs.
        const run = p.allocators.ppalloc(10, 10)!;
        for (let i = 0; i < 10; i += 2) p.allocators.ppfree(run.start + i * 4096, 1);
        const state = () => [...free(p), p.formatDump(p.init)];
        const before = state();
        // A mapMem that maps k pages, one at a time, then refuses (as E_PAST_RAM would).
        const real = p.mapMem.bind(p);
        let budget = k;
        p.mapMem = (pd, phys, virt, n, flags) => {
          if ((flags & PTE_PRESENT) === 0) return real(pd, phys, virt, n, flags);
          for (let i = 0; i < n; i++) {
            if (budget-- === 0)
              throw new PagingError("E_PAST_RAM", `refused page ${(virt + i * 4096).toString(16)}`);
            if (!real(pd, phys + i * 4096, virt + i * 4096, 1, flags)) return false;
          }
          return true;
        };
        let err: unknown;
        try {
          kv.kvmalloc(5);
        } catch (e) {
          err = e;
        }
        delete (p as { mapMem?: unknown }).mapMem; // the real one again
        expect(err, `refused at page ${k}: the error reaches the caller`).toBeInstanceOf(
          PagingError,
        );
        expect(state(), `refused at page ${k}: everything is back`).toEqual(before);
        const va = kv.kvmalloc(5)!;
        m.mmu.write32(va + 4 * 4096, 1);
        kv.kvfree(va, 5);
      }
    });

    it("refuses bad calls with a code naming the address in hex, changing nothing", () => {
      const { p, kv } = setup();
      const va = kv.kvmalloc(2)!;
      const before = free(p);
      const hex = (v: number) => new RegExp(`0x${v.toString(16).padStart(8, "0")}`, "i");
      const foreign = codeOf(() => kv.kvfree(va + 4096, 1));
      expect(foreign?.code).toBe("E_NOT_ALLOCATED");
      expect(foreign?.message).toMatch(hex(va + 4096));
      const wrong = codeOf(() => kv.kvfree(va, 3));
      expect(wrong?.code).toBe("E_WRONG_SIZE");
      expect(wrong?.message).toMatch(hex(va));
      expect(codeOf(() => kv.kvmalloc(0))?.code).toBe("E_BAD_ARGUMENT");
      expect(codeOf(() => kv.kvmalloc(1.5))?.code).toBe("E_BAD_ARGUMENT");
      expect(free(p)).toEqual(before);
      kv.kvfree(va, 2);
      expect(codeOf(() => kv.kvfree(va, 2))?.code).toBe("E_NOT_ALLOCATED");
    });

    // Only for allocators that have the optional kvresize (resizeKernelPages is the default otherwise).
    it("kvresize, if there is one: shrinks, grows and moves keeping the contents, and the page count", () => {
      const { m, p, kv } = setup();
      if (kv.kvresize === undefined) return;
      const va = kv.kvmalloc(3, 6)!;
      for (let i = 0; i < 3; i++) m.mmu.write32(va + i * 4096, 0x100 + i);
      const phys = free(p)[0]!;
      // Kernel page tables made on the way stay (one frame each), as for kvmalloc.
      const tables = () => p.kvpd.filter((t) => t !== null).length;
      const tablesBefore = tables();
      expect(kv.kvresize(va, 3, 2, false)).toBe(va); // shrink in place: one frame back
      expect(free(p)[0]).toBe(phys + 1);
      expect(() => m.mmu.read32(va + 2 * 4096)).toThrow(PageFault);
      expect(kv.kvresize(va, 2, 5, false)).toBe(va); // within the reserve: in place
      expect(free(p)[0]).toBe(phys - 2);
      m.mmu.write32(va + 5 * 4096 - 4, 1);
      const to = kv.kvresize(va, 5, 9, true)!; // beyond the reserve: moved (or grown, if it can)
      expect(to).not.toBeNull();
      for (let i = 0; i < 2; i++) expect(m.mmu.read32(to + i * 4096)).toBe(0x100 + i);
      m.mmu.write32(to + 9 * 4096 - 4, 1);
      expect(() => kv.kvresize!(to, 5, 6, true)).toThrow(); // the wrong size: refused
      kv.kvfree(to, 9);
      expect(free(p)[0]).toBe(phys + 3 - (tables() - tablesBefore));
    });

    it("keeps many allocations apart and data intact through a churn of kvmalloc/kvfree", () => {
      const { m, p, kv } = setup(32 * MiB);
      const start = free(p);
      const live = new Map<number, number>();
      let seed = 7;
      const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
      for (let step = 0; step < 300; step++) {
        if (live.size > 0 && rand(3) === 0) {
          const keys = [...live.keys()];
          const va = keys[rand(keys.length)]!;
          const n = live.get(va)!;
          for (let i = 0; i < n; i++) expect(m.mmu.read32(va + i * 4096)).toBe(va + i);
          kv.kvfree(va, n);
          live.delete(va);
        } else {
          const n = 1 + rand(6);
          const va = kv.kvmalloc(n)!;
          for (const [other, k] of live)
            expect(va + n * 4096 <= other || other + k * 4096 <= va).toBe(true);
          for (let i = 0; i < n; i++) m.mmu.write32(va + i * 4096, va + i);
          live.set(va, n);
        }
      }
      for (const [va, n] of live) kv.kvfree(va, n);
      // Everything is back but the kernel page tables made on the way.
      expect(free(p)[0]).toBeGreaterThanOrEqual(start[0]! - 4);
    });
  });
}
