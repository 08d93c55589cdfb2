/**
 * Tests written from the survivors of `pnpm mutation kvmalloc` (docs/quality.md,
 * "Survivors worth a test"). Every expectation is worked out by hand from the
 * layout the hobby kernel's allocators give (noted where a test relies on it,
 * and checked as a precondition): frames come back exactly, the out-of-memory
 * and refusal paths of kvresize leave nothing behind, and the messages name
 * the bad value as the contract says.
 */
import { createMachine, PAGE_SIZE } from "@mm386/hw-i386";
import { expectCode, faultOf } from "@mm386/hw-i386/testing";
import {
  hobbyMapMem,
  type MapMem,
  type Paging,
  PagingError,
  PTE_PRESENT,
  startPaging,
} from "@mm386/paging";
import { bootLinux } from "@mm386/paging/linux";
import { firstFitRanges } from "@mm386/allocation";
import { describe, expect, it } from "vitest";
import { Kvmalloc, resizeKernelPages } from "../src/index.js";
import { LinuxVmalloc } from "../src/linux.js";

const MiB = 1024 * 1024;

/** 16 MiB, hobby paging with `mapMem` (the hobby one by default), a kvmalloc on it. */
function setup(guardPages = false, mapMem?: MapMem): { p: Paging; kv: Kvmalloc } {
  const p = startPaging(createMachine({ ramBytes: 16 * MiB }), mapMem ? { mapMem } : {});
  const kv = new Kvmalloc(p, { guardPages });
  // Let the kernel region's page tables exist first: they stay once made (one frame and one
  // kernel page each), which would blur the counts below.
  kv.kvfree(kv.kvmalloc(8)!, 8);
  return { p, kv };
}

/** Take every free frame, one ppalloc run at a time; the frames taken, in order. */
function hogFrames(p: Paging): number[] {
  const out: number[] = [];
  for (let r = p.allocators.ppalloc(1, 64); r; r = p.allocators.ppalloc(1, 64))
    for (let i = 0; i < r.pages; i++) out.push(r.start + i * PAGE_SIZE);
  return out;
}

/** What kvmalloc must give back, observed from outside. */
const state = (p: Paging, kv: Kvmalloc) => ({
  physical: p.allocators.physical.freePages,
  kernel: p.allocators.kernel.freePages,
  mappings: p.formatDump(p.init),
  allocations: kv.allocations,
  pages: kv.pages,
});

/**
 * A mapMem that maps page by page and, once `budget.left` pages are mapped,
 * answers as `refuse` says: false with this call's pages unmapped again (as a
 * mapMem out of page tables does), or a throw (E_PAST_RAM) leaving them mapped.
 * Unmapping always goes through.
 */
function budgeted(budget: { left: number }, refuse: "false" | "throw"): MapMem {
  return {
    name: `refuses after a budget (${refuse})`,
    map(k, pd, phys, virt, n, flags) {
      if ((flags & PTE_PRESENT) === 0) return hobbyMapMem.map(k, pd, phys, virt, n, flags);
      for (let i = 0; i < n; i++) {
        if (budget.left === 0) {
          if (refuse === "throw")
            throw new PagingError("E_PAST_RAM", `refusing ${virt + i * PAGE_SIZE}`);
          // False promises that no mapping changed (MapMem's contract): undo this call's pages.
          if (i > 0) hobbyMapMem.map(k, pd, 0, virt, i, 0);
          return false;
        }
        budget.left--;
        if (!hobbyMapMem.map(k, pd, phys + i * PAGE_SIZE, virt + i * PAGE_SIZE, 1, flags))
          return false;
      }
      return true;
    },
  };
}

