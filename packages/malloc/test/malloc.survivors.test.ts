/**
 * Tests written from the survivors of `pnpm mutation malloc` (docs/quality.md,
 * "Survivors worth a test"): the heap core's block handling, worked out by hand
 * on the smallest heap whose every word can be named.
 *
 * The heap: address-ordered first fit (one control word), align 8, no slabs,
 * no quick lists, one page. By hand, from the layout in api.ts: the region's
 * magic at S, the free list head at S+4, the first block at S+16 (its header
 * at S+12), the epilogue header at S+4092. malloc(32) makes a 40-byte block
 * (32 + the 4-byte header, rounded up to 8), so four of them are a = S+16,
 * b = S+56, c = S+96, d = S+136, and the wilderness is the free block of
 * 4080 - 160 = 3920 bytes at S+176. A header is size | PREV_ALLOC (2) |
 * ALLOC (1): 0x2b for a live 40-byte block after a live one.
 */
import { describe, expect, it } from "vitest";
import { Malloc, MallocError, POLICIES, createStack } from "../src/index.js";

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/** A fresh heap as in the header comment, with `live` blocks of 32 bytes from a. */
function setup(live = 4) {
  const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
  const heap = new Malloc(stack.kv, {
    policy: POLICIES["first-fit"],
    sizeClasses: false,
    quickLists: false,
  });
  const mmu = stack.mmu;
  const S = heap.extents()[0]!.start;
  const ptrs = Array.from({ length: live }, () => heap.malloc(32)!);
  expect(ptrs).toEqual([16, 56, 96, 136].slice(0, live).map((o) => S + o));
  /** Every word of the page, the heap's picture (or why it cannot be drawn) and its counters. */
  const snapshot = () => {
    const words: number[] = [];
    for (let va = S; va < S + 4096; va += 4) words.push(mmu.read32(va));
    let dump: string;
    try {
      dump = heap.dump();
    } catch (e) {
      dump = String(e); // a header damaged to reach past the region: the walk faults
    }
    return { words, dump, stats: heap.stats };
  };
  /** The blocks as [offset from S, size, allocated]. */
  const layout = () => heap.blocks().map((b) => [b.bp - S, b.size, b.allocated]);
  return { heap, mmu, S, ptrs, snapshot, layout };
}

/** `f` throws E_CORRUPT with exactly this message. */
function corrupt(f: () => unknown, message: string): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, "accepted").toBeInstanceOf(MallocError);
  expect((caught as MallocError).code).toBe("E_CORRUPT");
  expect((caught as MallocError).message).toBe(`E_CORRUPT: ${message}`);
}

describe("split: a free block is split only when the rest can stand alone (16 bytes)", () => {
  it("malloc(4060) takes 4064 of the first 4080 bytes and leaves a 16-byte free block", () => {
    const { heap, mmu, S, layout } = setup(0);
    expect(heap.malloc(4060)).toBe(S + 16);
    expect(layout()).toEqual([
      [16, 4064, true],
      [4080, 16, false],
    ]);
    expect(mmu.read32(S + 4076)).toBe(16 | 2); // the rest's header: the block before is live
    expect(mmu.read32(S + 4088)).toBe(16 | 2); // and its footer
    expect(mmu.read32(S + 4092)).toBe(1); // the epilogue: allocated, the block before free
    heap.check();
  });

  it("malloc(4061) needs 4072: 8 bytes left cannot stand alone, so the block is all 4080", () => {
    const { heap, mmu, S, layout } = setup(0);
    expect(heap.malloc(4061)).toBe(S + 16);
    expect(layout()).toEqual([[16, 4080, true]]);
    expect(mmu.read32(S + 12)).toBe(4080 | 3);
    expect(mmu.read32(S + 4092)).toBe(1 | 2); // the epilogue now follows a live block
    expect(heap.stats.footprintPages).toBe(1);
    heap.check();
  });

  it("a free hole is split the same way: 40 bytes give a 24-byte block and a 16-byte hole, not 8", () => {
    const { heap, S, ptrs, layout } = setup();
    heap.free(ptrs[1]!); // b: a 40-byte hole between live a and c
    expect(heap.malloc(20)).toBe(S + 56); // 24 bytes: first fit, 16 left
    expect(layout().slice(0, 4)).toEqual([
      [16, 40, true],
      [56, 24, true],
      [80, 16, false],
      [96, 40, true],
    ]);
    heap.check();
    expect(heap.malloc(12)).toBe(S + 80); // 16 bytes: the hole exactly
    expect(heap.malloc(28)).toBe(S + 176); // 32 bytes: 8 would be left in no hole, the wilderness
    heap.check();
  });
});

