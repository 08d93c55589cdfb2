/**
 * Running combinations: each in a fresh stack with the same seed, several
 * timed runs (counters from the first, checked equal in the others, wall
 * time as the median), on worker threads when there are several
 * combinations and the tool runs from its build.
 *
 * ```
 *  combos --> [worker 1] runCombination(c0)  runCombination(c2) ...
 *         \-> [worker 2] runCombination(c1)  ...
 *  rows[c.index] = row                 (combination order, whatever finishes first)
 * ```
 *
 * @module
 */
import { type DesignStack, createStack } from "@mm386/malloc";
import { describeValue } from "@mm386/paging";
import { Tinypool } from "tinypool";
import {
  type Combination,
  type Counters,
  EXPERIMENT_ERROR,
  ExperimentError,
  type Row,
} from "./api.js";
import { hooksOf } from "./hooks.js";
import { Meter, parseTlbSpec, sumCounters, tlbFactory } from "./measure.js";
import { OutOfMemory, WORKLOAD_RUNNERS } from "./workloads.js";

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A whole number in [min, max], or an {@link ExperimentError} naming `what` and the value. */
function checkWhole(what: string, v: unknown, min: number, max: number): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max)
    throw new ExperimentError(
      EXPERIMENT_ERROR.BAD_OPTION,
      `${what} ${describeValue(v)} is not a whole number from ${min} to ${max}`,
    );
}

/**
 * Refuse a combination that planExperiment would not have made (for callers
 * that build their own): an {@link ExperimentError} naming the bad value,
 * before anything runs.
 */
export function checkCombination(combo: Combination): void {
  if (typeof combo !== "object" || combo === null)
    throw new ExperimentError(
      EXPERIMENT_ERROR.BAD_OPTION,
      `combination ${describeValue(combo)} is not an object`,
    );
  if (!Object.hasOwn(WORKLOAD_RUNNERS, combo.workload))
    throw new ExperimentError(
      EXPERIMENT_ERROR.BAD_OPTION,
      `workload ${describeValue(combo.workload)} is not one of ${Object.keys(WORKLOAD_RUNNERS).join(", ")}`,
    );
  if (typeof combo.tlb !== "string" || parseTlbSpec(combo.tlb) === null)
    throw new ExperimentError(
      EXPERIMENT_ERROR.BAD_OPTION,
      `tlb ${describeValue(combo.tlb)} is not "unbounded" or ENTRIES:WAYS:lru|fifo|random`,
    );
  checkWhole("ramMib", combo.ramMib, 4, 3840);
  checkWhole("seed", combo.seed, 1, 0xffff_ffff);
}

/** One run's figures (everything in a row but the timing). */
interface RunFigures {
  readonly phases: { setup: Counters; run: Counters; teardown: Counters };
  readonly pageTablePages: number | null;
  readonly physicalPages: number | null;
  readonly kernelVirtualPages: number | null;
  readonly fragmentation: number | null;
  readonly outOfMemory: boolean;
  readonly error: string | null;
}

function runOnce(combo: Combination): { figures: RunFigures; ms: number } {
  const hooks = hooksOf(combo.design);
  const spec = parseTlbSpec(combo.tlb);
  let stack: DesignStack;
  try {
    stack = createStack({
      ...hooks.stackOptions?.({ ranges: combo.ranges, heap: combo.heap, policy: combo.policy }),
      design: combo.design,
      ramBytes: combo.ramMib * 2 ** 20,
      ...(spec === null ? {} : { tlb: tlbFactory(spec, combo.seed) }),
    });
  } catch (e) {
    // A design that cannot boot on this machine (too little RAM for it, say)
    // is one row's result, not the end of the experiment.
    const none = sumCounters([]);
    return {
      ms: 0,
      figures: {
        phases: { setup: none, run: none, teardown: none },
        pageTablePages: null,
        physicalPages: null,
        kernelVirtualPages: null,
        fragmentation: null,
        outOfMemory: false,
        error: `boot failed: ${e instanceof Error ? e.message : String(e)}`,
      },
    };
  }
  const meter = new Meter(stack, hooks);
  let outOfMemory = false;
  let error: string | null = null;
  const t0 = performance.now();
  try {
    WORKLOAD_RUNNERS[combo.workload]({ stack, hooks, meter, combo });
  } catch (e) {
    // A row that failed says why; the other combinations go on.
    outOfMemory = e instanceof OutOfMemory;
    error = e instanceof Error ? e.message : String(e);
  }
  const ms = performance.now() - t0;
  const [setup, run, teardown] = meter.finish();
  return {
    ms,
    figures: {
      phases: { setup, run, teardown },
      pageTablePages: meter.pageTablePeak,
      physicalPages: meter.physicalPeak,
      kernelVirtualPages: meter.kernelVirtualPeak,
      fragmentation: meter.fragmentation,
      outOfMemory,
      error,
    },
  };
}

