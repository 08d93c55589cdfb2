/**
 * The inspection functions against hand-built page tables and hand-worked
 * expectations, and against independent views of the same stack (malloc's
 * own block walk through the MMU, the physical allocator's counters).
 */
import { CR0, CR4, PAGE_SIZE, createMachine } from "@mm386/hw-i386";
import { type Malloc, type Stack, createStack } from "@mm386/malloc";
import { describe, expect, test } from "vitest";
import {
  OWNER,
  directoryView,
  extrasFor,
  heapBlocks,
  inspectStack,
  kernelFrames,
  tableView,
  tlbView,
} from "@mm386/viewer";

const DIR = 0x10_0000;
const TABLE = 0x10_1000;

/** A machine with one directory at DIR: PDE 0 -> TABLE (PTE 5 -> 0x300000 user rw), PDE 3 a 4 MiB page, PDE 1023 -> DIR itself. */
function handMachine() {
  const m = createMachine({ ramBytes: 16 * 1024 * 1024 });
  m.ram.write32(DIR + 0 * 4, TABLE | 0x007); // P RW US
  m.ram.write32(DIR + 3 * 4, 0x0040_0000 | 0x083); // P RW PS
  m.ram.write32(DIR + 1023 * 4, DIR | 0x003); // P RW: the self-map
  m.ram.write32(TABLE + 5 * 4, 0x30_0000 | 0x007);
  m.ram.write32(TABLE + 6 * 4, 0x30_1000 | 0x001); // P only: read-only, supervisor
  m.mmu.loadCr4(CR4.PSE);
  m.mmu.loadCr3(DIR);
  m.mmu.loadCr0(m.mmu.cr0 | CR0.PE | CR0.PG);
  return m;
}

describe("page directory and table views", () => {
  test("the hand-built directory reads as built", () => {
    const m = handMachine();
    const d = directoryView(m, DIR);
    expect(d).toHaveLength(1024);
    expect(d.filter((e) => e.present).map((e) => e.index)).toEqual([0, 3, 1023]);
    expect(d[0]).toMatchObject({
      present: true,
      user: true,
      writable: true,
      large: false,
      frame: TABLE,
      special: null,
    });
    expect(d[3]).toMatchObject({ large: true, user: false, frame: 0x40_0000 });
    expect(d[1023]).toMatchObject({ special: "self-map", frame: DIR });
    expect(directoryView(m, DIR, [{ index: 3, label: "big" }])[3]!.special).toBe("big");
  });

  test("PS means nothing without CR4.PSE", () => {
    const m = handMachine();
    m.mmu.loadCr4(0);
    expect(directoryView(m, DIR)[3]!.large).toBe(false);
  });

  test("a page table lists its PTEs; a PDE without a table gives null", () => {
    const m = handMachine();
    const t = tableView(m, DIR, 0)!;
    expect(t.filter((e) => e.present).map((e) => [e.index, e.frame, e.user, e.writable])).toEqual([
      [5, 0x30_0000, true, true],
      [6, 0x30_1000, false, false],
    ]);
    expect(tableView(m, DIR, 3)).toBeNull(); // a 4 MiB page
    expect(tableView(m, DIR, 7)).toBeNull(); // not present
  });
});

describe("the TLB view", () => {
  test("an entry is stale when its PTE changed without invlpg, and not after it", () => {
    const m = handMachine();
    m.mmu.read32(0x5000, 3); // PDE 0, PTE 5: cached
    m.mmu.read32(0x6000, 0); // PTE 6
    expect(tlbView(m).entries.map((e) => [e.vpn, e.stale])).toEqual([
      [5, false],
      [6, false],
    ]);
    m.ram.write32(TABLE + 5 * 4, 0x30_2000 | 0x007); // another frame, no invlpg
    m.ram.write32(TABLE + 6 * 4, 0x30_1000 | 0x003); // same frame, now writable
    const v = tlbView(m);
    expect(v.entries.map((e) => [e.vpn, e.pfn, e.stale])).toEqual([
      [5, 0x300, true],
      [6, 0x301, true],
    ]);
    m.mmu.invlpg(0x5000);
    expect(tlbView(m).entries.map((e) => [e.vpn, e.stale])).toEqual([[6, true]]);
  });

  test("counts hits and misses as the MMU does, and reads nothing through it", () => {
    const m = handMachine();
    m.mmu.read32(0x5000, 3);
    m.mmu.read32(0x5004, 3);
    m.mmu.read32(0x5008, 3);
    const before = m.mmu.stats;
    const v = tlbView(m, new Map([[5, 2]]));
    expect([v.hits, v.misses]).toEqual([2, 1]);
    expect(v.entries[0]!.hits).toBe(2);
    expect(m.mmu.stats).toEqual(before); // looking did not access anything
  });
});

