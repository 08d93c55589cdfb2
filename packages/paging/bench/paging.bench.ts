/**
 * Paging operations, in one run: mapMem (map then unmap) of 1, 16 and 1024
 * pages in a user address space, address space create+destroy, and a loop
 * that switches between two address spaces and touches a page in each.
 * Medians from tinybench; the baseline is one read32 TLB hit on the same
 * machine, so every figure is also given as a multiple of it. Run with
 * `pnpm bench` from the repository root.
 */
import { createMachine } from "@mm386/hw-i386";
import { Bench } from "tinybench";
import { PTE_PRESENT, PTE_USER, PTE_WRITE, startPaging } from "../src/index.js";

const m = createMachine({ ramBytes: 128 * 1024 * 1024 });
const p = startPaging(m);
const frames = p.allocators.ppalloc(1024, 1024)!;
const as = p.createAddressSpace()!;
const other = p.createAddressSpace()!;
const flags = PTE_PRESENT | PTE_WRITE | PTE_USER;
// Page tables exist before measuring: we time mapping, not table creation.
p.mapMem(as, frames.start, 0x0040_0000, 1024, flags);
p.mapMem(as, 0, 0x0040_0000, 1024, 0);
p.mapMem(other, frames.start, 0x0040_0000, 1, flags);
p.mapMem(as, frames.start, 0x0080_0000, 1, flags);
p.switchTo(as);
m.mmu.read32(0x0080_0000, 3);

let sink = 0;
const bench = new Bench({ time: 400, warmup: true });
bench.add("baseline: read32 TLB hit", () => {
  sink += m.mmu.read32(0x0080_0000, 3);
});
for (const n of [1, 16, 1024]) {
  bench.add(`mapMem ${n} page(s), then unmap them`, () => {
    p.mapMem(as, frames.start, 0x0040_0000, n, flags);
    p.mapMem(as, 0, 0x0040_0000, n, 0);
  });
}
bench.add("address space create + destroy", () => {
  const pd = p.createAddressSpace()!;
  p.destroyAddressSpace(pd);
});
bench.add("switch to the other address space, touch, switch back, touch", () => {
  p.switchTo(other);
  sink += m.mmu.read32(0x0040_0000, 3);
  p.switchTo(as);
  sink += m.mmu.read32(0x0080_0000, 3);
});
await bench.run();

let base = 0;
const rows = bench.tasks.map((t) => {
  const ms = (t.result as { latency?: { p50: number } } | undefined)?.latency?.p50;
  if (ms === undefined) throw new Error(`no result for ${t.name}`);
  if (base === 0) base = ms;
  return {
    task: t.name,
    "median µs": Number((ms * 1000).toFixed(3)),
    "ops/s": Math.round(1000 / ms),
    "x read32 hit": Number((ms / base).toFixed(0)),
  };
});
console.log("paging: medians of tinybench samples");
console.table(rows);
if (sink === 0.5) console.log("");
