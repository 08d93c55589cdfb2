/**
 * Fuzz: every public call of the buddy allocator with bad values (the shared
 * harness of @mm386/hw-i386/testing) must throw a BuddyError-style typed error
 * with a code and leave the blocks, free lists and counters as they were.
 * `MM386_DEEP=1` tries many more random values.
 */
import { describeRefusals, type FuzzCall } from "@mm386/hw-i386/testing";
import { describe } from "vitest";
import { BuddyAllocator } from "../src/index.js";

/** 100 units at base 1000 with a few allocations and a reserved hole. */
function buddy(): BuddyAllocator {
  const b = new BuddyAllocator({ base: 1000, count: 100 });
  b.alloc(3); // 1000..1002
  b.allocOrder(2); // 1004..1007
  b.reserve(1040, 5);
  return b;
}

function snapshot(b: BuddyAllocator) {
  return {
    stats: { ...b.stats },
    unitsFree: b.unitsFree,
    largestFree: b.largestFree,
    blocks: b.blocks(),
    freeLists: b.freeLists(),
  };
}

/** A safe integer: a legal base for a range (negative bases are allowed). */
const safeInt = (v: unknown) => Number.isSafeInteger(v);

const calls: FuzzCall<BuddyAllocator>[] = [
  { name: "allocOrder(k)", call: (b, v) => b.allocOrder(v as number) },
  { name: "alloc(n)", call: (b, v) => b.alloc(v as number) },
  { name: "free(start, 3)", call: (b, v) => b.free(v as number, 3) },
  { name: "free(1000, n)", call: (b, v) => b.free(1000, v as number) },
  { name: "freeOrder(start, 2)", call: (b, v) => b.freeOrder(v as number, 2) },
  { name: "freeOrder(1004, k)", call: (b, v) => b.freeOrder(1004, v as number) },
  { name: "reserve(start, 2)", call: (b, v) => b.reserve(v as number, 2) },
  { name: "reserve(1060, n)", call: (b, v) => b.reserve(1060, v as number) },
  { name: "isAllocated(start)", call: (b, v) => b.isAllocated(v as number) },
  {
    name: "isAllocated(1000, n)",
    call: (b, v) => b.isAllocated(1000, v as number),
    accepts: (v) => v === undefined, // n defaults to 1
  },
];

describe("fuzz: BuddyAllocator calls", () => {
  describeRefusals(buddy, snapshot, calls);
});

describe("fuzz: BuddyAllocator options", () => {
  const none = () => null;
  describeRefusals(none, none, [
    {
      name: "new BuddyAllocator({ base })",
      call: (_, v) => new BuddyAllocator({ base: v as number, count: 8 }),
      accepts: safeInt,
    },
    {
      name: "new BuddyAllocator({ count })",
      call: (_, v) => new BuddyAllocator({ base: 0, count: v as number }),
    },
    {
      name: "new BuddyAllocator({ maxOrder })",
      call: (_, v) => new BuddyAllocator({ base: 0, count: 8, maxOrder: v as number }),
      accepts: (v) => v === undefined,
    },
    { name: "new BuddyAllocator(options)", call: (_, v) => new BuddyAllocator(v as never) },
  ]);
});
