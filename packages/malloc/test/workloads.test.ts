/**
 * The workload generator (issue 18): deterministic per seed, valid traces,
 * the shapes it promises (checked against hand-counted expectations), and
 * the committed fixtures are what it writes. The default heap runs the
 * fixtures validly; `MM386_DEEP=1` runs all of them and holds the mean
 * utilization to a floor.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  LOSING_PATTERNS,
  WORKLOAD_NAMES,
  generateWorkload,
  parseTrace,
  runTrace,
  type TraceOp,
} from "../src/index.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const DEEP = process.env.MM386_DEEP !== undefined;

/** Replay a trace's sizes: the ops of each kind, the largest live payload, and what is live at the end. */
function model(ops: readonly TraceOp[]) {
  const live = new Map<number, number>();
  let payload = 0;
  let peak = 0;
  const kinds = { a: 0, f: 0, r: 0 };
  for (const op of ops) {
    kinds[op.kind]++;
    if (op.kind === "f") {
      payload -= live.get(op.id)!;
      live.delete(op.id);
    } else {
      payload += op.size - (live.get(op.id) ?? 0);
      live.set(op.id, op.size);
    }
    peak = Math.max(peak, payload);
  }
  return { kinds, peak, live: live.size };
}

describe("generateWorkload", () => {
  it.each(WORKLOAD_NAMES)(
    "%s: the same seed gives the same trace, another seed another",
    (name) => {
      const a = generateWorkload(name, { seed: 7, scale: 0.1 });
      expect(generateWorkload(name, { seed: 7, scale: 0.1 })).toBe(a);
      const t = parseTrace(a, name); // throws if malformed
      expect(model(t.ops).live).toBe(0); // everything is freed by the end
      expect(t.heapSize).toBeGreaterThanOrEqual(model(t.ops).peak);
    },
  );

  it("binary at seed 1 is the classic: 2000 pairs of 64 and 448, every 448 freed, then 2000 of 512", () => {
    const t = parseTrace(generateWorkload("binary", { seed: 1 }));
    const sizes = t.ops.filter((o) => o.kind === "a").map((o) => (o as { size: number }).size);
    expect(sizes.slice(0, 4)).toEqual([64, 448, 64, 448]);
    expect(sizes.filter((s) => s === 64)).toHaveLength(2000);
    expect(sizes.filter((s) => s === 448)).toHaveLength(2000);
    expect(sizes.slice(4000)).toEqual(Array(2000).fill(512));
    // Hand-counted: 4000 + 2000 allocations, 2000 frees of the 448s, 4000 at the end.
    expect(model(t.ops).kinds).toEqual({ a: 6000, f: 6000, r: 0 });
    expect(model(t.ops).peak).toBe(2000 * 64 + 2000 * 512);
  });

  it("realloc grows one block by 128 bytes 4800 times, with a 128-byte block after each growth", () => {
    const t = parseTrace(generateWorkload("realloc", { seed: 1 }));
    const grows = t.ops.filter((o) => o.kind === "r").map((o) => (o as { size: number }).size);
    expect(grows).toHaveLength(4800);
    expect(grows[0]).toBe(640);
    expect(grows.at(-1)).toBe(512 + 4800 * 128);
    expect(t.ops.slice(0, 5).map((o) => o.kind)).toEqual(["a", "a", "r", "a", "f"]);
  });

  it("small-holes frees 20000 small blocks between live ones, then asks for twice the size", () => {
    const t = parseTrace(generateWorkload("small-holes", { seed: 1 }));
    const frees = t.ops.slice(40000, 60000);
    expect(frees.every((o) => o.kind === "f")).toBe(true);
    expect(t.ops[60000]).toMatchObject({ kind: "a", size: 48 });
  });

  it("coalescing never has more than 8190 bytes live", () => {
    expect(model(parseTrace(generateWorkload("coalescing", { seed: 1 })).ops).peak).toBe(8190);
  });

  it("names every losing pattern's workloads among its own", () => {
    for (const names of Object.values(LOSING_PATTERNS))
      for (const n of names) expect(WORKLOAD_NAMES).toContain(n);
  });

  it.each([
    [() => generateWorkload("nope" as never, { seed: 1 }), /unknown workload "nope"/],
    [() => generateWorkload("binary", { seed: 0 }), /seed 0 must be a positive integer/],
    [() => generateWorkload("binary", { seed: 1.5 }), /seed 1.5/],
    [() => generateWorkload("binary", { seed: 1, scale: -1 }), /scale -1 must be a positive/],
  ])("refuses bad arguments with a RangeError naming the value (%#)", (f, message) => {
    expect(f).toThrow(RangeError);
    expect(f).toThrow(message);
  });
});

describe("the committed fixtures", () => {
  const files = readdirSync(fixtures)
    .filter((f) => f.startsWith("lab-"))
    .sort();

  it("are what the generator writes (pnpm --filter @mm386/malloc fixtures)", () => {
    expect(files.length).toBeGreaterThanOrEqual(WORKLOAD_NAMES.length);
    for (const f of files) {
      const [, name, seed] = /^lab-(.+)-(\d+)\.rep$/.exec(f)!;
      expect(readFileSync(join(fixtures, f), "utf8"), f).toBe(
        generateWorkload(name as (typeof WORKLOAD_NAMES)[number], { seed: Number(seed) }),
      );
    }
  });

  // The default heap on every fixture is the deep run; a few small ones always.
  const chosen = DEEP ? files : ["lab-binary2-1.rep", "lab-realloc2-1.rep", "lab-coalescing-1.rep"];
  it(
    "run validly on the default heap, each above a floor, the mean above issue 18's line",
    () => {
      const results = chosen.map((f) =>
        runTrace(parseTrace(readFileSync(join(fixtures, f), "utf8"), f), { minTimeMs: 1 }),
      );
      for (const r of results) {
        expect(r.valid, `${r.trace}: ${r.error}`).toBe(true);
        // Two 4095-byte blocks cannot share two pages with a header each: 3 pages, 66.7%.
        expect(r.utilization, r.trace).toBeGreaterThan(0.4);
      }
      if (DEEP) {
        const mean = results.reduce((a, r) => a + r.utilization, 0) / results.length;
        expect(mean).toBeGreaterThan(0.8);
      }
    },
    DEEP ? 600_000 : 60_000,
  );
});
