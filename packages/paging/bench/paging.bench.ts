/**
 * Paging operations per design, in one run, through the PagingDesign
 * interface: map then unmap 1, 16 and 1024 pages in the current user address
 * space and 1 page in another one,
 * address space create+destroy, and a loop that switches between two address
 * spaces and touches a page in each. Medians from tinybench; the baseline is
 * one read32 TLB hit on the same machine, so every figure is also given as a
 * multiple of it. Run with `pnpm bench` from the repository root.
 */
import { type Machine, createMachine } from "@mm386/hw-i386";
import { Bench } from "tinybench";
import {
  type AddressSpace,
  PTE_PRESENT,
  PTE_USER,
  PTE_WRITE,
  type PagingDesign,
  startPaging,
} from "../src/index.js";
import { bootLinux } from "../src/linux/index.js";
import { bootWhitix } from "../src/whitix/index.js";

/** Every design measured: name and how it boots. */
const DESIGNS: [string, (m: Machine) => PagingDesign][] = [
  ["hobby", (m) => startPaging(m)],
  ["whitix", (m) => bootWhitix(m)],
  ["linux", (m) => bootLinux(m)],
];

const flags = PTE_PRESENT | PTE_WRITE | PTE_USER;
let sink = 0;
const bench = new Bench({ time: 300, warmup: true });

const baseMachine = createMachine({ ramBytes: 64 * 1024 * 1024 });
const baseDesign = startPaging(baseMachine);
const baseFrame = baseDesign.allocFrames(1)!;
const baseSpace = baseDesign.createAddressSpace()!;
baseDesign.map(baseSpace, 0x0080_0000, baseFrame, 1, flags);
baseDesign.switchTo(baseSpace);
bench.add("baseline: read32 TLB hit", () => {
  sink += baseMachine.mmu.read32(0x0080_0000, 3);
});

for (const [name, boot] of DESIGNS) {
  const d = boot(createMachine({ ramBytes: 128 * 1024 * 1024 }));
  const m = d.machine;
  const frames = d.allocFrames(1024)!;
  const base = Math.ceil(d.userStart / 0x40_0000) * 0x40_0000 + 0x40_0000;
  const as: AddressSpace = d.createAddressSpace()!;
  const other: AddressSpace = d.createAddressSpace()!;
  // Page tables exist before measuring: we time mapping, not table creation.
  d.map(as, base, frames, 1024, flags);
  d.unmap(as, base, 1024);
  d.map(other, base, frames, 1, flags);
  d.map(as, base + 0x40_0000, frames, 1, flags);
  d.switchTo(as);
  m.mmu.read32(base + 0x40_0000, 3);
  for (const n of [1, 16, 1024]) {
    bench.add(`${name}: map ${n} page(s), then unmap them`, () => {
      d.map(as, base, frames, n, flags);
      d.unmap(as, base, n);
    });
  }
  // Another space than the current one: Whitix reaches its tables through temporary mappings.
  bench.add(`${name}: map 1 page in another space, then unmap it`, () => {
    d.map(other, base + 0x1000, frames, 1, flags);
    d.unmap(other, base + 0x1000, 1);
  });
  bench.add(`${name}: address space create + destroy`, () => {
    const s = d.createAddressSpace()!;
    d.destroyAddressSpace(s);
  });
  bench.add(`${name}: switch to the other space, touch, switch back, touch`, () => {
    d.switchTo(other);
    sink += m.mmu.read32(base, 3);
    d.switchTo(as);
    sink += m.mmu.read32(base + 0x40_0000, 3);
  });
}
await bench.run();

let baseMs = 0;
const rows = bench.tasks.map((t) => {
  const ms = (t.result as { latency?: { p50: number } } | undefined)?.latency?.p50;
  if (ms === undefined) throw new Error(`no result for ${t.name}`);
  if (baseMs === 0) baseMs = ms;
  return {
    task: t.name,
    "median µs": Number((ms * 1000).toFixed(3)),
    "ops/s": Math.round(1000 / ms),
    "x read32 hit": Number((ms / baseMs).toFixed(0)),
  };
});
console.log("paging per design: medians of tinybench samples");
console.table(rows);
if (sink === 0.5) console.log("");