describe("free merges a block with its free neighbours, and with nothing else", () => {
  it("b alone, then a with b, then c with a+b, then d with everything and the wilderness", () => {
    const { heap, mmu, S, ptrs, layout } = setup();
    const [a, b, c, d] = ptrs as [number, number, number, number];
    heap.free(b);
    expect(layout()).toEqual([
      [16, 40, true],
      [56, 40, false],
      [96, 40, true],
      [136, 40, true],
      [176, 3920, false],
    ]);
    expect([mmu.read32(b - 4), mmu.read32(b + 32), mmu.read32(c - 4)]).toEqual([
      40 | 2, // b's header: free, a live
      40 | 2, // b's footer, the same
      40 | 1, // c's header: PREV_ALLOC cleared
    ]);
    heap.check();
    heap.free(a);
    expect(layout().slice(0, 2)).toEqual([
      [16, 80, false],
      [96, 40, true],
    ]);
    expect([mmu.read32(a - 4), mmu.read32(a + 72)]).toEqual([80 | 2, 80 | 2]);
    heap.check();
    heap.free(c);
    expect(layout().slice(0, 2)).toEqual([
      [16, 120, false],
      [136, 40, true],
    ]);
    expect(mmu.read32(d - 4)).toBe(40 | 1);
    heap.check();
    heap.free(d);
    expect(layout()).toEqual([[16, 4080, false]]);
    expect([mmu.read32(S + 12), mmu.read32(S + 4088), mmu.read32(S + 4092)]).toEqual([
      4080 | 2,
      4080 | 2,
      1,
    ]);
    expect(heap.stats).toMatchObject({ allocations: 0, livePayload: 0, footprintPages: 1 });
    heap.check();
    expect(heap.malloc(4072)).toBe(S + 16); // all of it is one block again
  });

  it("the last live block freed merges into the wilderness; the one before it stays apart", () => {
    const { heap, S, ptrs, layout } = setup();
    heap.free(ptrs[3]!);
    expect(layout()).toEqual([
      [16, 40, true],
      [56, 40, true],
      [96, 40, true],
      [136, 3960, false],
    ]);
    heap.free(ptrs[1]!);
    expect(layout()[1]).toEqual([56, 40, false]);
    heap.check();
    expect(heap.malloc(32)).toBe(S + 56); // the hole, not the wilderness
  });
});