describe("kvmalloc survivors: names, defaults and messages", () => {
  it("is named kvmalloc, as is its page source, and Linux's is named vmalloc", () => {
    const { kv } = setup();
    expect(kv.name).toBe("kvmalloc");
    expect(kv.asPageSource().name).toBe("kvmalloc");
    expect(new LinuxVmalloc(bootLinux(createMachine({ ramBytes: 16 * MiB }))).name).toBe("vmalloc");
  });

  it("has no guard page by default: kvmalloc(3) takes 3 kernel pages, 4 with guardPages", () => {
    for (const [guardPages, want] of [
      [undefined, 3],
      [false, 3],
      [true, 4],
    ] as const) {
      const p = startPaging(createMachine({ ramBytes: 16 * MiB }));
      const kv = new Kvmalloc(p, guardPages === undefined ? {} : { guardPages });
      expect(kv.guardPages).toBe(guardPages ?? false);
      kv.kvfree(kv.kvmalloc(8)!, 8);
      const before = p.allocators.kernel.freePages;
      kv.kvmalloc(3);
      expect(before - p.allocators.kernel.freePages, `guardPages ${guardPages}`).toBe(want);
    }
  });

  it("names what is wrong in each constructor refusal", () => {
    const { p } = setup();
    expectCode(() => new Kvmalloc(5 as never), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: 5 is not a Paging \(startPaging's result\)$/,
    });
    expectCode(() => new Kvmalloc(p, null as never), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: options null must be an object \{ guardPages\? \}$/,
    });
    expectCode(() => new Kvmalloc(p, { guardPage: true } as never), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: unknown option "guardPage" \(known: guardPages\)$/,
    });
    expectCode(() => new Kvmalloc(p, { guardPages: 1 } as never), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: guardPages 1 must be true or false$/,
    });
  });

  it("names an address in hex and anything else as what it is", () => {
    const { kv } = setup();
    const va = kv.kvmalloc(2)!;
    const not = (v: string) =>
      new RegExp(`^E_NOT_ALLOCATED: ${v} is not an address kvmalloc returned`);
    expectCode(() => kv.kvfree(0, 1), "E_NOT_ALLOCATED", { message: not("0x00000000") });
    expectCode(() => kv.kvfree(0xc000_1000, 1), "E_NOT_ALLOCATED", { message: not("0xc0001000") });
    expectCode(() => kv.kvfree(-4096, 1), "E_NOT_ALLOCATED", { message: not("-4096") });
    expectCode(() => kv.kvfree(4096.5, 1), "E_NOT_ALLOCATED", { message: not("4096.5") });
    expectCode(() => kv.kvfree(va, 3), "E_WRONG_SIZE", {
      message: new RegExp(`^E_WRONG_SIZE: 0x${va.toString(16)} holds 2 page\\(s\\), not 3$`),
    });
    expectCode(() => kv.kvresize(va, 2, 0, true), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: page count 0 must be a positive integer$/,
    });
  });
});

