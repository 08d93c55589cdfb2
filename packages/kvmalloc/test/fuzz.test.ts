/**
 * Fuzz: kvmalloc and kvfree with bad values (the shared harness of
 * @mm386/hw-i386/testing) must throw a typed error with a code and change
 * nothing: the kernel page tables read physically, the page allocators, the
 * kvmalloc counters, the MMU counters and the TLB entries.
 * `MM386_DEEP=1` tries many more random values.
 */
import { createMachine, PDE } from "@mm386/hw-i386";
import { describeRefusals, type FuzzCall } from "@mm386/hw-i386/testing";
import { type Paging, startPaging } from "@mm386/paging";
import { describe } from "vitest";
import { bootLinux } from "@mm386/paging/linux";
import { Kvmalloc } from "../src/index.js";
import { LinuxVmalloc } from "../src/linux.js";

/** A plain object with no key of its own: `{}`, the options that ask for every default. */
const isEmptyObject = (v: unknown): boolean =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

const MiB = 1024 * 1024;

interface World {
  readonly kv: Kvmalloc;
  readonly va: number;
}

/** 16 MiB, one 2-page kvmalloc live. */
function world(guardPages = false): World {
  const kv = new Kvmalloc(startPaging(createMachine({ ramBytes: 16 * MiB })), { guardPages });
  const va = kv.kvmalloc(2)!;
  kv.paging.mmu.read32(va);
  return { kv, va };
}

/** The kernel half of the first pagedir and every kernel page table, read physically. */
function kernelTables(p: Paging): (number | string)[] {
  const ram = p.machine.ram;
  const out: (number | string)[] = [];
  for (let r = p.userPdes; r < 1024; r++) {
    const pde = ram.read32(p.init.phys + 4 * r);
    out.push(pde);
    if ((pde & PDE.P) === 0 || (pde & PDE.PS) !== 0) continue;
    // One string per table: cheap to compare twice per case.
    out.push(Buffer.from(ram.readBytes((pde & 0xffff_f000) >>> 0, 4096)).toString("base64"));
  }
  return out;
}

function snapshot(w: World) {
  const p = w.kv.paging;
  return {
    held: [w.kv.pages, w.kv.allocations],
    free: [p.allocators.physical.freePages, p.allocators.kernel.freePages],
    tables: kernelTables(p),
    stats: { ...p.mmu.stats },
    tlb: p.mmu.tlb.entries().map((e) => ({ ...e })),
  };
}

const calls: FuzzCall<World>[] = [
  {
    name: "kvmalloc(n)",
    call: (w, v) => w.kv.kvmalloc(v as number),
    // Any positive count is a fair request; more pages than there are is
    // exhaustion (null), not bad input.
    accepts: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
  },
  { name: "kvfree(addr, 2)", call: (w, v) => w.kv.kvfree(v as number, 2) },
  { name: "kvfree(va, n)", call: (w, v) => w.kv.kvfree(w.va, v as number) },
];

describe("fuzz: Kvmalloc", () => {
  describeRefusals(() => world(), snapshot, calls);
});

describe("fuzz: Kvmalloc with guard pages", () => {
  describeRefusals(() => world(true), snapshot, calls);
});

describe("fuzz: new Kvmalloc", () => {
  const none = () => null;
  describeRefusals(
    none,
    none,
    [
      { name: "new Kvmalloc(paging)", call: (_, v) => new Kvmalloc(v as Paging) },
      {
        name: "new Kvmalloc(paging, options)",
        call: (_, v) =>
          new Kvmalloc(startPaging(createMachine({ ramBytes: 16 * MiB })), v as never),
        // No options, or an empty options object: both mean "all defaults".
        accepts: (v) => v === undefined || isEmptyObject(v),
      },
    ],
    { runs: 5 },
  );
});

// ------------------------------------------------------ Linux vmalloc

interface LinuxWorld {
  readonly kv: LinuxVmalloc;
  readonly va: number;
}

/** 16 MiB of Linux, one 2-page vmalloc live and touched. */
function linuxWorld(): LinuxWorld {
  const kv = new LinuxVmalloc(bootLinux(createMachine({ ramBytes: 16 * MiB })));
  const va = kv.kvmalloc(2)!;
  kv.paging.read32(va, 0);
  return { kv, va };
}

function linuxSnapshot(w: LinuxWorld) {
  const l = w.kv.paging;
  return {
    zones: l.zones.freeCounts(),
    regions: l.vmRegions(),
    swapper: Array.from({ length: 1024 }, (_, r) => l.mmu.read32(l.reference.pgd + 4 * r)),
    dump: l.dump(l.reference),
    design: l.stats,
    tlb: l.mmu.tlb.entries().map((e) => ({ ...e })),
  };
}

describe("fuzz: LinuxVmalloc", () => {
  describeRefusals(linuxWorld, linuxSnapshot, [
    {
      name: "kvmalloc(n)",
      call: (w, v) => w.kv.kvmalloc(v as number),
      accepts: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
    },
    { name: "kvfree(addr, 2)", call: (w, v) => w.kv.kvfree(v as number, 2) },
    { name: "kvfree(va, n)", call: (w, v) => w.kv.kvfree(w.va, v as number) },
    { name: "new LinuxVmalloc(paging)", call: (_, v) => new LinuxVmalloc(v as never) },
  ]);
});
