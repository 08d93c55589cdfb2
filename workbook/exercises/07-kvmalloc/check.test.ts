/**
 * Exercise 7's checks: the kvmalloc conformance suite, and the heap
 * conformance suite on top of your kvmalloc (stacks with your earlier layers).
 */
import { describeKvmallocConformance } from "@mm386/kvmalloc/conformance";
import { Malloc } from "@mm386/malloc";
import { describeHeapConformance } from "@mm386/malloc/conformance";
import type { KvmallocExercise } from "../../src/exercise-api.js";
import { bootWith, earlierLayers, implLabel, loadExercise, machineWith } from "../../src/kit.js";

const { createKvmalloc } = await loadExercise<KvmallocExercise>(7);
const layers = await earlierLayers(7);
const start = bootWith(layers);
const machine = machineWith(layers);

describeKvmallocConformance(`exercise 7 (${implLabel(7)})`, createKvmalloc, { start, machine });
describeHeapConformance(
  `the reference malloc on exercise 7 (${implLabel(7)})`,
  (kv) => new Malloc(kv),
  {
    start,
    kvmalloc: createKvmalloc,
    machine,
  },
);
