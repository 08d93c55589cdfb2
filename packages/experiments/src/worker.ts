/**
 * The worker-thread entry of {@link runExperiment}'s pool: one combination
 * per task, in the worker's own fresh stack.
 * @module
 */
import type { Row } from "./api.js";
import { type WorkerTask, runCombination } from "./run.js";

/** Run one task (tinypool calls it by name). */
export function runTask(task: WorkerTask): Row {
  return runCombination(task.combo, task.repeat);
}
