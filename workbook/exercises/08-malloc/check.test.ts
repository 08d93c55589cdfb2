/**
 * Exercise 8's checks: the heap conformance suite, then generated traces run
 * by the trace driver (overlap and data checked on every operation) and
 * scored by utilisation and simulated cost against the reference malloc.
 */
import { writeFileSync } from "node:fs";
import { Malloc, generateTrace, parseTrace, runTrace } from "@mm386/malloc";
import { describeHeapConformance } from "@mm386/malloc/conformance";
import { describe, expect, it } from "vitest";
import type { MallocExercise } from "../../src/exercise-api.js";
import { bootWith, earlierLayers, implLabel, loadExercise, machineWith } from "../../src/kit.js";

const { createMalloc } = await loadExercise<MallocExercise>(8);
const layers = await earlierLayers(8);

describeHeapConformance(`exercise 8 (${implLabel(8)})`, createMalloc, {
  start: bootWith(layers),
  machine: machineWith(layers),
  ...(layers.kvmalloc ? { kvmalloc: layers.kvmalloc } : {}),
});

describe(`exercise 8 on traces (${implLabel(8)})`, () => {
  it("runs four generated traces validly, with a mean utilisation of at least 0.55", () => {
    const traces = [1, 2, 3, 4].map((seed) =>
      parseTrace(generateTrace({ seed, ops: 1500 }), `gen-${seed}`),
    );
    const score = (malloc: typeof createMalloc) =>
      traces.map((t) => runTrace(t, { minTimeMs: 0, stack: { ...layers, malloc } }));
    const mine = score(createMalloc);
    // The reference checked on its own stack scores what it is compared with:
    // runs are deterministic, so the second run would only repeat the first.
    const reference = implLabel(8) === "reference" ? mine : score((kv) => new Malloc(kv));
    const mean = (rs: typeof mine, f: (r: (typeof mine)[number]) => number) =>
      rs.reduce((a, r) => a + f(r), 0) / rs.length;
    const summary = {
      // Utilisation and cost of an invalid run mean nothing: the CLI prints n/a.
      valid: mine.every((r) => r.valid),
      utilization: mean(mine, (r) => r.utilization),
      accessesPerOp: mean(mine, (r) => r.mmuAccesses / r.ops),
      reference: {
        utilization: mean(reference, (r) => r.utilization),
        accessesPerOp: mean(reference, (r) => r.mmuAccesses / r.ops),
      },
      traces: mine.map((r) => ({
        trace: r.trace,
        valid: r.valid,
        utilization: r.utilization,
        error: r.error,
      })),
    };
    if (process.env.MM386_SCORE_FILE)
      writeFileSync(process.env.MM386_SCORE_FILE, JSON.stringify(summary));
    for (const r of mine) expect(r.valid, `${r.trace}: ${r.error ?? ""}`).toBe(true);
    expect(summary.utilization, "mean utilisation").toBeGreaterThanOrEqual(0.55);
  });
});
