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
  RANGES_NAMES,
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
  type SetAssociativeTlbSpec,
  type TlbSpec,
  type UnboundedTlbSpec,
} from "./measure.js";
export {
  OutOfMemory,
  WORKLOAD_RUNNERS,
  type WorkloadRunner,
  designKernelPages,
  kernelAllocWorkload,
  mallocWorkload,
  seededRandom,
  spacesWorkload,
  tlbWorkload,
  type WorkloadContext,
} from "./workloads.js";
export {
  checkCombination,
  median,
  runCombination,
  runExperiment,
  type RunOptions,
  type WorkerTask,
} from "./run.js";
export {
  DEFAULT_TLB_SHAPES,
  SIZE_OPTIONS,
  planExperiment,
  type SizeOption,
  usage,
  type ExperimentPlan,
} from "./options.js";
export { COMBINATION_PARTS, formatTable, varyingParts, type CombinationPart } from "./table.js";
export {
  CHARTED,
  CHARTED_FIGURES,
  chartSvg,
  labelParts,
  reportHtml,
  rowLabel,
  type ChartSpec,
  type ChartedFigure,
} from "./charts.js";
export { experimentCli, type CliOutput } from "./cli.js";
