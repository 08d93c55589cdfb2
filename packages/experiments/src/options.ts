/**
 * From the command line's words to the list of combinations: every value
 * checked (a bad one is an {@link ExperimentError} naming it, before
 * anything runs), then design x tlb x ranges x heap x policy x trace, with
 * `"n/a"` where the design does not have the option and duplicates that
 * `"n/a"` makes dropped.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { POLICIES, TraceError, designNames, generateTrace, parseTrace } from "@mm386/malloc";
import {
  type Combination,
  EXPERIMENT_ERROR,
  ExperimentError,
  NOT_APPLICABLE,
  WORKLOADS,
  type WorkloadName,
  type WorkloadSizes,
} from "./api.js";
import { HEAPS, RANGES, hooksOf } from "./hooks.js";
import { parseTlbSpec } from "./measure.js";

/** The TLB shapes the `tlb` workload compares when `--tlb` is not given. */
export const DEFAULT_TLB_SHAPES = "unbounded,16:4:lru,64:4:lru,64:4:fifo,64:4:random";

/** 3.75 GiB: the default memory map keeps the firmware hole below 4 GiB. */
const MAX_RAM_MIB = 3840;

/** One size option: its range, its default per workload, and so the workloads that take it. */
export interface SizeOption {
  /** Smallest value accepted. */
  readonly min: number;
  /** Largest value accepted. */
  readonly max: number;
  /** The default for each workload that takes it; a workload missing here refuses the option. */
  readonly defaults: Readonly<Partial<Record<WorkloadName, number>>>;
  /** What it sizes, for `--help`. */
  readonly help: string;
}

/** Each size option (`--spaces`, `--pages`, ...). */
export const SIZE_OPTIONS: Readonly<Record<keyof WorkloadSizes, SizeOption>> = {
  spaces: { min: 1, max: 1024, defaults: { spaces: 4 }, help: "address spaces" },
  pages: {
    min: 1,
    max: 65536,
    defaults: { spaces: 16, tlb: 256 },
    help: "pages per space (spaces), pages mapped (tlb)",
  },
  rounds: { min: 1, max: 100000, defaults: { spaces: 4 }, help: "round-robin rounds" },
  ops: {
    min: 1,
    max: 1000000,
    defaults: { "kernel-alloc": 2000, malloc: 2000 },
    help: "operations (kernel-alloc; the generated malloc trace)",
  },
  touches: { min: 1, max: 10000000, defaults: { tlb: 20000 }, help: "accesses (tlb)" },
  hot: { min: 1, max: 65536, defaults: { tlb: 32 }, help: "pages of the hot set (tlb)" },
};

/** The swap-point options, and the workloads each applies to. */
const SWAP_OPTIONS = {
  ranges: ["spaces", "kernel-alloc", "malloc", "tlb"],
  heap: ["kernel-alloc", "malloc"],
  policy: ["kernel-alloc", "malloc"],
  trace: ["malloc"],
} as const satisfies Record<string, readonly WorkloadName[]>;

/** Everything one `experiment` command asks for. */
export interface ExperimentPlan {
  /** The workload. */
  readonly workload: WorkloadName;
  /** The combinations, in order. */
  readonly combos: Combination[];
  /** One JSON line per row instead of a table. */
  readonly json: boolean;
  /** Where to write the charts, or null. */
  readonly out: string | null;
  /** Worker threads. */
  readonly jobs: number;
  /** Timed runs per combination. */
  readonly repeat: number;
}