describe("kvmalloc survivors: out of memory leaves nothing behind", () => {
  it("returns null when the kernel's virtual space has no run that long (1 GiB is 262144 pages)", () => {
    const { p, kv } = setup();
    const va = kv.kvmalloc(1)!;
    p.mmu.write32(va, 0x1234);
    const before = state(p, kv);
    expect(kv.kvmalloc(300_000)).toBeNull();
    // Moving to 200000 pages would reserve 300000: no virtual run, so null and nothing moved.
    expect(kv.kvresize(va, 1, 200_000, true)).toBeNull();
    expect(state(p, kv)).toEqual(before);
    expect(p.mmu.read32(va)).toBe(0x1234);
  });

  it("returns null, not an error, when there is no free frame at all", () => {
    const { p, kv } = setup();
    const va = kv.kvmalloc(1, 2)!;
    hogFrames(p);
    const before = state(p, kv);
    expect(kv.kvmalloc(1)).toBeNull();
    expect(kv.kvresize(va, 1, 2, false)).toBeNull(); // grow in place: no frame for page 1
    expect(state(p, kv)).toEqual(before);
  });

  it("returns null and unmaps what it mapped when mapMem answers false half-way", () => {
    for (const guardPages of [false, true])
      for (let k = 0; k < 4; k++) {
        const budget = { left: Infinity };
        const { p, kv } = setup(guardPages, budgeted(budget, "false"));
        const before = state(p, kv);
        budget.left = k;
        expect(kv.kvmalloc(4), `false at page ${k}`).toBeNull();
        expect(state(p, kv), `false at page ${k}, guard pages ${guardPages}`).toEqual(before);
      }
  });

  it("unmaps only the pages a failed grow in place mapped, not the allocation after its reserve", () => {
    const { p, kv } = setup();
    // A 3-page reserve is a 4-page virtual block whose last page goes back: the next
    // kvmalloc(1) takes it, right after the reserve (checked, as the test relies on it).
    const a = kv.kvmalloc(1, 3)!;
    const b = kv.kvmalloc(1)!;
    expect(b).toBe(a + 3 * PAGE_SIZE);
    p.mmu.write32(a, 0xaaaa);
    p.mmu.write32(b, 0xbbbb);
    const hog = hogFrames(p);
    p.allocators.ppfree(hog[0]!, 1); // one free frame: page 1 maps, page 2 finds none
    const before = state(p, kv);
    expect(kv.kvresize(a, 1, 3, false)).toBeNull();
    expect(state(p, kv)).toEqual(before);
    faultOf(() => p.mmu.read32(a + PAGE_SIZE)); // the page mapped on the way is unmapped again
    expect(p.mmu.read32(a)).toBe(0xaaaa);
    expect(p.mmu.read32(b)).toBe(0xbbbb);
  });

  it("gives back the new run and keeps the old one when a move runs out of frames", () => {
    for (const guardPages of [false, true]) {
      const { p, kv } = setup(guardPages);
      const va = kv.kvmalloc(1)!;
      p.mmu.write32(va, 0x5678);
      const hog = hogFrames(p);
      p.allocators.ppfree(hog[0]!, 1); // page 1 of the new run maps, page 2 finds no frame
      const before = state(p, kv);
      expect(kv.kvresize(va, 1, 3, true), `guard pages ${guardPages}`).toBeNull();
      expect(state(p, kv), `guard pages ${guardPages}`).toEqual(before);
      expect(p.mmu.read32(va)).toBe(0x5678);
      kv.kvfree(va, 1);
    }
  });

  it("gives back the new run and rethrows when mapMem refuses during a move", () => {
    for (const guardPages of [false, true])
      for (const k of [0, 1, 2]) {
        const budget = { left: Infinity };
        const { p, kv } = setup(guardPages, budgeted(budget, "throw"));
        const va = kv.kvmalloc(1)!;
        p.mmu.write32(va, 0x9abc);
        const before = state(p, kv);
        budget.left = k; // 0: the old frame's remap throws; 1, 2: a new frame's
        expect(() => kv.kvresize(va, 1, 3, true), `refused at page ${k}`).toThrow(/E_PAST_RAM/);
        expect(state(p, kv), `refused at page ${k}, guard pages ${guardPages}`).toEqual(before);
        expect(p.mmu.read32(va)).toBe(0x9abc);
      }
  });
});

describe("kvmalloc survivors: kvresize's bounds and virtual pages", () => {
  it("shrinks without touching the allocation after it, and a same-size resize changes nothing", () => {
    const { p, kv } = setup();
    const a = kv.kvmalloc(3)!;
    const b = kv.kvmalloc(1)!;
    expect(b).toBe(a + 3 * PAGE_SIZE); // as above: the 4-page block's last page
    p.mmu.write32(b, 0xbbbb);
    const same = state(p, kv);
    expect(kv.kvresize(a, 3, 3, false)).toBe(a);
    expect(state(p, kv)).toEqual(same);
    expect(kv.kvresize(a, 3, 1, false)).toBe(a);
    faultOf(() => p.mmu.read32(a + 2 * PAGE_SIZE));
    expect(p.mmu.read32(b)).toBe(0xbbbb);
    expect(kv.pages).toBe(2);
  });

  it("grows in place up to exactly the reserve", () => {
    const { p, kv } = setup();
    const a = kv.kvmalloc(2, 4)!;
    expect(kv.kvresize(a, 2, 4, false)).toBe(a);
    p.mmu.write32(a + 4 * PAGE_SIZE - 4, 1);
    expect(kv.pages).toBe(4);
  });

  it("counts the guard page when it moves: 3 + 1 back, 6 + 1 taken", () => {
    const { p, kv } = setup(true);
    const k0 = p.allocators.kernel.freePages;
    const a = kv.kvmalloc(3)!;
    expect(p.allocators.kernel.freePages).toBe(k0 - 4);
    const moved = kv.kvresize(a, 3, 4, true)!;
    expect(moved).not.toBe(a);
    // The new reserve is 4 + 4 / 2 = 6 pages, and a guard page after it.
    expect(p.allocators.kernel.freePages).toBe(k0 - 7);
    faultOf(() => p.mmu.read32(moved + 4 * PAGE_SIZE));
    kv.kvfree(moved, 4);
    expect(p.allocators.kernel.freePages).toBe(k0);
  });
  it("does not move into a run too short for the new reserve and its guard page", () => {
    // First fit over a bitmap, so that vpalloc(min, max) can answer a run shorter than max
    // (the default buddy rounds min up to a block that holds max too).
    const p = startPaging(createMachine({ ramBytes: 16 * MiB }), {
      rangeAllocator: firstFitRanges,
    });
    const kv = new Kvmalloc(p, { guardPages: true });
    const a = kv.kvmalloc(3)!;
    // Take every kernel virtual page, then give back one run of 6: a move to 4 pages needs
    // 4 + 2 reserved + 1 guard = 7, so it must answer null.
    const first = p.allocators.vpalloc(1, 1 << 20)!;
    while (p.allocators.vpalloc(1, 1 << 20) !== null);
    p.allocators.vpfree(first.start, 6);
    const before = state(p, kv);
    expect(kv.kvresize(a, 3, 4, true)).toBeNull();
    expect(state(p, kv)).toEqual(before);
  });
});

