/**
 * The conformance suite of {@link KernelPageAllocator}: the shipped
 * `Kvmalloc`, Linux's vmalloc (`@mm386/kvmalloc/linux`) and every student's
 * kvmalloc in the workbook run these.
 *
 * ```ts
 * import { describeKvmallocConformance } from "@mm386/kvmalloc/conformance";
 * describeKvmallocConformance("mine", (paging) => new MyKvmalloc(paging));
 * ```
 *
 * The tests are written against a {@link KvmallocHarness}: how to boot the
 * design underneath and read its free counts. {@link describeKvmallocConformance}
 * uses the hobby kernel's; {@link describeKernelPageAllocatorConformance}
 * takes any (`linuxKvmallocHarness` for vmalloc).
 *
 * Needs `vitest` (a peer dependency of this entry point only).
 *
 * @module
 */
import {
  createMachine,
  type Machine,
  type MachineOptions,
  PAGE_SIZE,
  PageFault,
} from "@mm386/hw-i386";
import { expectHex, showWord } from "@mm386/hw-i386/testing";
import { type Paging, PagingError, PTE_PRESENT, startPaging } from "@mm386/paging";
import type { PagingDesign } from "@mm386/paging";
import { bootLinux, type LinuxPaging } from "@mm386/paging/linux";
import { GFP } from "@mm386/allocation/linux";
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

/**
 * What the suite needs to know about the paging design under a
 * {@link KernelPageAllocator}: how to boot it and how to read what it has free.
 *
 * @typeParam P - the paging design.
 */
export interface KvmallocHarness<P extends PagingDesign> {
  /** Boot a fresh machine of (at least) `ramBytes` and return its paging. */
  boot(ramBytes: number): P;
  /** `[free frames, free kernel virtual pages]`, compared before and after. */
  freeCounts(p: P): number[];
  /** How many kernel page tables the design has made so far. */
  kernelTables(p: P): number;
  /** What one kernel page table costs in {@link KvmallocHarness.freeCounts}' terms. */
  readonly tableCost: readonly number[];
  /** Leave free only frames with no free neighbour (so n pages need n separate frames). */
  leaveOnlySingleFrames(p: P): void;
  /**
   * Make the allocator's next call fail after `k` pages (the hobby kernel: mapMem
   * refuses with E_PAST_RAM and the error is rethrown; Linux: the zones run dry, a
   * null). Scatters the free frames first so several runs are needed. Returns the undo
   * and whether the failure is thrown (else a null).
   */
  failAfter(p: P, k: number): KvmallocFailure;
  /** Everything the failed call must leave as it was (free counts, the kernel mappings). */
  state(p: P): unknown;
}

/** What {@link KvmallocHarness.failAfter} planted. */
export interface KvmallocFailure {
  /** Put the design back as it was (the failure removed). */
  readonly undo: () => void;
  /** True: the failed call must throw a PagingError; false: it must return null. */
  readonly throws: boolean;
}

/** Options of {@link describeKvmallocConformance}. */
export interface KvmallocConformanceOptions {
  /** Boots a machine and returns its paging (default: `startPaging(machine)`). */
  readonly start?: (machine: Machine) => Paging;
  /** Makes the machines (default `createMachine`), e.g. with a TLB of your own. */
  readonly machine?: (options: MachineOptions) => Machine;
}

