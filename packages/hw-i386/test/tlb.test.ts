import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeTlbConformance, testEntry } from "../src/conformance.js";
import { HwError, SetAssociativeTlb, type TlbEntry, UnboundedTlb } from "../src/index.js";
import { packTlbEntry } from "../src/packed.js";

describeTlbConformance("UnboundedTlb", () => new UnboundedTlb(), { unbounded: true });
describeTlbConformance("64-entry 4-way LRU", () => new SetAssociativeTlb());
describeTlbConformance(
  "16-entry 2-way FIFO",
  () => new SetAssociativeTlb({ entries: 16, ways: 2, replacement: "fifo" }),
);
describeTlbConformance(
  "8-entry fully associative random",
  () => new SetAssociativeTlb({ entries: 8, ways: 8, replacement: "random", seed: 42 }),
);
describeTlbConformance("1-entry", () => new SetAssociativeTlb({ entries: 1, ways: 1 }));

describe("SetAssociativeTlb replacement", () => {
  // 2 sets of 2 ways: even page numbers share set 0.
  const make = (replacement: "lru" | "fifo") =>
    new SetAssociativeTlb({ entries: 4, ways: 2, replacement });

  it("LRU evicts the entry used least recently in the set", () => {
    const tlb = make("lru");
    tlb.insert(testEntry(0));
    tlb.insert(testEntry(2));
    tlb.lookup(0); // 0 is now more recent than 2
    tlb.insert(testEntry(4));
    expect(tlb.lookup(0)?.vpn).toBe(0);
    expect(tlb.lookup(2)).toBeUndefined();
    expect(tlb.lookup(4)?.vpn).toBe(4);
  });

  it("FIFO evicts the oldest insert even if it was just used", () => {
    const tlb = make("fifo");
    tlb.insert(testEntry(0));
    tlb.insert(testEntry(2));
    tlb.lookup(0);
    tlb.insert(testEntry(4));
    expect(tlb.lookup(0)).toBeUndefined();
    expect(tlb.lookup(2)?.vpn).toBe(2);
  });

  it("never evicts from another set", () => {
    const tlb = make("lru");
    tlb.insert(testEntry(1));
    for (const vpn of [0, 2, 4, 6, 8]) tlb.insert(testEntry(vpn));
    expect(tlb.lookup(1)?.vpn).toBe(1);
  });

  it("random replacement is reproducible for a seed", () => {
    const run = () => {
      const tlb = new SetAssociativeTlb({ entries: 4, ways: 4, replacement: "random", seed: 7 });
      for (let vpn = 0; vpn < 20; vpn++) tlb.insert(testEntry(vpn));
      return tlb
        .entries()
        .map((e) => e.vpn)
        .sort((a, b) => a - b);
    };
    expect(run()).toEqual(run());
  });

  it("names itself after its shape", () => {
    expect(new SetAssociativeTlb().name).toBe("64-entry 4-way LRU");
    expect(new SetAssociativeTlb({ entries: 8, ways: 8, replacement: "fifo" }).name).toBe(
      "8-entry fully associative FIFO",
    );
  });

  it.each([
    [{ entries: 0 }, /entries 0/],
    [{ entries: 64, ways: 3 }, /ways 3/],
    [{ entries: 2.5 }, /entries 2.5/],
    [{ replacement: "mru" as "lru" }, /"mru"/],
    [{ replacement: "random" as const, seed: 0 }, /seed 0/],
  ])("refuses the configuration %o", (options, message) => {
    expect(() => new SetAssociativeTlb(options)).toThrow(HwError);
    expect(() => new SetAssociativeTlb(options)).toThrow(message);
  });
});

