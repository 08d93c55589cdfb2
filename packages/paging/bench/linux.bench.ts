/**
 * Linux on i386, in one run: a whole boot (head.S to memInit, on a fresh
 * machine) with 64 MiB and 1 GiB, 4 KiB and 4 MiB pages, next to the hobby
 * kernel's startPaging on the same RAM as the baseline of each size; and
 * allocPages + freePages pairs by order, next to one read32 TLB hit. Medians
 * from tinybench. Goal (issue 15): a 1 GiB boot with 4 KiB pages under
 * 100 ms. Then one demand fault (issue 17: a write to a fresh page of an
 * mmap area) next to a TLB-hit read; kmap/kunmap, kmapAtomic/kunmapAtomic
 * and vmalloc+vfree of 16 pages (issue 16) next to a TLB-hit read. Run with
 * `pnpm bench` from the repository root.
 */
import { GFP } from "@mm386/allocation/linux";
import { createMachine } from "@mm386/hw-i386";
import { Bench } from "tinybench";
import { startPaging } from "../src/index.js";
import { bootLinux, PROT } from "../src/linux/index.js";

const MiB = 1024 * 1024;

function median(bench: Bench, name: string): number {
  const t = bench.tasks.find((x) => x.name === name);
  const ms = (t?.result as { latency?: { p50: number } } | undefined)?.latency?.p50;
  if (ms === undefined) throw new Error(`no result for ${name}`);
  return ms;
}

// ------------------------------------------------------------------ boots
const boots = new Bench({ time: 1500, warmup: true, iterations: 5 });
for (const mib of [64, 1024]) {
  boots.add(`hobby startPaging, ${mib} MiB (baseline)`, () => {
    startPaging(createMachine({ ramBytes: mib * MiB }));
  });
  for (const pse of [false, true])
    boots.add(`bootLinux ${mib} MiB, ${pse ? "4 MiB" : "4 KiB"} pages`, () => {
      bootLinux(createMachine({ ramBytes: mib * MiB }), { pse });
    });
}
await boots.run();
console.table(
  boots.tasks.map((t) => {
    const mib = Number(/(\d+) MiB/.exec(t.name)![1]);
    const ms = median(boots, t.name);
    return {
      task: t.name,
      "median ms": Number(ms.toFixed(2)),
      "x hobby boot": Number(
        (ms / median(boots, `hobby startPaging, ${mib} MiB (baseline)`)).toFixed(1),
      ),
    };
  }),
);
const goal = median(boots, "bootLinux 1024 MiB, 4 KiB pages");
console.log(
  `1 GiB boot with 4 KiB pages: ${goal.toFixed(1)} ms (goal < 100 ms: ${goal < 100 ? "met" : "MISSED"})`,
);

