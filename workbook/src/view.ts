/**
 * `pnpm workbook view N`: exercise N's stack, with the student's own layers,
 * in the viewer (`@mm386/viewer`). The stack is built in the browser, so the
 * module that builds it is generated here as source text: it imports the
 * student's solution files by absolute path and plugs each in as the
 * exercise's `plug` does in Node (the plugs themselves cannot run in the page:
 * they live beside file-system code).
 *
 * Which layers are the student's: exercise N's own solution, and those of the
 * exercises it uses that the student has finished (`pnpm workbook check`
 * passed them); the reference layers stand in for the rest, as in `check`.
 *
 * @module
 */
import { type Exercise, EXERCISES, hasSolution, implFile } from "./exercises.js";

/** How each main-line layer goes into a stack, as source (the browser-side twin of `Exercise.plug`). */
const PLUG_SOURCE: Readonly<Record<number, (m: string) => string>> = {
  1: (m) => `hooks.push((machine) => walkChecker(machine, ${m}.walk));`,
  2: (m) => `layers.tlb = () => ${m}.createTlb();`,
  3: (m) => `layers.rangeAllocator = ${m}.buddyRanges;`,
  4: (m) => `layers.pageRanges = ${m}.pageRanges;`,
  5: (m) => `layers.boot = (machine, o) => ${m}.boot(machine, o);`,
  6: (m) => `layers.mapMem = ${m}.mapMem;`,
  7: (m) => `layers.kvmalloc = (p) => ${m}.createKvmalloc(p);`,
  8: (m) => `layers.malloc = (kv) => ${m}.createMalloc(kv);`,
};

/** The design each branch exercise's stack is (the main line and the slab use the hobby kernel). */
const DESIGN_OF: Readonly<Record<number, string>> = {
  10: "whitix",
  11: "linux",
  12: "linux",
  13: "linux",
};

/** The layers of the student's that go into exercise `e`'s stack: its own, and the finished ones it uses. */
export function viewLayers(e: Exercise, done: readonly number[]): number[] {
  const mine = [...e.uses.filter((k) => done.includes(k)), e.n];
  return mine.filter((k) => PLUG_SOURCE[k] !== undefined && hasSolution(EXERCISES[k - 1]!));
}

/**
 * The source of a module exporting `makeStack(design, options)` for the
 * viewer: `createStack` with the student's `layers` plugged in (hobby design
 * only; the other designs' stacks take no main-line layers).
 */
export function viewStackSource(layers: readonly number[], walkCheckerFile: string): string {
  const imports = layers.map(
    (k) => `import * as ex${k} from ${JSON.stringify(implFile(EXERCISES[k - 1]!, "solution"))};`,
  );
  const plugs = layers.map((k) => `  ${PLUG_SOURCE[k]!(`ex${k}`)}`);
  return [
    `import { createStack } from "@mm386/malloc";`,
    ...(layers.includes(1)
      ? [`import { walkChecker } from ${JSON.stringify(walkCheckerFile)};`]
      : []),
    ...imports,
    `export function makeStack(design, options) {`,
    `  if (design !== "hobby") return createStack({ ...options, design });`,
    `  const layers = {};`,
    `  const hooks = [options.beforeBoot];`,
    ...plugs,
    `  return createStack({ ...options, ...layers, design, beforeBoot: (m) => { for (const h of hooks) h?.(m); } });`,
    `}`,
    ``,
  ].join("\n");
}

/** What `view N` serves: the designs offered and the stack module's source. */
export function viewPlan(
  e: Exercise,
  done: readonly number[],
  walkCheckerFile: string,
): { designs: string[]; source: string; layers: number[] } {
  const layers = DESIGN_OF[e.n] === undefined ? viewLayers(e, done) : [];
  return {
    designs: [DESIGN_OF[e.n] ?? "hobby"],
    source: viewStackSource(layers, walkCheckerFile),
    layers,
  };
}