describe("kvmalloc survivors: kvfree gives back exactly the frames it took", () => {
  // ppalloc hands out single frames last freed first (checked through the frames mapped).
  // 0x2a4000's buddy is 0x2a5000, so 0x2a3000 and 0x2a4000 stay two single frames.
  for (const [name, frees, taken] of [
    ["two frames taken in falling order", [0x2a3000, 0x2a4000], [0x2a4000, 0x2a3000]],
    [
      "three single frames, the last two in falling order",
      [0x2a1000, 0x2a2000, 0x2a6000],
      [0x2a6000, 0x2a2000, 0x2a1000],
    ],
  ] as const)
    it(name, () => {
      const { p, kv } = setup();
      hogFrames(p);
      for (const f of frees) p.allocators.ppfree(f, 1);
      const va = kv.kvmalloc(frees.length)!;
      expect(frees.map((_, i) => p.translate(va + i * PAGE_SIZE).pa)).toEqual(taken);
      kv.kvfree(va, frees.length);
      // Exactly those frames are free again, no neighbour of theirs.
      expect(hogFrames(p).sort((x, y) => x - y)).toEqual([...frees].sort((x, y) => x - y));
    });
});

describe("resizeKernelPages survivors", () => {
  it("uses the allocator's own kvresize when it has one (it shrinks in place)", () => {
    const { kv } = setup();
    const va = kv.kvmalloc(4)!;
    expect(resizeKernelPages(kv, va, 4, 2, false)).toBe(va);
    expect(kv.pages).toBe(2);
  });

  it("returns null and keeps the block when an allocator without kvresize is out of memory", () => {
    const { p, kv } = setup();
    const plain = {
      name: "plain",
      mmu: p.mmu,
      kvmalloc: (n: number) => kv.kvmalloc(n),
      kvfree: (a: number, n: number) => kv.kvfree(a, n),
    };
    const va = plain.kvmalloc(1)!;
    p.mmu.write32(va + 8, 77);
    hogFrames(p);
    expect(resizeKernelPages(plain, va, 1, 2, true)).toBeNull();
    expect(p.mmu.read32(va + 8)).toBe(77);
    expect(kv.pages).toBe(1);
  });
});

describe("LinuxVmalloc survivors", () => {
  const kv = () => new LinuxVmalloc(bootLinux(createMachine({ ramBytes: 16 * MiB })));

  it("refuses a page count below 1 itself, naming it", () => {
    for (const n of [0, -1])
      expectCode(() => kv().kvmalloc(n), "E_BAD_ARGUMENT", {
        message: new RegExp(`^E_BAD_ARGUMENT: page count ${n} must be a positive integer$`),
      });
  });

  it("names an address in hex and anything else as what it is", () => {
    const v = kv();
    const not = (s: string) =>
      new RegExp(`^E_NOT_ALLOCATED: ${s} is not an address vmalloc returned`);
    expectCode(() => v.kvfree(0, 1), "E_NOT_ALLOCATED", { message: not("0x00000000") });
    expectCode(() => v.kvfree(-4096, 1), "E_NOT_ALLOCATED", { message: not("-4096") });
    expectCode(() => v.kvfree(4096.5, 1), "E_NOT_ALLOCATED", { message: not("4096.5") });
  });
});