// ------------------------------------------------------- allocPages pairs
const l = bootLinux(createMachine({ ramBytes: 1024 * MiB }));
const probe = l.va(0x0020_0000);
l.read32(probe, 0);
let sink = 0;
const pairs = new Bench({ time: 300, warmup: true });
pairs.add("baseline: read32 TLB hit", () => {
  sink += l.mmu.read32(probe, 0);
});
for (const order of [0, 1, 4, 10]) {
  pairs.add(`allocPages(GFP_KERNEL, ${order}) + freePages`, () => {
    const p = l.zones.allocPages(GFP.KERNEL, order)!;
    l.zones.freePages(p, order);
  });
}
pairs.add("allocPages(GFP_HIGHUSER, 0) + freePages", () => {
  const p = l.zones.allocPages(GFP.HIGHUSER, 0)!;
  l.zones.freePages(p, 0);
});
await pairs.run();
const base = median(pairs, "baseline: read32 TLB hit");
console.table(
  pairs.tasks.map((t) => {
    const ms = median(pairs, t.name);
    return {
      task: t.name,
      "median µs": Number((ms * 1000).toFixed(3)),
      "pairs/s": Math.round(1000 / ms),
      "x read32 hit": Number((ms / base).toFixed(0)),
    };
  }),
);
// ------------------------------------------------------- demand faults
// Touching N fresh pages of an area: each write faults, takes a frame (highmem
// first), zeroes it through the user address and retries. The same mmap +
// munmap without touching is measured beside it and subtracted.
const N = 256;
const mm = l.createAddressSpace()!;
l.switchTo(mm);
const AREA = 0x1000_0000;
l.mmap(mm, AREA, N * 4096, PROT.READ | PROT.WRITE);
for (let i = 0; i < N; i++) l.write32(AREA + i * 4096, i, 3); // page tables exist from now on
l.munmap(mm, AREA, N * 4096);
const faults = new Bench({ time: 500, warmup: true });
faults.add("baseline: read32 TLB hit", () => {
  sink += l.mmu.read32(probe, 0);
});
faults.add(`mmap + munmap ${N} pages, untouched`, () => {
  l.mmap(mm, AREA, N * 4096, PROT.READ | PROT.WRITE);
  l.munmap(mm, AREA, N * 4096);
});
faults.add(`mmap + write ${N} fresh pages (${N} demand faults) + munmap`, () => {
  l.mmap(mm, AREA, N * 4096, PROT.READ | PROT.WRITE);
  for (let i = 0; i < N; i++) l.write32(AREA + i * 4096, i, 3);
  l.munmap(mm, AREA, N * 4096);
});
await faults.run();
const hit = median(faults, "baseline: read32 TLB hit");
const perFault =
  (median(faults, `mmap + write ${N} fresh pages (${N} demand faults) + munmap`) -
    median(faults, `mmap + munmap ${N} pages, untouched`)) /
  N;
console.table([
  {
    task: "read32 TLB hit (baseline)",
    "median µs": Number((hit * 1000).toFixed(3)),
    "x read32 hit": 1,
  },
  {
    task: "one demand fault (write to a fresh page, minus mmap/munmap)",
    "median µs": Number((perFault * 1000).toFixed(3)),
    "x read32 hit": Math.round(perFault / hit),
  },
]);
// ------------------------------------------------- highmem and vmalloc (issue 16)
// kmap + kunmap of one page (it keeps its slot: a count up and down), of a
// new page each time (a free slot, a PTE, and every 1023 calls the wrap's
// whole-TLB flush), kmapAtomic + kunmapAtomic (a PTE set and cleared, two
// invlpg), and vmalloc + vfree of 16 pages (16 highmem frames, the PTEs,
// one whole-TLB flush), each next to a TLB-hit read in the same run.
l.switchTo(l.reference);
const HIGH = 896 * MiB;
l.vfree(l.vmalloc(16 * 4096)!); // the area's page table exists from now on
let next = 0;
const high = new Bench({ time: 500, warmup: true });
high.add("baseline: read32 TLB hit", () => {
  sink += l.mmu.read32(probe, 0);
});
high.add("kmap + kunmap, the same highmem page", () => {
  l.kmap(HIGH);
  l.kunmap(HIGH);
});
high.add("kmap + kunmap, a new highmem page each time", () => {
  const page = HIGH + (next++ % 20_000) * 4096;
  l.kmap(page);
  l.kunmap(page);
});
high.add("kmapAtomic + kunmapAtomic (KM_USER0)", () => {
  l.kunmapAtomic(l.kmapAtomic(HIGH, 3), 3);
});
high.add("vmalloc(16 pages) + vfree", () => {
  l.vfree(l.vmalloc(16 * 4096)!);
});
await high.run();
const hb = median(high, "baseline: read32 TLB hit");
console.table(
  high.tasks.map((t) => {
    const ms = median(high, t.name);
    return {
      task: t.name,
      "median µs": Number((ms * 1000).toFixed(3)),
      "x read32 hit": Number((ms / hb).toFixed(1)),
    };
  }),
);
console.log(`pkmap flushes during the run: ${l.stats.pkmapFlushes}`);
if (sink === 0.5) console.log(sink);