/** The hobby kernel's harness: `startPaging` (or `options.start`), ppalloc/vpalloc counts, kvpd. */
export function hobbyKvmallocHarness(
  options: KvmallocConformanceOptions = {},
): KvmallocHarness<Paging> {
  const start = options.start ?? ((m: Machine) => startPaging(m));
  return {
    boot: (ramBytes) => start((options.machine ?? createMachine)({ ramBytes })),
    freeCounts: (p) => [p.allocators.physical.freePages, p.allocators.kernel.freePages],
    kernelTables: (p) => p.kvpd.filter((t) => t !== null).length,
    tableCost: [1, 1],
    leaveOnlySingleFrames: (p) => {
      const run = p.allocators.ppalloc(64, 64)!;
      for (let i = 0; i < 64; i += 2) p.allocators.ppfree(run.start + i * PAGE_SIZE, 1);
      while (p.allocators.ppalloc(2, 2) !== null); // no two consecutive frames are left
    },
    failAfter: (p, k) => {
      // Scatter the free frames so that kvmalloc(5) needs several runs.
      const run = p.allocators.ppalloc(10, 10)!;
      for (let i = 0; i < 10; i += 2) p.allocators.ppfree(run.start + i * PAGE_SIZE, 1);
      // A mapMem that maps k pages, one at a time, then refuses (as E_PAST_RAM would).
      const real = p.mapMem.bind(p);
      let budget = k;
      p.mapMem = (pd, phys, virt, n, flags) => {
        if ((flags & PTE_PRESENT) === 0) return real(pd, phys, virt, n, flags);
        for (let i = 0; i < n; i++) {
          if (budget-- === 0)
            throw new PagingError(
              "E_PAST_RAM",
              `refused page ${(virt + i * PAGE_SIZE).toString(16)}`,
            );
          if (!real(pd, phys + i * PAGE_SIZE, virt + i * PAGE_SIZE, 1, flags)) return false;
        }
        return true;
      };
      return {
        undo: () => {
          delete (p as { mapMem?: unknown }).mapMem; // the real one again
        },
        throws: true,
      };
    },
    state: (p) => [
      p.allocators.physical.freePages,
      p.allocators.kernel.freePages,
      p.formatDump(p.init),
    ],
  };
}

/** Free virtual pages of Linux's vmalloc area: its size less every region and its guard page. */
function vmallocFreePages(l: LinuxPaging): number {
  const size = (l.layout.vmallocEnd - l.layout.vmallocStart) / PAGE_SIZE;
  return l.vmRegions().reduce((n, r) => n - r.pages - 1, size);
}

/** Free frames of every zone. */
function zoneFree(l: LinuxPaging): number {
  const c = l.zones.freeCounts();
  return c.DMA + c.NORMAL + c.HIGHMEM;
}

/**
 * Linux's harness: `bootLinux` with at least 16 MiB (`options` passed on), the
 * zones' free pages and the vmalloc area's free pages, page tables made since
 * boot (each one low frame, no virtual page: tables live in the direct map).
 */
export function linuxKvmallocHarness(
  options: Parameters<typeof bootLinux>[1] = {},
): KvmallocHarness<LinuxPaging> {
  const takeAll = (l: LinuxPaging): number[] => {
    const got: number[] = [];
    for (
      let f = l.zones.allocPages(GFP.HIGHUSER, 0);
      f !== null;
      f = l.zones.allocPages(GFP.HIGHUSER, 0)
    )
      got.push(f);
    return got;
  };
  return {
    boot: (ramBytes) =>
      bootLinux(createMachine({ ramBytes: Math.max(ramBytes, 16 * MiB) }), options),
    freeCounts: (l) => [zoneFree(l), vmallocFreePages(l)],
    kernelTables: (l) => l.stats.tablesMade,
    tableCost: [1, 0],
    leaveOnlySingleFrames: (l) => {
      for (const f of takeAll(l)) if ((f / PAGE_SIZE) % 2 === 0) l.zones.freePages(f, 0);
    },
    failAfter: (l, k) => {
      // Scatter: keep every other frame of the last 20 taken free, hold the rest.
      const all = takeAll(l);
      all.sort((a, b) => a - b);
      for (const f of all.slice(-20)) if ((f / PAGE_SIZE) % 2 === 0) l.zones.freePages(f, 0);
      // The zones run dry after k more order-0 pages.
      const real = l.zones.allocPages.bind(l.zones);
      let budget = k;
      l.zones.allocPages = (gfp, order) => (order === 0 && budget-- <= 0 ? null : real(gfp, order));
      return {
        undo: () => {
          delete (l.zones as { allocPages?: unknown }).allocPages;
        },
        throws: false,
      };
    },
    state: (l) => [zoneFree(l), vmallocFreePages(l), l.vmRegions(), l.dump(l.reference)],
  };
}

/** Register the conformance tests for the kvmallocs `make` builds on a booted hobby paging. */
export function describeKvmallocConformance(
  name: string,
  make: (paging: Paging) => KernelPageAllocator,
  options: KvmallocConformanceOptions = {},
): void {
  describeKernelPageAllocatorConformance(name, make, hobbyKvmallocHarness(options));
}

