/**
 * Write the malloc-lab-shaped fixtures of test/fixtures: `lab-<name>-<seed>.rep`
 * for every workload at seed 1 (the classic sizes) and, for the workloads
 * of the four losing patterns but small-holes, seed 2. Run with `pnpm --filter @mm386/malloc fixtures`;
 * the test suite checks the committed files are what this writes.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LOSING_PATTERNS, WORKLOAD_NAMES, generateWorkload } from "../src/index.js";

/** The fixtures: every workload at seed 1, the losing patterns at seed 2 too. */
export const FIXTURES: readonly { name: (typeof WORKLOAD_NAMES)[number]; seed: number }[] = [
  ...WORKLOAD_NAMES.map((name) => ({ name, seed: 1 })),
  ...Object.values(LOSING_PATTERNS)
    .flat()
    // small-holes is 40 k blocks (760 KB of text): one seed is enough.
    .filter((name) => name !== "small-holes")
    .map((name) => ({ name, seed: 2 })),
];

const dir = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
for (const { name, seed } of FIXTURES)
  writeFileSync(`${dir}lab-${name}-${seed}.rep`, generateWorkload(name, { seed }));
console.log(`wrote ${FIXTURES.length} fixtures to ${dir}`);
