/**
 * The largest machine: 3.75 GiB of RAM (the rest of 4 GiB is the firmware
 * hole), every frame written once. Reports the time that takes and what it
 * costs the host (resident set size before and after), against the bytes
 * of RAM simulated.
 *
 * Run with `pnpm bench` from the repository root (after the MMU benchmark).
 */
import { PAGE_SIZE, PhysicalMemory } from "../src/index.js";

const RAM = 0xf000_0000;
const rss = () => process.memoryUsage().rss;
const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

const before = rss();
const ram = new PhysicalMemory({ installedBytes: RAM });
const start = performance.now();
for (let pa = 0; pa < RAM; pa += PAGE_SIZE) ram.write32(pa, pa >>> 12);
const ms = performance.now() - start;
const after = rss();
// Spot-check that every frame kept its word.
for (let pa = 0; pa < RAM; pa += 997 * PAGE_SIZE) {
  if (ram.read32(pa) !== pa >>> 12) throw new Error(`frame ${pa >>> 12} lost its word`);
}
console.log(
  `\nRAM: ${gib(RAM)} machine, every one of ${ram.touchedFrames} frames written: ${(ms / 1000).toFixed(2)} s ` +
    `(${((ms * 1e6) / ram.touchedFrames).toFixed(0)} ns per frame); host resident set ${gib(before)} -> ${gib(after)} ` +
    `(+${gib(after - before)}, ${((after - before) / RAM).toFixed(3)}x the RAM simulated)`,
);