/**
 * Register the conformance tests for the allocators `make` builds on any
 * paging design, booted and read through `harness`.
 */
export function describeKernelPageAllocatorConformance<P extends PagingDesign>(
  name: string,
  make: (paging: P) => KernelPageAllocator,
  harness: KvmallocHarness<P>,
): void {
  const setup = (ramBytes = 16 * MiB): { m: Machine; p: P; kv: KernelPageAllocator } => {
    const p = harness.boot(ramBytes);
    return { m: p.machine, p, kv: make(p) };
  };
  const free = (p: P) => harness.freeCounts(p);

  describe(`kvmalloc conformance: ${name}`, () => {
    it("has a name, and reaches its pages through the machine's MMU", () => {
      const { m, kv } = setup();
      expect(typeof kv.name).toBe("string");
      expect(kv.mmu).toBe(m.mmu);
      // What it hands over is through that MMU: a word written there is read back.
      const va = kv.kvmalloc(1)!;
      kv.mmu.write32(va, 0x5eed1234, 0);
      expect(m.mmu.read32(va, 0) >>> 0).toBe(0x5eed1234);
      kv.kvfree(va, 1);
    });

    it("maps n consecutive kernel pages, writable and supervisor-only, to n distinct frames", () => {
      const { m, p, kv } = setup();
      const [phys] = free(p);
      const va = kv.kvmalloc(3)!;
      expect(va).not.toBeNull();
      expect(va % PAGE_SIZE).toBe(0);
      expect(va).toBeGreaterThanOrEqual(p.split);
      const frames = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const w = p.translate(va + i * PAGE_SIZE);
        expect(w.pa, `page ${i}`).not.toBeNull();
        expect(w.writable).toBe(true);
        expect(w.user).toBe(false);
        frames.add(w.pa!);
      }
      expect(frames.size).toBe(3);
      expect(free(p)[0]).toBeLessThanOrEqual(phys! - 3);
      m.mmu.write32(va + 3 * PAGE_SIZE - 4, 7);
      expectHex(
        m.mmu.read32(va + 3 * PAGE_SIZE - 4),
        7,
        `read of ${showWord(va + 3 * PAGE_SIZE - 4)}`,
      );
      expect(() => m.mmu.read32(va, 3)).toThrow(PageFault);
      const other = kv.kvmalloc(1)!;
      if (!(other >= va + 3 * PAGE_SIZE || other + PAGE_SIZE <= va))
        expect.fail(`kvmalloc(1) = ${showWord(other)} overlaps ${showWord(va)} + 3 pages`);
    });

    it("takes frames that need not be consecutive", () => {
      const { p, kv } = setup();
      harness.leaveOnlySingleFrames(p);
      const va = kv.kvmalloc(4);
      expect(va, "kvmalloc(4) with only single free frames left").not.toBeNull();
      const frames = [0, 1, 2, 3].map((i) => p.translate(va! + i * PAGE_SIZE).pa!);
      expect(new Set(frames).size).toBe(4);
    });

    it("kvfree gives back the frames, the pages and the mapping", () => {
      const { m, p, kv } = setup();
      kv.kvfree(kv.kvmalloc(1)!, 1); // let page tables for the region exist first
      const before = free(p);
      const va = kv.kvmalloc(5)!;
      m.mmu.read32(va + PAGE_SIZE); // cached in the TLB: kvfree must invalidate it
      kv.kvfree(va, 5);
      expect(free(p)).toEqual(before);
      expect(() => m.mmu.read32(va + PAGE_SIZE)).toThrow(PageFault);
    });

    it("returns null when memory runs out, keeping only the kernel page tables made on the way", () => {
      const { p, kv } = setup(4 * MiB);
      const [phys, virt] = free(p);
      const tablesBefore = harness.kernelTables(p);
      expect(kv.kvmalloc(phys! + 1)).toBeNull();
      // Only kernel page tables made on the way may stay.
      const made = harness.kernelTables(p) - tablesBefore;
      expect(free(p)).toEqual([
        phys! - made * harness.tableCost[0]!,
        virt! - made * harness.tableCost[1]!,
      ]);
      const va = kv.kvmalloc(2);
      expect(va).not.toBeNull();
    });

    it("gives back every frame, page and mapping when a step fails half-way (a refusal is rethrown)", () => {
      for (let k = 0; k < 5; k++) {
        const { m, p, kv } = setup();
        kv.kvfree(kv.kvmalloc(8)!, 8); // the region's page tables exist from here on
        const broken = harness.failAfter(p, k);
        const scattered = harness.state(p);
        let err: unknown;
        let got: number | null | undefined;
        try {
          got = kv.kvmalloc(5);
        } catch (e) {
          err = e;
        }
        broken.undo();
        if (broken.throws) {
          expect(err, `refused at page ${k}: the error reaches the caller`).toBeInstanceOf(
            PagingError,
          );
        } else {
          expect(err, `failed at page ${k}: no error`).toBeUndefined();
          expect(got, `failed at page ${k}: null`).toBeNull();
        }
        expect(harness.state(p), `failed at page ${k}: everything is back`).toEqual(scattered);
        const va = kv.kvmalloc(5)!;
        m.mmu.write32(va + 4 * PAGE_SIZE, 1);
        kv.kvfree(va, 5);
      }
    });

    it("refuses bad calls with a code naming the address in hex, changing nothing", () => {
      const { p, kv } = setup();
      const va = kv.kvmalloc(2)!;
      const before = free(p);
      const hex = (v: number) => new RegExp(`0x${v.toString(16).padStart(8, "0")}`, "i");
      const foreign = codeOf(() => kv.kvfree(va + PAGE_SIZE, 1));
      expect(foreign?.code).toBe("E_NOT_ALLOCATED");
      expect(foreign?.message).toMatch(hex(va + PAGE_SIZE));
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
      for (let i = 0; i < 3; i++) m.mmu.write32(va + i * PAGE_SIZE, 0x100 + i);
      const phys = free(p)[0]!;
      // Kernel page tables made on the way stay (one frame each), as for kvmalloc.
      const tables = () => harness.kernelTables(p);
      const tablesBefore = tables();
      expectHex(kv.kvresize(va, 3, 2, false), va, "kvresize 3 -> 2 pages (in place)"); // one frame back
      expect(free(p)[0]).toBe(phys + 1);
      expect(() => m.mmu.read32(va + 2 * PAGE_SIZE)).toThrow(PageFault);
      expectHex(
        kv.kvresize(va, 2, 5, false),
        va,
        "kvresize 2 -> 5 pages (within the reserve: in place)",
      );
      expect(free(p)[0]).toBe(phys - 2);
      m.mmu.write32(va + 5 * PAGE_SIZE - 4, 1);
      const to = kv.kvresize(va, 5, 9, true)!; // beyond the reserve: moved (or grown, if it can)
      expect(to).not.toBeNull();
      for (let i = 0; i < 2; i++)
        expectHex(
          m.mmu.read32(to + i * PAGE_SIZE),
          0x100 + i,
          `page ${i} of the moved run at ${showWord(to)}`,
        );
      m.mmu.write32(to + 9 * PAGE_SIZE - 4, 1);
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
          for (let i = 0; i < n; i++)
            expectHex(
              m.mmu.read32(va + i * PAGE_SIZE),
              va + i,
              `page ${i} of ${showWord(va)} (${n} pages)`,
            );
          kv.kvfree(va, n);
          live.delete(va);
        } else {
          const n = 1 + rand(6);
          const va = kv.kvmalloc(n)!;
          for (const [other, k] of live)
            if (!(va + n * PAGE_SIZE <= other || other + k * PAGE_SIZE <= va))
              expect.fail(
                `kvmalloc(${n}) = ${showWord(va)} overlaps ${showWord(other)} + ${k} pages`,
              );
          for (let i = 0; i < n; i++) m.mmu.write32(va + i * PAGE_SIZE, va + i);
          live.set(va, n);
        }
      }
      for (const [va, n] of live) kv.kvfree(va, n);
      // Everything is back but the kernel page tables made on the way.
      expect(free(p)[0]).toBeGreaterThanOrEqual(start[0]! - 4);
    });
  });
}
