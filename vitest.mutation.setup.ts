// Setup file of vitest.mutation.config.ts, for Stryker runs only: caps every
// fast-check property at MM386_MUTATION_RUNS runs (default 25). Stryker runs
// each mutant against every test that covers it, and the property tests at
// their full budgets would make one package take more than an hour on two
// cores. A mutant killed with fewer runs is killed for real; one that survives
// might have died with more, so the score measured this way is a lower bound.
import type * as FastCheck from "fast-check";
import { vi } from "vitest";

vi.mock("fast-check", async (importOriginal) => {
  const fc = await importOriginal<typeof FastCheck & { default: typeof FastCheck }>();
  const cap = Number(process.env["MM386_MUTATION_RUNS"] ?? 25);
  const assert = ((property: never, params?: FastCheck.Parameters) =>
    fc.assert(property, {
      ...params,
      numRuns: Math.min(params?.numRuns ?? 100, cap),
    })) as typeof fc.assert;
  return { ...fc, assert, default: { ...fc.default, assert } };
});
