/**
 * Fuzz: every public call of the page allocators with bad values (the shared
 * harness of @mm386/hw-i386/testing) must throw a typed error with a code and
 * leave every allocator's unit states and free counts as they were.
 * `MM386_DEEP=1` tries many more random values.
 */
import { defaultMemoryMap } from "@mm386/hw-i386";
import { describeRefusals, type FuzzCall } from "@mm386/hw-i386/testing";
import { describe } from "vitest";
import {
  createPageAllocators,
  type PageAllocators,
  type PageAllocatorsOptions,
  type PageRangeAllocator,
  type VirtualPageAllocator,
} from "../src/index.js";

const MiB = 1024 * 1024;
const USER = 0x4000_0000;

interface World {
  readonly pa: PageAllocators;
  readonly user: VirtualPageAllocator;
  readonly frame: number;
  readonly kpage: number;
  readonly upage: number;
}

/** 16 MiB of RAM, one run allocated from each of the three allocators. */
function world(): World {
  // A 16 MiB kernel region instead of the default 1 GiB keeps the snapshot
  // (every unit's state) cheap enough to take twice per case.
  const pa = createPageAllocators({
    memoryMap: defaultMemoryMap(16 * MiB),
    kernelVirtual: { start: 0xc000_0000, length: 16 * MiB },
  });
  const user = pa.vpcreate(USER, 64 * 4096);
  const frame = pa.ppalloc(2, 2)!.start;
  const kpage = pa.vpalloc(2, 2)!.start;
  const upage = pa.vpalloc(user, 2, 2)!.start;
  return { pa, user, frame, kpage, upage };
}

/** Unit states as runs ("state x count"), so a 1 GiB kernel region stays cheap to compare. */
function runs(r: VirtualPageAllocator): string {
  const states = (r as PageRangeAllocator).ranges.states();
  const out: string[] = [];
  let i = 0;
  while (i < states.length) {
    let j = i;
    while (j < states.length && states[j] === states[i]) j++;
    out.push(`${states[i]}x${j - i}`);
    i = j;
  }
  return out.join(" ");
}

function snapshot(w: World) {
  return {
    free: [w.pa.physical.freePages, w.pa.kernel.freePages, w.user.freePages],
    physical: runs(w.pa.physical),
    kernel: runs(w.pa.kernel),
    user: runs(w.user),
  };
}

/** A page count that is legal as a maximum: "as many as fit, up to max". */
const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;

const calls: FuzzCall<World>[] = [
  { name: "ppalloc(min, 4)", call: (w, v) => w.pa.ppalloc(v as number, 4) },
  { name: "ppalloc(1, max)", call: (w, v) => w.pa.ppalloc(1, v as number), accepts: count },
  { name: "ppfree(start, 2)", call: (w, v) => w.pa.ppfree(v as number, 2) },
  { name: "ppfree(frame, pages)", call: (w, v) => w.pa.ppfree(w.frame, v as number) },
  { name: "vpcreate(start, 4096)", call: (w, v) => w.pa.vpcreate(v as number, 4096) },
  { name: "vpcreate(0x40000000, size)", call: (w, v) => w.pa.vpcreate(USER, v as number) },
  { name: "vpalloc(min, 4)", call: (w, v) => w.pa.vpalloc(v as number, 4) },
  { name: "vpalloc(1, max)", call: (w, v) => w.pa.vpalloc(1, v as number), accepts: count },
  { name: "vpalloc(vpa, 1, 4)", call: (w, v) => w.pa.vpalloc(v as VirtualPageAllocator, 1, 4) },
  { name: "vpalloc(user, min, 4)", call: (w, v) => w.pa.vpalloc(w.user, v as number, 4) },
  {
    name: "vpalloc(user, 1, max)",
    call: (w, v) => w.pa.vpalloc(w.user, 1, v as number),
    accepts: count,
  },
  { name: "vpfree(start, 2)", call: (w, v) => w.pa.vpfree(v as number, 2) },
  { name: "vpfree(kpage, pages)", call: (w, v) => w.pa.vpfree(w.kpage, v as number) },
  {
    name: "vpfree(vpa, upage, 2)",
    call: (w, v) => w.pa.vpfree(v as VirtualPageAllocator, w.upage, 2),
  },
  { name: "vpfree(user, start, 2)", call: (w, v) => w.pa.vpfree(w.user, v as number, 2) },
  { name: "vpfree(user, upage, pages)", call: (w, v) => w.pa.vpfree(w.user, w.upage, v as number) },
  { name: "physical.reserveBytes(range)", call: (w, v) => w.pa.physical.reserveBytes(v as never) },
  {
    name: "physical.reserveBytes({ start, length: 4096 })",
    call: (w, v) => w.pa.physical.reserveBytes({ start: v as number, length: 4096 }),
  },
  {
    name: "physical.reserveBytes({ start: 0x800000, length })",
    call: (w, v) => w.pa.physical.reserveBytes({ start: 0x80_0000, length: v as number }),
  },
];

describe("fuzz: page allocators", () => {
  describeRefusals(world, snapshot, calls);
});

describe("fuzz: createPageAllocators options", () => {
  const none = () => null;
  const memoryMap = defaultMemoryMap(16 * MiB);
  const opt = (o: Partial<Record<keyof PageAllocatorsOptions, unknown>>) => () =>
    createPageAllocators({ memoryMap, ...o } as PageAllocatorsOptions);
  const optional = (v: unknown) => v === undefined;
  describeRefusals(none, none, [
    { name: "createPageAllocators(options)", call: (_, v) => createPageAllocators(v as never) },
    { name: "{ memoryMap }", call: (_, v) => opt({ memoryMap: v })() },
    {
      name: "{ lowMemoryEnd }",
      call: (_, v) => opt({ lowMemoryEnd: v })(),
      accepts: (v) => v === undefined || v === 2 ** 32, // all of 4 GiB is a legal (if useless) low end
    },
    { name: "{ kernelImage }", call: (_, v) => opt({ kernelImage: v })(), accepts: optional },
    {
      name: "{ kernelImage: { start, length: 4096 } }",
      call: (_, v) => opt({ kernelImage: { start: v, length: 4096 } })(),
    },
    {
      name: "{ reserved }",
      call: (_, v) => opt({ reserved: v })(),
      accepts: (v) => v === undefined || (Array.isArray(v) && v.length === 0), // nothing reserved
    },
    { name: "{ kernelVirtual }", call: (_, v) => opt({ kernelVirtual: v })(), accepts: optional },
    { name: "{ rangeAllocator }", call: (_, v) => opt({ rangeAllocator: v })(), accepts: optional },
  ]);
});