describe("a whole stack", () => {
  function busyStack(): Stack {
    const s = createStack({ ramBytes: 16 * 1024 * 1024 });
    for (const n of [24, 200, 3000, 70_000]) s.heap.malloc(n); // 64 KiB and up: a large block
    const a = s.paging.createAddressSpace()!;
    const f = s.paging.allocFrames(3)!;
    s.paging.map(a, 0x0804_8000, f, 3, 0x7);
    return s;
  }

  test("the heap's blocks found physically are the blocks malloc walks through the MMU", () => {
    const s = busyStack();
    const mine = heapBlocks(s.machine, s.mmu.cr3, s.paging.split, (s.heap as Malloc).extents());
    const malloc = (s.heap as unknown as { blocks(): unknown[] }).blocks();
    expect(new Set(mine.map((b) => JSON.stringify(b)))).toEqual(
      new Set(malloc.map((b) => JSON.stringify(b))),
    );
    expect(mine.filter((b) => b.allocated && !b.large)).toHaveLength(3);
    expect(mine.filter((b) => b.large)).toHaveLength(1);
  });

  test("every RAM frame has one owner; free frames are the allocator's free pages", () => {
    const s = busyStack();
    const boot = kernelFrames(s);
    const v = inspectStack(s, extrasFor(s), { bootKernel: boot });
    const ram = (16 * 1024 * 1024) / PAGE_SIZE;
    expect(Object.values(v.ownerTotals).reduce((a, b) => a + b, 0)).toBe(ram);
    expect(v.physical.reduce((a, r) => a + r.frames, 0)).toBe(ram);
    // Runs are in order, touch, and never repeat an owner side by side.
    v.physical.forEach((r, i) => {
      const next = v.physical[i + 1];
      if (next) {
        expect(next.startPfn).toBe(r.startPfn + r.frames);
        expect(next.owner).not.toBe(r.owner);
      }
    });
    expect(v.ownerTotals[OWNER.FREE]).toBe(s.allocators.physical.freePages);
    expect(v.ownerTotals[OWNER.USER]).toBe(3);
    // Two directories (init and the new space), the new space's user table, and the kernel tables.
    expect(v.ownerTotals[OWNER.PAGE_TABLE]).toBeGreaterThanOrEqual(3);
    // 40 000 bytes is a large block: 10 pages of its own, plus the chunks.
    expect(v.ownerTotals[OWNER.HEAP]).toBeGreaterThanOrEqual(10);
    // The first MiB is not RAM the allocator hands out.
    expect(v.physical[0]).toMatchObject({ owner: OWNER.RESERVED, startPfn: 0 });
  });

  test("the buddy free lists hold exactly the free frames", () => {
    const s = busyStack();
    const v = inspectStack(s, extrasFor(s));
    const units = v.buddy!.lists.reduce((n, l, k) => n + l.length * 2 ** k, 0);
    expect(units).toBe(s.allocators.physical.freePages);
    // Each block is aligned to its order (relative to the buddy's base).
    v.buddy!.lists.forEach((l, k) => l.forEach((pfn) => expect(pfn % 2 ** k).toBe(0)));
  });

  test("a design without extras still shows its tables and TLB, with owners it can tell", () => {
    const s = busyStack();
    const bare = { ...s, designName: "other", design: s.design };
    const v = inspectStack(bare, extrasFor(bare));
    expect(v.buddy).toBeNull();
    expect(v.ownerTotals[OWNER.FREE]).toBe(0);
    expect(v.ownerTotals[OWNER.UNKNOWN]).toBeGreaterThan(0);
    expect(v.directory[768]!.present).toBe(true);
  });
});