describe("UnboundedTlb's set of held pages", () => {
  // Page numbers at the edges of the set's words (32 pages), regions (1024)
  // and top words (32 regions), and the last page.
  const edges = [0, 1, 31, 32, 33, 63, 64, 1023, 1024, 1025, 32767, 32768, 0xffffe, 0xfffff];
  const vpn = fc.oneof(fc.constantFrom(...edges), fc.integer({ min: 0, max: 0xfffff }));
  type HeldOp =
    | { kind: "insert"; vpn: number; global: boolean; large: boolean }
    | { kind: "missFill"; vpn: number; global: boolean }
    | { kind: "invalidate"; vpn: number }
    | { kind: "invlpg"; vpn: number }
    | { kind: "flushNonGlobal" }
    | { kind: "flushAll" }
    | { kind: "makeFlat" }
    | { kind: "look" };
  const op: fc.Arbitrary<HeldOp> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("insert" as const),
        vpn,
        global: fc.boolean(),
        large: fc.boolean(),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant("missFill" as const), vpn, global: fc.boolean() }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("invalidate" as const), vpn }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("invlpg" as const), vpn }) },
    { weight: 1, arbitrary: fc.constant({ kind: "flushNonGlobal" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "flushAll" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "makeFlat" as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: "look" as const }) },
  );

  it("holds what a plain map holds, through the MMU's own fills and invalidations", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const tlb = new UnboundedTlb();
        const model = new Map<number, TlbEntry>();
        const drop = (gone: (e: TlbEntry) => boolean) => {
          let n = 0;
          for (const [k, e] of model)
            if (gone(e)) {
              model.delete(k);
              n++;
            }
          return n;
        };
        for (const o of ops) {
          if (o.kind === "insert") {
            const e = testEntry(o.vpn, { global: o.global, large: o.large });
            tlb.insert(e);
            model.set(o.vpn, e);
          } else if (o.kind === "missFill") {
            // What the miss path does (fast-path.ts): a 4 KiB entry stored in an
            // empty flat slot, then noteFill.
            const slots = tlb.slots;
            if (slots === null || slots[o.vpn] !== 0) continue;
            const e = testEntry(o.vpn, { global: o.global, pfn: o.vpn ^ 0x5a5 });
            slots[o.vpn] = packTlbEntry(e);
            tlb.noteFill(o.vpn);
            model.set(o.vpn, e);
          } else if (o.kind === "invalidate" || o.kind === "invlpg") {
            const region = o.vpn >>> 10;
            const want = drop((e) => e.vpn === o.vpn || (e.large && e.vpn >>> 10 === region));
            const got =
              o.kind === "invlpg" && tlb.slots !== null
                ? tlb.invalidateSlot(o.vpn)
                : tlb.invalidatePage(o.vpn);
            expect(got).toBe(want);
          } else if (o.kind === "flushNonGlobal") {
            expect(tlb.flushNonGlobal()).toBe(drop((e) => !e.global));
          } else if (o.kind === "flushAll") {
            expect(tlb.flushAll()).toBe(drop(() => true));
          } else if (o.kind === "makeFlat") {
            tlb.makeFlat();
          } else {
            expect(tlb.size).toBe(model.size);
            const want = [...model.values()].sort((a, b) => a.vpn - b.vpn);
            expect(tlb.entries().sort((a, b) => a.vpn - b.vpn)).toEqual(want);
          }
        }
        expect(tlb.size).toBe(model.size);
        expect(tlb.entries().sort((a, b) => a.vpn - b.vpn)).toEqual(
          [...model.values()].sort((a, b) => a.vpn - b.vpn),
        );
      }),
      { numRuns: process.env.MM386_DEEP ? 3000 : 150 },
    );
  });

  it("keeps the global pages through a flush, each once", () => {
    const tlb = new UnboundedTlb();
    tlb.makeFlat();
    for (let i = 0; i < 3; i++) tlb.insert(testEntry(0xc0000 + 7 * i, { global: true }));
    tlb.insert(testEntry(0x400));
    // Only the non-global page goes; the three global ones stay, listed once each.
    expect(tlb.flushNonGlobal()).toBe(1);
    expect(tlb.flushNonGlobal()).toBe(0);
    expect(tlb.size).toBe(3);
    expect(
      tlb
        .entries()
        .map((e) => e.vpn)
        .sort(),
    ).toEqual([0xc0000, 0xc0007, 0xc000e]);
    expect(tlb.flushAll()).toBe(3);
    expect(tlb.size).toBe(0);
    expect(tlb.entries()).toEqual([]);
  });
});