/** The usage text. */
export function usage(): string {
  const sizes = Object.entries(SIZE_OPTIONS)
    .map(([name, o]) => {
      const defaults = Object.entries(o.defaults)
        .map(([w, v]) => `${w} ${v}`)
        .join(", ");
      return `  --${name} N`.padEnd(22) + `${o.help}, ${o.min} to ${o.max} (default ${defaults})`;
    })
    .join("\n");
  return `usage: experiment WORKLOAD [options]

workloads:
${Object.entries(WORKLOADS)
  .map(([n, h]) => `  ${n.padEnd(13)} ${h}`)
  .join("\n")}

options (a comma list runs every value; rows for every combination):
  --designs LIST      ${designNames().join(",")} (default: all of them)
  --tlb LIST          unbounded or ENTRIES:WAYS:lru|fifo|random (default unbounded; tlb: ${DEFAULT_TLB_SHAPES})
  --ranges LIST       ${Object.keys(RANGES).join("|")}: the physical page allocator's range allocator (default buddy)
  --heap LIST         ${Object.keys(HEAPS).join("|")} (kernel-alloc, malloc; default malloc)
  --policy LIST       ${Object.keys(POLICIES).join("|")}: the malloc heap's placement (default segregated)
  --trace FILES       malloc-lab .rep files (malloc; default: one generated from --seed and --ops)
  --ram MIB           installed RAM, 4 to ${MAX_RAM_MIB} (default 64)
  --seed N            seed of every random choice, 1 to 4294967295 (default 1)
${sizes}
  --json              one JSON line per combination instead of the table
  --out DIR           also write DIR/report.html, one SVG per figure and DIR/rows.jsonl
  --jobs N            worker threads, 1 to 64 (default: the cores, at most 2)
  --repeat N          timed runs per combination, 1 to 100 (default 3; above 1, after one untimed
                      warm-up run); wall time is their median
  -h, --help          this text

An option a design does not have shows "n/a" in its rows. Bad options: a message on stderr, status 2.`;
}

function fail(message: string): never {
  throw new ExperimentError(EXPERIMENT_ERROR.BAD_OPTION, message);
}

/** A whole decimal number in [min, max] from option `name`. */
function wholeNumber(name: string, raw: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    fail(`--${name} ${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`);
  return n;
}

/** The comma list of option `name`, each value one of `known`. */
function listOf(name: string, raw: string, known: readonly string[]): string[] {
  const values = raw.split(",");
  for (const v of values)
    if (!known.includes(v))
      fail(`--${name} ${JSON.stringify(v)} is not one of ${known.join(", ")}`);
  return [...new Set(values)];
}

type Values = Partial<Record<string, string | boolean>>;

