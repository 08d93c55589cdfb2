/**
 * @mm386/experiments: `pnpm experiment WORKLOAD [options]` runs a workload
 * on every combination of kernel design and swap-point alternative asked
 * for, each in a fresh stack with the same seed, and reports what the MMU
 * and the design counted: a table, JSON lines, or charts.
 *
 * @packageDocumentation
 */
export * from "./api.js";
export {
  DESIGN_HOOKS,
  HEAPS,
  RANGES,
  hooksOf,
  longestZeroRun,
  type DesignHooks,
  type HeapName,
  type KernelPages,
  type PhysicalFigures,
  type PolicyName,
  type RangesName,
  type SwapChoices,
} from "./hooks.js";
export {
  Meter,
  countPageTablePages,
  parseTlbSpec,
  sumCounters,
  tlbFactory,
  type TlbSpec,
} from "./measure.js";
export {
  OutOfMemory,
  WORKLOAD_RUNNERS,
  designKernelPages,
  kernelAllocWorkload,
  mallocWorkload,
  seededRandom,
  spacesWorkload,
  tlbWorkload,
  type WorkloadContext,
} from "./workloads.js";
export { median, runCombination, runExperiment, type RunOptions, type WorkerTask } from "./run.js";
export {
  DEFAULT_TLB_SHAPES,
  SIZE_OPTIONS,
  planExperiment,
  usage,
  type ExperimentPlan,
} from "./options.js";
export { COMBINATION_PARTS, formatTable, varyingParts, type CombinationPart } from "./table.js";
export {
  CHARTED,
  chartSvg,
  labelParts,
  reportHtml,
  rowLabel,
  type ChartedFigure,
} from "./charts.js";
export { experimentCli, type CliOutput } from "./cli.js";