describe("realloc in place: shrink, grow into the free block after, grow the region", () => {
  it("shrinks a 40-byte block to 24 (a 16-byte tail freed), but not to 32 (8 bytes could not stand alone)", () => {
    const { heap, S, ptrs, layout } = setup();
    const a = ptrs[0]!;
    expect(heap.realloc(a, 24)).toBe(a); // 32 bytes: 8 left, the block stays 40
    expect(layout()[0]).toEqual([16, 40, true]);
    expect(heap.realloc(a, 20)).toBe(a); // 24 bytes: the 16 after become a free block
    expect(layout().slice(0, 3)).toEqual([
      [16, 24, true],
      [40, 16, false],
      [56, 40, true],
    ]);
    expect(heap.stats.livePayload).toBe(20 + 3 * 32);
    heap.check();
    expect(heap.malloc(12)).toBe(S + 40); // the freed tail is a block like any other
  });

  it("grows into the free block after it, splitting off 16 bytes but not 8", () => {
    const { heap, mmu, S, ptrs, layout } = setup();
    const [a, b] = ptrs as [number, number];
    mmu.write32(a + 28, 0xfeed);
    heap.free(b); // 40 + 40 = 80 bytes from a
    expect(heap.realloc(a, 60)).toBe(a); // 64 bytes: 16 left
    expect(layout().slice(0, 3)).toEqual([
      [16, 64, true],
      [80, 16, false],
      [96, 40, true],
    ]);
    heap.check();
    expect(heap.realloc(a, 68)).toBe(a); // 72 bytes: 8 would be left, so all 80
    expect(layout().slice(0, 2)).toEqual([
      [16, 80, true],
      [96, 40, true],
    ]);
    expect(mmu.read32(a + 28)).toBe(0xfeed);
    heap.check();
    const moved = heap.realloc(a, 77)!; // 77 + 4 rounds up to 88 bytes, more than the 80: it moves
    expect(moved).toBe(S + 176); // first fit finds no hole: the wilderness
    expect(mmu.read32(moved + 28)).toBe(0xfeed);
    expect(layout()[0]).toEqual([16, 80, false]);
    heap.check();
  });

  it("grows into a free block after it that makes exactly the size asked", () => {
    const { heap, ptrs, layout } = setup();
    const [a, b] = ptrs as [number, number];
    heap.free(b);
    expect(heap.realloc(a, 76)).toBe(a); // 76 + 4 = 80 bytes: a's 40 and b's 40
    expect(layout().slice(0, 2)).toEqual([
      [16, 80, true],
      [96, 40, true],
    ]);
    heap.check();
  });

  it("a move frees the old block by its headers as they are after the move, not as free() last read them", () => {
    const { heap, mmu, S, layout } = setup(0);
    const x = heap.malloc(60)!; // 64 bytes at S+16
    const b = heap.malloc(32)!; // 40 at S+80
    const c = heap.malloc(32)!; // 40 at S+120; the wilderness: 3936 at S+160
    expect([x, b, c]).toEqual([S + 16, S + 80, S + 120]);
    heap.free(b);
    expect(heap.malloc(32)).toBe(b); // the hole, taken back whole
    mmu.write32(b, 0xb0b);
    expect(heap.realloc(x, 200)).toBe(S + 160); // 208 bytes: moved to the wilderness
    // x's 64 bytes are a hole before b now, and b's PREV_ALLOC is clear. b must move to grow
    // (c is live), and first fit puts it in that hole, exactly 64 bytes: the hole is taken
    // whole and b's header says so. Freeing b then merges with nothing.
    expect(heap.realloc(b, 60)).toBe(S + 16);
    expect(mmu.read32(S + 16)).toBe(0xb0b);
    expect(layout()).toEqual([
      [16, 64, true],
      [80, 40, false],
      [120, 40, true],
      [160, 208, true],
      [368, 3728, false],
    ]);
    heap.check();
  });

  it("grows the last block by growing the region a page under it", () => {
    const { heap, S, ptrs, layout } = setup();
    const d = ptrs[3]!;
    // 4004 bytes: a 4008-byte block; d's 40 and the wilderness's 3920 are 48 short, so the
    // region takes one page more and the wilderness ends at 8192: 40 + 3920 + 4096 - 4008 = 4048.
    expect(heap.realloc(d, 4004)).toBe(d);
    expect(layout().slice(3)).toEqual([
      [136, 4008, true],
      [4144, 4048, false],
    ]);
    expect(heap.stats.footprintPages).toBe(2);
    expect(heap.extents()).toEqual([{ kind: "region", start: S, pages: 2, first: S + 16 }]);
    heap.check();
  });

  it("takes as many pages as the growth needs: 4144 bytes short is two pages, not one", () => {
    const { heap, ptrs, layout } = setup();
    const d = ptrs[3]!;
    // 8100 bytes: an 8104-byte block, 8104 - 40 - 3920 = 4144 more than d and the wilderness.
    expect(heap.realloc(d, 8100)).toBe(d);
    expect(layout().slice(3)).toEqual([
      [136, 8104, true],
      [8240, 40 + 3920 + 8192 - 8104, false],
    ]);
    expect(heap.stats.footprintPages).toBe(3);
    heap.check();
  });
});

