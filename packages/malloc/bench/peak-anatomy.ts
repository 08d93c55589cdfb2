/**
 * What a trace's peak footprint is made of: run each `.rep` file on the
 * default heap and, at the moment the footprint reaches its peak (the first
 * time it does), break the pages down into live payload, the overhead of live
 * blocks (headers, alignment, a slab object's room beyond the request), free
 * blocks on the lists, the wilderness, free or never-used slab objects, and
 * the rest (magics, control words, slab headers and tails, a large block's
 * last page). Utilisation is lost to whichever is large at the peak, so
 * this says which policy change can win on a trace before it is made.
 *
 * `node dist-bench/bench/peak-anatomy.js FILE...` after `tsc -b tsconfig.bench.json`
 * (default: test/fixtures/lab-*.rep); one line per trace, bytes as a fraction of the
 * peak footprint.
 */
import { readFileSync, readdirSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { PAGE_SIZE } from "@mm386/hw-i386";
import { type Malloc, createStack, parseTrace } from "../src/index.js";

/** The parts of a footprint, in bytes. */
interface Anatomy {
  pages: number;
  payload: number;
  regionPages: number;
  slabPages: number;
  largePages: number;
  overhead: number;
  free: number;
  wild: number;
  slabFree: number;
}

/** The heap as it is now, broken down (`requested`: bytes asked for by each live pointer). */
function anatomy(heap: Malloc, requested: Map<number, number>): Anatomy {
  const a: Anatomy = {
    pages: heap.stats.footprintPages,
    payload: 0,
    regionPages: 0,
    slabPages: 0,
    largePages: 0,
    overhead: 0,
    free: 0,
    wild: 0,
    slabFree: 0,
  };
  for (const e of heap.extents()) {
    if (e.kind === "region") a.regionPages += e.pages;
    else if (e.kind === "slab") a.slabPages += e.pages;
    else a.largePages += e.pages;
  }
  let lastFree: { bp: number; size: number } | null = null;
  const slabLive = new Map<number, number>();
  for (const b of heap.blocks()) {
    if (b.allocated) {
      const req = requested.get(b.bp) ?? 0;
      a.payload += req;
      if (!b.large) a.overhead += b.size - req;
      if (!b.large) slabLive.set(b.bp, b.size);
    } else {
      a.free += b.size;
      lastFree = b;
    }
  }
  // The largest free block at a region's end is most likely the wilderness: shown apart.
  if (lastFree !== null) {
    a.wild = lastFree.size;
    a.free -= lastFree.size;
  }
  for (const e of heap.extents())
    if (e.kind === "slab") {
      let used = 0;
      for (const [bp, size] of slabLive)
        if (bp >= e.start && bp < e.start + e.pages * PAGE_SIZE) used += size;
      a.slabFree += e.pages * PAGE_SIZE - 32 - used;
    }
  return a;
}

const dir = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const usage = "usage: anatomy [FILE.rep...]  (default: test/fixtures/lab-*.rep)";
const files = process.argv.slice(2);
if (files.includes("--help") || files.includes("-h")) {
  console.log(usage);
  process.exit(0);
}
const bad = files.find((f) => f.startsWith("-"));
if (bad !== undefined) {
  console.error(`anatomy: unknown option "${bad}"\n${usage}`);
  process.exit(2);
}
/** The trace in `path`, or exit 2 with one line naming the file and why. */
function load(path: string): ReturnType<typeof parseTrace> {
  try {
    return parseTrace(readFileSync(path, "utf8"), basename(path));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    console.error(`anatomy: cannot read ${path}: ${why}`);
    process.exit(2);
  }
}
const paths =
  files.length > 0
    ? files
    : readdirSync(dir)
        .filter((f) => f.startsWith("lab-") && f.endsWith(".rep"))
        .sort()
        .map((f) => dir + f);
// Every file read before the first line is printed: a bad one leaves stdout empty.
const traces = paths.map(load);
const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`.padStart(6);
console.log(
  "trace                   pages  util  | payload  overhead  free  wild  slab-free  rest | region/slab/large pages",
);
for (const trace of traces) {
  const { heap } = createStack({ ramBytes: 256 * 2 ** 20 });
  const m = heap as Malloc;
  const ptr = new Map<number, number>();
  const requested = new Map<number, number>();
  let peak = m.stats.footprintPages;
  let peakPayload = 0;
  let at: Anatomy = anatomy(m, requested);
  for (const op of trace.ops) {
    if (op.kind === "a") {
      const p = m.malloc(op.size)!;
      ptr.set(op.id, p);
      requested.set(p, op.size);
    } else if (op.kind === "f") {
      const p = ptr.get(op.id)!;
      m.free(p);
      requested.delete(p);
    } else {
      const old = ptr.get(op.id)!;
      requested.delete(old);
      const p = m.realloc(old, op.size);
      if (p !== null) {
        ptr.set(op.id, p);
        requested.set(p, op.size);
      }
    }
    if (m.stats.footprintPages > peak) {
      peak = m.stats.footprintPages;
      at = anatomy(m, requested);
    }
    peakPayload = Math.max(peakPayload, m.stats.livePayload);
  }
  const bytes = peak * PAGE_SIZE;
  const rest = bytes - at.payload - at.overhead - at.free - at.wild - at.slabFree;
  console.log(
    `${trace.name.padEnd(22)} ${String(peak).padStart(6)} ${(peakPayload / bytes).toFixed(3)} | ${pct(at.payload, bytes)} ${pct(at.overhead, bytes)}  ${pct(at.free, bytes)} ${pct(at.wild, bytes)} ${pct(at.slabFree, bytes)} ${pct(rest, bytes)} | ${at.regionPages}/${at.slabPages}/${at.largePages}`,
  );
}
