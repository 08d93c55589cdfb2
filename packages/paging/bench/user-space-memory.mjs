// Host memory of 100 user address spaces whose vpallocator is used (issue 10).
// Run after a build: `npx tsc -b packages/paging && node --expose-gc packages/paging/bench/user-space-memory.mjs`
// Set MM386_REGION=buddy to measure with the buddy under user regions (what it was before).
import { createMachine } from "@mm386/hw-i386";
import { buddyRanges } from "@mm386/allocation";
import { startPaging } from "../dist/index.js";

const gc = globalThis.gc;
if (typeof gc !== "function") throw new Error("run with node --expose-gc");
const SPACES = 100;
const m = createMachine({ ramBytes: 64 * 1024 * 1024 });
const buddy = process.env.MM386_REGION === "buddy";
// rangeAllocator applies to user regions too, so passing buddy explicitly restores the old default.
const p = startPaging(m, buddy ? { rangeAllocator: buddyRanges } : {});
gc();
gc();
const before = process.memoryUsage();
const spaces = [];
for (let i = 0; i < SPACES; i++) {
  const as = p.createAddressSpace();
  p.allocators.vpalloc(as.vpa, 4, 4);
  spaces.push(as);
}
gc();
gc();
const after = process.memoryUsage();
const used = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
console.log(
  `${SPACES} used user address spaces (${buddy ? "buddy" : "default"} user regions): ` +
    `heap +${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)} MiB, ` +
    `array buffers +${((after.arrayBuffers - before.arrayBuffers) / 2 ** 20).toFixed(1)} MiB, ` +
    `${(used / SPACES / 1024).toFixed(1)} KiB per space (spaces kept: ${spaces.length})`,
);