/**
 * Run one combination `repeat` times (after one untimed warm-up run when
 * `repeat` is above 1), each in a fresh stack: the counters
 * of the first run (a later run that counts differently makes the row an
 * error: counters must be deterministic for a seed) and the median wall
 * time.
 */
export function runCombination(combo: Combination, repeat = 1): Row {
  checkCombination(combo);
  checkWhole("repeat", repeat, 1, 100);
  // With several timed runs, one untimed run first: otherwise the first
  // combination a thread runs also pays for compiling the simulator, and its
  // median says more about the JIT than about the combination.
  if (repeat > 1) runOnce(combo);
  const first = runOnce(combo);
  const times = [first.ms];
  let error = first.figures.error;
  const same = JSON.stringify(first.figures);
  for (let i = 1; i < repeat; i++) {
    const again = runOnce(combo);
    times.push(again.ms);
    if (error === null && JSON.stringify(again.figures) !== same)
      error = `run ${i + 1} counted differently from run 1: the workload is not deterministic`;
  }
  const f = first.figures;
  const total = sumCounters([f.phases.setup, f.phases.run, f.phases.teardown]);
  return {
    index: combo.index,
    workload: combo.workload,
    design: combo.design,
    tlb: combo.tlb,
    ranges: combo.ranges,
    heap: combo.heap,
    policy: combo.policy,
    trace: combo.trace,
    ramMib: combo.ramMib,
    seed: combo.seed,
    ...total,
    pageTablePages: f.pageTablePages,
    physicalPages: f.physicalPages,
    kernelVirtualPages: f.kernelVirtualPages,
    fragmentation: f.fragmentation,
    phases: f.phases,
    outOfMemory: f.outOfMemory,
    error,
    wallMs: median(times),
    runs: repeat,
  };
}

/** What a worker runs: one combination (see worker.ts). */
export interface WorkerTask {
  /** The combination. */
  readonly combo: Combination;
  /** Timed runs. */
  readonly repeat: number;
}

/** Options of {@link runExperiment}. */
export interface RunOptions {
  /** Worker threads (1: run in this thread). Default 1. */
  readonly jobs?: number;
  /** Timed runs per combination (default 1). */
  readonly repeat?: number;
}

/** True when this module runs from its build (a worker needs JavaScript to load). */
function fromBuild(): boolean {
  return import.meta.url.endsWith(".js");
}

/**
 * Run every combination and return the rows in combination order. With
 * `jobs` above 1, several combinations and the built package, combinations
 * run on a pool of worker threads; otherwise one after the other here (the
 * rows are the same: each combination has its own stack and seed).
 */
export async function runExperiment(
  combos: readonly Combination[],
  options: RunOptions = {},
): Promise<Row[]> {
  for (const c of combos) checkCombination(c);
  checkWhole("jobs", options.jobs ?? 1, 1, 64);
  checkWhole("repeat", options.repeat ?? 1, 1, 100);
  const jobs = Math.max(1, Math.min(options.jobs ?? 1, combos.length));
  const repeat = options.repeat ?? 1;
  if (jobs === 1 || !fromBuild()) return combos.map((c) => runCombination(c, repeat));
  const pool = new Tinypool({
    filename: new URL("./worker.js", import.meta.url).href,
    name: "runTask",
    minThreads: jobs,
    maxThreads: jobs,
  });
  try {
    const rows = await Promise.all(
      combos.map((combo) => pool.run({ combo, repeat } satisfies WorkerTask) as Promise<Row>),
    );
    return rows.sort((a, b) => a.index - b.index);
  } finally {
    await pool.destroy();
  }
}