describe("free refuses what would merge live memory, naming the word, and changes nothing", () => {
  /** Set `va` to `value`, expect free(bp) refused with `message`, then put the word back. */
  const refused = (
    t: ReturnType<typeof setup>,
    writes: [number, number][],
    bp: number,
    message: string,
  ) => {
    const old = writes.map(([va]) => t.mmu.read32(va));
    for (const [va, v] of writes) t.mmu.write32(va, v);
    const before = t.snapshot();
    corrupt(() => t.heap.free(bp), message);
    corrupt(() => t.heap.realloc(bp, 64), message.replace(/^free/, "realloc"));
    expect(t.snapshot()).toEqual(before);
    writes.forEach(([va], i) => t.mmu.write32(va, old[i]!));
    t.heap.check();
  };

  it("its own header changed: the shadow record says 40 bytes, allocated", () => {
    const t = setup();
    const a = t.ptrs[0]!;
    refused(
      t,
      [[a - 4, 80 | 3]],
      a,
      `free(${hex(a)}): header 0x00000053 is corrupted (malloc made this an allocated block of 40 bytes, header 0x00000029)`,
    );
  });

  it("the next header says this block is free (PREV_ALLOC cleared)", () => {
    const t = setup();
    const [a, b] = t.ptrs as [number, number];
    refused(
      t,
      [[b - 4, 40 | 1]],
      a,
      `free(${hex(a)}): the next header 0x00000029 at ${hex(b - 4)} says this block is free`,
    );
  });

  it("the next block is live but its header says free", () => {
    const t = setup();
    const [a, b, c] = t.ptrs as [number, number, number];
    refused(
      t,
      [
        [b - 4, 40 | 2],
        [c - 8, 40 | 2], // a footer to match, as a free block has
      ],
      a,
      `free(${hex(a)}): the next block ${hex(b)} is live, but its header 0x0000002a at ${hex(b - 4)} says free`,
    );
  });

  it("the next block is free, but its header cannot be a free block's (each way in turn)", () => {
    const t = setup();
    const [a, b, c] = t.ptrs as [number, number, number];
    t.heap.free(b); // b: free, header and footer 40 | PREV_ALLOC
    const at = (h: number) =>
      `free(${hex(a)}): the next block's header ${hex(h)} at ${hex(b - 4)} is corrupted`;
    // Smaller than a block, with the word an 8-byte block's footer would be saying so too.
    refused(
      t,
      [
        [b - 4, 8 | 2],
        [b, 8 | 2],
      ],
      a,
      at(8 | 2),
    );
    refused(t, [[b - 4, 4096 | 2]], a, at(4096 | 2)); // past the region's end
    refused(t, [[b - 4, 48 | 2]], a, at(48 | 2)); // its footer (at b + 40) does not say 48
    refused(t, [[c - 8, 48 | 2]], a, at(40 | 2)); // the footer changed instead
  });

  it("the header says the block before is free, but the word before is no free block's footer", () => {
    const t = setup();
    const [a, b, c] = t.ptrs as [number, number, number];
    const says = (f: number) =>
      `free(${hex(c)}): header 0x00000029 says the block before is free, but the footer ${hex(f)} at ${hex(c - 8)} is not that of a free block`;
    const cleared: [number, number] = [c - 4, 40 | 1];
    refused(t, [cleared, [c - 8, 40 | 3]], c, says(40 | 3)); // ALLOC set
    // Smaller than a block, with a header to match where an 8-byte block would start.
    refused(t, [cleared, [c - 8, 8 | 2], [c - 12, 8 | 2]], c, says(8 | 2));
    refused(t, [cleared, [c - 8, 160 | 2]], c, says(160 | 2)); // before the first block
    // b is live: a footer and header that both say free do not make it so.
    refused(t, [cleared, [c - 8, 40 | 2], [b - 4, 40 | 2]], c, says(40 | 2));
    // A size that matches no header: c - 48 is inside a.
    refused(t, [cleared, [c - 8, 48 | 2]], c, says(48 | 2));
    // b freed for real, then its header and footer both say allocated: only ALLOC tells.
    t.heap.free(b);
    refused(
      t,
      [
        [b - 4, 40 | 3],
        [c - 8, 40 | 3],
      ],
      c,
      says(40 | 3),
    );
    expect(a).toBe(t.S + 16);
  });

  it("with align 16, a neighbour's size that is a multiple of 8 but not of 16", () => {
    // By hand: malloc(32) makes 48-byte blocks, a = S+16, b = S+64, c = S+112.
    const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
    const heap = new Malloc(stack.kv, {
      policy: POLICIES["first-fit"],
      align: 16,
      sizeClasses: false,
      quickLists: false,
    });
    const S = heap.extents()[0]!.start;
    const [a, b, c] = [0, 1, 2].map(() => heap.malloc(32)!) as [number, number, number];
    expect([a, b, c]).toEqual([S + 16, S + 64, S + 112]);
    const mmu = stack.mmu;
    const attempt = (writes: [number, number][], bp: number, message: string) => {
      const old = writes.map(([va]) => mmu.read32(va));
      for (const [va, v] of writes) mmu.write32(va, v);
      corrupt(() => heap.free(bp), message);
      writes.forEach(([va], i) => mmu.write32(va, old[i]!));
      heap.check();
    };
    // The block before c said to be 24 bytes from a footer and a header that agree.
    attempt(
      [
        [c - 4, 48 | 1],
        [c - 8, 24 | 2],
        [c - 28, 24 | 2],
      ],
      c,
      `free(${hex(c)}): header 0x00000031 says the block before is free, but the footer 0x0000001a at ${hex(c - 8)} is not that of a free block`,
    );
    heap.free(b);
    // b free, its header and the footer of a 24-byte block agreeing.
    attempt(
      [
        [b - 4, 24 | 2],
        [b + 16, 24 | 2],
      ],
      a,
      `free(${hex(a)}): the next block's header 0x0000001a at ${hex(b - 4)} is corrupted`,
    );
  });

  it("the first block's PREV_ALLOC cleared: the word before it is the region's padding", () => {
    const t = setup();
    const a = t.ptrs[0]!;
    t.mmu.write32(a - 4, 40 | 1);
    corrupt(
      () => t.heap.free(a),
      `free(${hex(a)}): header 0x00000029 says the block before is free, but the footer 0x00000000 at ${hex(a - 8)} is not that of a free block`,
    );
  });
});

