import { describe, expect, it } from "vitest";
import { describeTlbConformance, testEntry } from "../src/conformance.js";
import { HwError, SetAssociativeTlb, UnboundedTlb } from "../src/index.js";

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
