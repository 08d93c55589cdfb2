/**
 * The kernel designs side by side, in one run, through the PagingDesign
 * interface: map then unmap 1 and 1024 user pages in the current space and
 * in another one, and an address-space switch with one touch on each side.
 * The baseline is one read32 TLB hit on the same machine, and every figure
 * is also a ratio to it (medians of tinybench samples). Page tables exist
 * before measuring: this times mapping, not table creation.
 */
import type { Machine } from "@mm386/hw-i386";
import { createMachine } from "@mm386/hw-i386";
import { Bench } from "tinybench";
import { type PagingDesign, PTE_PRESENT, PTE_USER, PTE_WRITE, startPaging } from "../src/index.js";
import { bootLinux } from "../src/linux/index.js";
import { bootWhitix } from "../src/whitix/index.js";

const flags = PTE_PRESENT | PTE_WRITE | PTE_USER;
const VA = 0x0100_0000; // a user address both designs accept (Whitix's user half starts at 8 MiB)
const TOUCH = 0x0200_0000;

const designs: [string, (m: Machine) => PagingDesign][] = [
  ["hobby", (m) => startPaging(m)],
  ["whitix", (m) => bootWhitix(m)],
  ["linux", (m) => bootLinux(m)],
];

let sink = 0;
const bench = new Bench({ time: 400, warmup: true });
let baselineMade = false;
for (const [name, boot] of designs) {
  const m = createMachine({ ramBytes: 128 * 1024 * 1024 });
  const d = boot(m);
  const frames = d.allocFrames(1024)!;
  const as = d.createAddressSpace()!;
  const other = d.createAddressSpace()!;
  for (const s of [as, other]) {
    d.map(s, VA, frames, 1024, flags);
    d.unmap(s, VA, 1024);
    d.map(s, TOUCH, frames, 1, flags);
  }
  d.switchTo(as);
  m.mmu.read32(TOUCH, 3);
  if (!baselineMade) {
    baselineMade = true;
    bench.add("baseline: read32 TLB hit", () => {
      sink += m.mmu.read32(TOUCH, 3);
    });
  }
  for (const n of [1, 1024]) {
    bench.add(`${name}: map+unmap ${n} page(s), current space`, () => {
      d.map(as, VA, frames, n, flags);
      d.unmap(as, VA, n);
    });
    bench.add(`${name}: map+unmap ${n} page(s), another space`, () => {
      d.map(other, VA, frames, n, flags);
      d.unmap(other, VA, n);
    });
  }
  bench.add(`${name}: switch, touch, switch back, touch`, () => {
    d.switchTo(other);
    sink += m.mmu.read32(TOUCH, 3);
    d.switchTo(as);
    sink += m.mmu.read32(TOUCH, 3);
  });
}
await bench.run();

let base = 0;
const rows = bench.tasks.map((t) => {
  const ms = (t.result as { latency?: { p50: number } } | undefined)?.latency?.p50;
  if (ms === undefined) throw new Error(`no result for ${t.name}`);
  if (base === 0) base = ms;
  return {
    task: t.name,
    "median µs": Number((ms * 1000).toFixed(3)),
    "x read32 hit": Number((ms / base).toFixed(0)),
  };
});
console.log("paging designs: medians of tinybench samples");
console.table(rows);
if (sink === 0.5) console.log("");