/** Read and parse the `--trace` files: [name, text] pairs. */
function readTraces(raw: string): [string, string][] {
  return raw.split(",").map((file) => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ExperimentError(
        EXPERIMENT_ERROR.BAD_TRACE,
        `--trace ${JSON.stringify(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    try {
      parseTrace(text, basename(file));
    } catch (e) {
      if (e instanceof TraceError)
        throw new ExperimentError(EXPERIMENT_ERROR.BAD_TRACE, `--trace ${e.message}`);
      throw e;
    }
    return [basename(file), text];
  });
}

/**
 * Check `argv` (the words after the command) and expand it into a plan.
 * Null for `--help`. A bad value: an {@link ExperimentError} naming it.
 */
export function planExperiment(argv: readonly string[]): ExperimentPlan | null {
  // "--seed -1": parseArgs would take -1 for an option and say "ambiguous"
  // without the value; joined as "--seed=-1" it reaches the range check,
  // whose message names it.
  const args = argv.flatMap((a, i) =>
    /^-\d/.test(argv[i + 1] ?? "") && /^--\w+$/.test(a)
      ? []
      : /^-\d/.test(a) && /^--\w+$/.test(argv[i - 1] ?? "")
        ? [`${argv[i - 1]}=${a}`]
        : [a],
  );
  const strings = [
    "designs",
    "tlb",
    "ranges",
    "heap",
    "policy",
    "trace",
    "ram",
    "seed",
    "out",
    "jobs",
    "repeat",
    ...Object.keys(SIZE_OPTIONS),
  ];
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(strings.map((s) => [s, { type: "string" as const }])),
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help === true) return null;
  if (positionals.length !== 1)
    fail(
      positionals.length === 0
        ? `no workload: name one of ${Object.keys(WORKLOADS).join(", ")}`
        : `one workload at a time, got ${positionals.map((p) => JSON.stringify(p)).join(" ")}`,
    );
  const workload = positionals[0]!;
  if (!Object.hasOwn(WORKLOADS, workload))
    fail(`workload ${JSON.stringify(workload)} is not one of ${Object.keys(WORKLOADS).join(", ")}`);
  const w = workload as WorkloadName;
  const str = (name: string) => values[name] as string | undefined;

  // Options the workload does not take are refused, not ignored.
  for (const [name, applies] of Object.entries(SWAP_OPTIONS))
    if (str(name) !== undefined && !(applies as readonly string[]).includes(w))
      throw new ExperimentError(
        EXPERIMENT_ERROR.NOT_APPLICABLE,
        `--${name} ${JSON.stringify(str(name))} does not apply to workload ${w} (only ${applies.join(", ")})`,
      );
  const sizes = {} as Record<keyof WorkloadSizes, number>;
  for (const [name, o] of Object.entries(SIZE_OPTIONS) as [keyof WorkloadSizes, SizeOption][]) {
    const fallback = o.defaults[w];
    const raw = str(name);
    if (raw !== undefined && fallback === undefined)
      throw new ExperimentError(
        EXPERIMENT_ERROR.NOT_APPLICABLE,
        `--${name} ${JSON.stringify(raw)} does not apply to workload ${w} (only ${Object.keys(o.defaults).join(", ")})`,
      );
    sizes[name] = raw === undefined ? (fallback ?? 0) : wholeNumber(name, raw, o.min, o.max);
  }

  const designs = listOf("designs", str("designs") ?? designNames().join(","), designNames());
  const tlbs = (str("tlb") ?? (w === "tlb" ? DEFAULT_TLB_SHAPES : "unbounded")).split(",");
  for (const t of tlbs)
    if (parseTlbSpec(t) === null)
      fail(
        `--tlb ${JSON.stringify(t)} is not "unbounded" or ENTRIES:WAYS:lru|fifo|random (WAYS dividing ENTRIES)`,
      );
  const ranges = listOf("ranges", str("ranges") ?? "buddy", Object.keys(RANGES));
  const usesHeap = (SWAP_OPTIONS.heap as readonly string[]).includes(w);
  const heaps = usesHeap ? listOf("heap", str("heap") ?? "malloc", Object.keys(HEAPS)) : [];
  const policies = usesHeap
    ? listOf("policy", str("policy") ?? "segregated", Object.keys(POLICIES))
    : [];
  const ramMib = wholeNumber("ram", str("ram") ?? "64", 4, MAX_RAM_MIB);
  const seed = wholeNumber("seed", str("seed") ?? "1", 1, 0xffff_ffff);
  const jobs = wholeNumber(
    "jobs",
    str("jobs") ?? String(Math.min(2, availableParallelism())),
    1,
    64,
  );
  const repeat = wholeNumber("repeat", str("repeat") ?? "3", 1, 100);
  const out = str("out") ?? null;
  if (out === "") fail(`--out "" is not a directory name`);
  const traces: [string, string][] =
    w !== "malloc"
      ? [[NOT_APPLICABLE, ""]]
      : str("trace") !== undefined
        ? readTraces(str("trace")!)
        : [[`generated(seed=${seed},ops=${sizes.ops})`, generateTrace({ seed, ops: sizes.ops })]];

  const combos: Combination[] = [];
  const seen = new Set<string>();
  for (const design of designs) {
    const hooks = hooksOf(design);
    for (const tlb of tlbs)
      for (const r of ranges)
        for (const h of usesHeap ? heaps : [NOT_APPLICABLE])
          for (const p of usesHeap ? policies : [NOT_APPLICABLE])
            for (const [trace, traceText] of traces) {
              const ranges = hooks.ranges === true ? r : NOT_APPLICABLE;
              const heap = hooks.heaps?.includes(h as keyof typeof HEAPS) ? h : NOT_APPLICABLE;
              const policy = heap === "malloc" && hooks.policy === true ? p : NOT_APPLICABLE;
              const key = JSON.stringify([design, tlb, ranges, heap, policy, trace]);
              if (seen.has(key)) continue;
              seen.add(key);
              combos.push({
                index: combos.length,
                workload: w,
                design,
                tlb,
                ranges,
                heap,
                policy,
                trace,
                ...(w === "malloc" ? { traceText } : {}),
                ramMib,
                seed,
                sizes,
              });
            }
  }
  return { workload: w, combos, json: values.json === true, out, jobs, repeat };
}
