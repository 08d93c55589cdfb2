/**
 * Fuzz: every public call of the page allocators with bad values (the shared
 * harness of @mm386/hw-i386/testing) must throw a typed error with a code and
 * leave every allocator's unit states and free counts as they were.
 * `MM386_DEEP=1` tries many more random values.
 */
import { createMachine, defaultMemoryMap, E820 } from "@mm386/hw-i386";
import { describeRefusals, type FuzzCall } from "@mm386/hw-i386/testing";
import { describe } from "vitest";
import {
  createPageAllocators,
  type PageAllocators,
  type PageAllocatorsOptions,
  type PageRangeAllocator,
  type VirtualPageAllocator,
} from "../src/index.js";
import { Bootmem, GFP, Zones } from "../src/linux/index.js";

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

// ------------------------------------------------------------ Linux: bootmem, zones

interface LinuxWorld {
  readonly bootmem: Bootmem;
  readonly zones: Zones;
  readonly page: number;
}

/** Bootmem over 64 pages (8..63 free, one allocated) and small zones with one order-1 block out. */
function linuxWorld(): LinuxWorld {
  const bootmem = new Bootmem({
    machine: createMachine({ ramBytes: 16 * MiB }),
    pageOffset: 0xc000_0000,
    maxLowPfn: 64,
  });
  bootmem.freeBootmem(8 * 4096, 56 * 4096);
  bootmem.allocBootmemLowPages(1);
  const zones = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
  zones.populateLowmem([{ start: 1, end: 5120 }]);
  zones.setHighmemPagesInit([{ base: 5120 * 4096, length: 4 * MiB, type: E820.USABLE }]);
  const page = zones.allocPages(GFP.KERNEL, 1)!;
  return { bootmem, zones, page };
}

function linuxSnapshot(w: LinuxWorld) {
  return {
    bootmem: w.bootmem.retired ? "retired" : w.bootmem.freeRuns(),
    zones: w.zones.zones.map((z) => z.buddy?.blocks() ?? null),
  };
}

const isPositiveInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;

const linuxCalls: FuzzCall<LinuxWorld>[] = [
  {
    name: "bootmem.freeBootmem(phys, 4096)",
    call: (w, v) => w.bootmem.freeBootmem(v as number, 4096),
  },
  { name: "bootmem.freeBootmem(0, size)", call: (w, v) => w.bootmem.freeBootmem(0, v as number) },
  {
    name: "bootmem.reserveBootmem(phys, 4096)",
    call: (w, v) => w.bootmem.reserveBootmem(v as number, 4096),
  },
  {
    name: "bootmem.reserveBootmem(0, size)",
    call: (w, v) => w.bootmem.reserveBootmem(0, v as number),
  },
  {
    name: "bootmem.allocBootmemLowPages(n)",
    call: (w, v) => w.bootmem.allocBootmemLowPages(v as number),
    // A count that fits low memory is a request; beyond 56 free pages it is null, not a refusal.
    accepts: (v) => isPositiveInt(v) && (v as number) <= 64 && (v as number) > 56,
  },
  {
    name: "bootmem.registerBootmemLowPages(list)",
    call: (w, v) => w.bootmem.registerBootmemLowPages(v as never),
    // An empty list is a list: it frees nothing.
    accepts: (v) => Array.isArray(v) && v.length === 0,
  },
  {
    name: "bootmem.registerBootmemLowPages([{ base, length: 4096 }])",
    call: (w, v) => w.bootmem.registerBootmemLowPages([{ base: v as number, length: 4096 }]),
    // Any non-negative base is a range; one above low memory frees nothing.
    accepts: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
  },
  { name: "bootmem.isReserved(pfn)", call: (w, v) => w.bootmem.isReserved(v as number) },
  {
    name: "bootmem.freeAllBootmem(zones)",
    call: (w, v) => w.bootmem.freeAllBootmem(v as Zones),
  },
  { name: "zones.allocPages(gfp, 0)", call: (w, v) => w.zones.allocPages(v as number, 0) },
  {
    name: "zones.allocPages(GFP_KERNEL, order)",
    call: (w, v) => w.zones.allocPages(GFP.KERNEL, v as number),
    accepts: (v) => Number.isSafeInteger(v) && (v as number) >= 11 && (v as number) <= 31,
  },
  { name: "zones.freePages(phys, 1)", call: (w, v) => w.zones.freePages(v as number, 1) },
  { name: "zones.freePages(page, order)", call: (w, v) => w.zones.freePages(w.page, v as number) },
  {
    name: "zones.allocPagesExact(GFP_KERNEL, n)",
    call: (w, v) => w.zones.allocPagesExact(GFP.KERNEL, v as number),
    accepts: (v) => isPositiveInt(v) && (v as number) > 1024,
  },
  {
    name: "zones.freePagesExact(phys, 2)",
    call: (w, v) => w.zones.freePagesExact(v as number, 2),
  },
  {
    name: "zones.freePagesExact(page, n)",
    call: (w, v) => w.zones.freePagesExact(w.page, v as number),
  },
  { name: "zones.zonelist(gfp)", call: (w, v) => w.zones.zonelist(v as number) },
  {
    name: "zones.setHighmemPagesInit(map)",
    call: (w, v) => w.zones.setHighmemPagesInit(v as never),
  },
];

describe("fuzz: Linux bootmem and zones", () => {
  describeRefusals(linuxWorld, linuxSnapshot, linuxCalls);
});

describe("fuzz: Linux constructors", () => {
  const none = () => null;
  const machine = createMachine({ ramBytes: 16 * MiB });
  describeRefusals(
    none,
    none,
    [
      { name: "new Bootmem(options)", call: (_, v) => new Bootmem(v as never) },
      {
        name: "new Bootmem({ maxLowPfn })",
        call: (_, v) => new Bootmem({ machine, pageOffset: 0xc000_0000, maxLowPfn: v as number }),
      },
      {
        name: "new Bootmem({ pageOffset })",
        call: (_, v) => new Bootmem({ machine, pageOffset: v as number, maxLowPfn: 64 }),
      },
      { name: "new Zones(options)", call: (_, v) => new Zones(v as never) },
      {
        name: "new Zones({ maxPfn })",
        call: (_, v) => new Zones({ maxLowPfn: 64, maxPfn: v as number }),
      },
      {
        name: "new Zones({ maxLowPfn })",
        call: (_, v) => new Zones({ maxLowPfn: v as number, maxPfn: 64 }),
      },
    ],
    { runs: 5 },
  );
});
