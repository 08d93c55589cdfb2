/**
 * What a step of the viewer costs, without the browser: the tour's steps
 * alone (the baseline: the simulation), the same with `view()` after each
 * step (what the page computes before it renders), one `view()` at step 10,
 * and one step back from step 10 (a fresh boot and a replay of 9 steps).
 * Medians and ratios to the baseline, measured in the same run. Run with
 * `pnpm bench` from the repository root.
 */
import { Bench } from "tinybench";
import { Session } from "../src/index.js";

const TOUR = new Session().steps.length;
const bench = new Bench({ time: 1000, warmup: true });
bench.add("baseline: boot + the whole tour, no inspection", () => {
  new Session().goTo(TOUR);
});
bench.add("boot + the whole tour, view() after each step", () => {
  const s = new Session();
  s.view();
  while (s.forward()) s.view();
});
const at10 = new Session();
at10.goTo(10);
bench.add("view() at step 10", () => {
  at10.view();
});
const back = new Session();
bench.add("forward to 10, back to 9 (boot + replay 9 steps), view()", () => {
  back.goTo(10);
  back.back();
  back.view();
});
await bench.run();
const p50 = (name: string) => {
  const ms = (bench.getTask(name)?.result as { latency?: { p50: number } } | undefined)?.latency
    ?.p50;
  if (ms === undefined) throw new Error(`no result for ${name}`);
  return ms;
};
const base = p50(bench.tasks[0]!.name);
console.table(
  bench.tasks.map((t) => ({
    task: t.name,
    "median ms": Number(p50(t.name).toFixed(2)),
    "× baseline": Number((p50(t.name) / base).toFixed(2)),
  })),
);
console.log(
  `tour steps: ${TOUR}; per step with view(): ${(p50(bench.tasks[1]!.name) / (TOUR + 1)).toFixed(2)} ms`,
);
