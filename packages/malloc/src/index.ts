/**
 * @mm386/malloc: malloc, calloc, realloc and free for small kernel objects,
 * with every header and free-list word in simulated memory reached through
 * the MMU; the heap grows with kvmalloc and gives whole pages back with
 * kvfree. The placement policy is a swap point (segregated fits by default,
 * address-ordered first fit as the alternative). A trace driver runs malloc
 * lab `.rep` traces.
 *
 * @packageDocumentation
 */
export * from "./api.js";
export { Malloc, type HeapBlock, type HeapExtent } from "./heap.js";
export { POLICIES, addressOrderedFirstFit, segregatedFits } from "./policies.js";
export {
  parseTrace,
  runTrace,
  TraceError,
  type Trace,
  type TraceOp,
  type TraceAlloc,
  type TraceFree,
  type TraceRealloc,
  type TraceOptions,
  type TraceResult,
} from "./trace.js";
export {
  DESIGNS,
  linuxPageSource,
  createStack,
  designNames,
  type DesignEntry,
  type DesignParts,
  type DesignStack,
  type DesignStackOptions,
  type Stack,
  type StackOptions,
} from "./stack.js";
export { generateTrace, type GenerateOptions } from "./trace-gen.js";
export {
  MAX_POPULATED_SPACES,
  SNAPSHOT_USER_IMAGE,
  populateStack,
  snapshotStack,
  type SnapshotCr0,
  type SnapshotCr4,
  type SnapshotRun,
  type SnapshotSpace,
  type SnapshotWrite,
  type StackSnapshot,
} from "./snapshot.js";
export {
  generateWorkload,
  LOSING_PATTERNS,
  WORKLOAD_NAMES,
  type WorkloadName,
  type WorkloadOptions,
} from "./workloads.js";