describe("check() finds each kind of damage, naming the word", () => {
  const damaged = (
    prepare: (t: ReturnType<typeof setup>) => [number, number][],
    message: (t: ReturnType<typeof setup>) => string,
  ) => {
    const t = setup();
    const writes = prepare(t);
    t.heap.check();
    const old = writes.map(([va]) => t.mmu.read32(va));
    for (const [va, v] of writes) t.mmu.write32(va, v);
    corrupt(() => t.heap.check(), message(t));
    writes.forEach(([va], i) => t.mmu.write32(va, old[i]!));
    t.heap.check();
  };
  const [A, B, C] = [16, 56, 96];

  it("the region's magic word", () =>
    damaged(
      (t) => [[t.S, 0]],
      (t) => `${hex(t.S)}: region magic is gone`,
    ));

  it("a PREV_ALLOC bit that disagrees with the block before", () =>
    damaged(
      (t) => [[t.S + B - 4, 40 | 1]],
      (t) => `${hex(t.S + B - 4)}: PREV_ALLOC bit says false, the block before is allocated`,
    ));

  it("an epilogue that is not allocated", () =>
    damaged(
      (t) => [[t.S + 4092, 0]],
      (t) => `${hex(t.S + 4092)}: epilogue header out of place`,
    ));

  it("a block too small, or reaching past the region", () => {
    damaged(
      (t) => [[t.S + A - 4, 8 | 3]],
      (t) => `${hex(t.S + A - 4)}: block size 8 is impossible here`,
    );
    damaged(
      (t) => [[t.S + A - 4, 4088 | 3]],
      (t) => `${hex(t.S + A - 4)}: block size 4088 is impossible here`,
    );
  });

  it("the LARGE bit on a region block", () =>
    damaged(
      (t) => [[t.S + A - 4, 40 | 4 | 3]],
      (t) => `${hex(t.S + A - 4)}: header bit 0x00000004 is set, which no block uses`,
    ));

  it("a block smaller than its request, and a block of another size than malloc made", () => {
    damaged(
      (t) => [[t.S + A - 4, 32 | 3]],
      (t) => `${hex(t.S + A)}: block of 32 bytes holds a 32-byte request`,
    );
    damaged(
      (t) => [[t.S + A - 4, 48 | 3]],
      (t) => `${hex(t.S + A - 4)}: block of 48 bytes, malloc made it 40`,
    );
  });

  it("a live block whose header says free, with a footer to match", () =>
    damaged(
      (t) => [
        [t.S + A - 4, 40 | 2],
        [t.S + B - 8, 40 | 2],
        [t.S + B - 4, 40 | 1],
      ],
      (t) => `${hex(t.S + A)}: a free block that malloc handed out and nobody freed`,
    ));

  it("a freed block whose header says allocated again", () =>
    damaged(
      (t) => {
        t.heap.free(t.S + B);
        return [
          [t.S + B - 4, 40 | 3],
          [t.S + C - 4, 40 | 3],
        ];
      },
      (t) => `${hex(t.S + B)}: allocated block that malloc did not hand out`,
    ));

  it("two free blocks in a row, and a free block whose footer disagrees", () => {
    damaged(
      (t) => {
        t.heap.free(t.S + B);
        return [
          [t.S + C - 4, 40], // c looks free too (its footer below), the block before free
          [t.S + C + 32, 40],
          [t.S + C + 36, 40 | 1], // and d's header says so
        ];
      },
      (t) => `${hex(t.S + C - 4)}: two free blocks in a row (not coalesced)`,
    );
    damaged(
      (t) => {
        t.heap.free(t.S + B);
        return [[t.S + C - 8, 0]];
      },
      (t) => `${hex(t.S + C - 8)}: footer 0x00000000 does not match header 0x0000002a`,
    );
  });

  it("a free list that lists a live block, misses a free one, or loops", () => {
    const freed = (t: ReturnType<typeof setup>) => {
      t.heap.free(t.S + B); // the list: S+4 -> b
      return t;
    };
    damaged(
      (t) => [[freed(t).S + 4, t.S + C]],
      (t) => `${hex(t.S + C)}: on a free list but not a free block`,
    );
    damaged(
      (t) => [[freed(t).S + 4, 0]],
      (t) => `${hex(t.S + 4)}: 1 free blocks in the heap, 0 on the free lists`,
    );
    damaged(
      (t) => [[freed(t).S + B, t.S + B]], // b's next link to itself
      (t) =>
        `${hex(t.S + B)}: the free lists hold more blocks than the heap (a cycle, or a block listed twice)`,
    );
  });
});

describe("validate names what it refuses, and takes no address for another", () => {
  it("a pointer 4 past a block, or 2^32 past it, is not that block", () => {
    const t = setup();
    const a = t.ptrs[0]!;
    const before = t.snapshot();
    const never = (what: string) =>
      `E_NOT_ALLOCATED: free(${what}): malloc never returned this address`;
    for (const [bp, what] of [
      [a + 4, hex(a + 4)], // the same shadow slot as a: only the alignment test tells them apart
      [a + 2 ** 32, String(a + 2 ** 32)], // the same page table and slot as a, 4 GiB up
      [-8, "-8"],
      [0, "0x00000000"],
      [8, "0x00000008"],
      [0xffff_ffff, "0xffffffff"],
    ] as const) {
      let caught: unknown;
      try {
        t.heap.free(bp);
      } catch (e) {
        caught = e;
      }
      expect((caught as Error).message, String(bp)).toBe(never(what));
    }
    expect(t.snapshot()).toEqual(before);
    t.heap.free(a);
    let twice: unknown;
    try {
      t.heap.free(a);
    } catch (e) {
      twice = e;
    }
    expect((twice as Error).message).toBe(
      `E_DOUBLE_FREE: free(${hex(a)}): the block was freed already`,
    );
  });

  it("a large block has no header: its pointer is its first page, and only that pointer is freed", () => {
    const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
    const heap = new Malloc(stack.kv);
    const bp = heap.malloc(100_000)!; // 25 pages (102400 bytes), the payload from the first byte
    expect(bp % 4096).toBe(0);
    expect(heap.blocks().find((b) => b.bp === bp)).toMatchObject({ size: 25 * 4096, large: true });
    stack.mmu.write32(bp + 25 * 4096 - 4, 0xfeed); // the last word is the block's
    expect(() => heap.free(bp + 4096)).toThrow(
      `free(${hex(bp + 4096)}): malloc never returned this address`,
    );
    // Only the 25 pages: the first region, empty, went back before they were taken.
    expect(heap.stats.footprintPages).toBe(25);
    heap.check();
    heap.free(bp);
    expect(heap.stats.footprintPages).toBe(0);
    expect(() => heap.free(bp)).toThrow(`free(${hex(bp)}): the block was freed already`);
    heap.check();
  });

  it("a slab's magic word overwritten: free of its object refuses it, naming the slab", () => {
    const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
    const heap = new Malloc(stack.kv);
    // 251 malloc(24) fill two region pages; the 252nd is the first slab object (heap.test.ts).
    for (let i = 0; i < 251; i++) heap.malloc(24);
    const obj = heap.malloc(24)!;
    const slab = heap.extents().find((e) => e.kind === "slab")!;
    expect(obj).toBe(slab.first);
    const magic = stack.mmu.read32(slab.start);
    stack.mmu.write32(slab.start, 0);
    corrupt(
      () => heap.free(obj),
      `free(${hex(obj)}): the header of its slab ${hex(slab.start)} was overwritten`,
    );
    stack.mmu.write32(slab.start, magic);
    heap.free(obj);
    heap.check();
  });
});
