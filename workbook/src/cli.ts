#!/usr/bin/env node
/**
 * `pnpm workbook [command]`: the workbook's command line. (`pnpm` is short
 * for `npx -y pnpm@12.21.0`, the way the README runs it.)
 *
 * ```
 *  pnpm workbook                      list the exercises, with progress
 *  pnpm workbook check [N]            check your solution (all, or exercise N)
 *  pnpm workbook watch [N]            re-check on every save (--poll to poll)
 *  pnpm workbook hint N               the next hint of exercise N
 *  pnpm workbook reset N              start exercise N again from the starter
 *  pnpm workbook quiz [--seed S] [--kind K] [--ops N] [--sizes a,b] [--solve]
 *                     [--entries E --ways W] [--window R] [--ram MIB --page-offset HEX]
 *  pnpm workbook verify               curriculum CI: reference passes, starter
 *                                     and planted wrong versions fail
 *  --reference 3,5 | all              use the reference for these layers in the stacks
 * ```
 *
 * @module
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import pc from "picocolors";
import {
  EXERCISES,
  EXERCISES_DIR,
  type Exercise,
  exercise,
  exerciseDir,
  hasSolution,
  implFile,
  plantedFiles,
  plantedName,
  WORKBOOK_DIR,
} from "./exercises.js";
import { type Progress, loadProgress, saveProgress } from "./progress.js";
import { viewPlan } from "./view.js";
import { PAGE_OFFSETS, QUIZ_KINDS, type QuizKind, type QuizParams, makeQuestion } from "./quiz.js";
import { type CheckRun, type ExerciseResult, runChecks } from "./runner.js";

/** Where the CLI writes, and whether it may use colour. */
export interface CliIo {
  /** Standard output, one line at a time. */
  readonly out: (line: string) => void;
  /** Standard error, one line at a time. */
  readonly err: (line: string) => void;
  /** Colour on (a TTY) or off (piped). */
  readonly color: boolean;
  /** Clear the screen (watch does before each check); absent: never cleared. */
  readonly clear?: () => void;
}

/** How commands are printed: short, with the long form explained once (in the usage and the list). */
const CMD = "pnpm workbook";
const SHORT_FORM = "(`pnpm` is short for `npx -y pnpm@12.21.0`, as in the README)";

const USAGE = `usage: ${CMD} [list | check [N] | watch [N] | hint N | reset N | quiz | verify | view N]
  ${SHORT_FORM}
  --reference L,L|all   use the reference layer for these exercises in the stacks
  --logs                check: show what passing checks printed too (failing ones always)
  --poll                watch: poll files instead of using OS file events
  --seed S --kind K     quiz: which question (K: ${QUIZ_KINDS.join(", ")}); --solve prints the answer
  --ops N --sizes a,b   quiz: how many calls (buddy, malloc, tlb) and which request sizes (malloc)
  --entries E --ways W  quiz tlb: the TLB's shape
  --window R            quiz window: the PDE index that maps the directory into itself (0..1023)
  --ram MIB             quiz directmap: MiB of RAM (16..3840)
  --page-offset HEX     quiz directmap: PAGE_OFFSET (${PAGE_OFFSETS.map((o) => `0x${o.toString(16)}`).join(", ")})`;

/** A mistake on the command line: exit 2 with the message and the usage. */
class UsageError extends Error {}

function parseNumber(v: string | undefined, what: string): Exercise {
  const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  const e = exercise(n);
  if (!e)
    throw new UsageError(
      `${what}: expected an exercise number 1-${EXERCISES.length}, got ${v === undefined ? "nothing" : `"${v}"`}`,
    );
  return e;
}

/** Make `solution.ts` from the starter where it does not exist yet. */
export function ensureSolutions(): void {
  for (const e of EXERCISES)
    if (!hasSolution(e)) copyFileSync(implFile(e, "starter"), implFile(e, "solution"));
}

/** True if the student changed the starter. */
function started(e: Exercise): boolean {
  return (
    hasSolution(e) &&
    readFileSync(implFile(e, "solution"), "utf8") !== readFileSync(implFile(e, "starter"), "utf8")
  );
}

function progress(io: CliIo): Progress {
  return loadProgress((m) => io.err(`note: ${m}`));
}

/** The finished layers to put in stacks: the done exercises minus those sent back to the reference. */
function layersFor(io: CliIo, reference: string | undefined): number[] {
  if (reference === "all") return [];
  const back = new Set((reference ?? "").split(",").filter(Boolean).map(Number));
  return progress(io).done.filter((n) => !back.has(n));
}

function bar(done: number, total: number, width = 24): string {
  const full = Math.round((done / total) * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${done}/${total}`;
}

function list(io: CliIo): number {
  const c = pc.createColors(io.color);
  const { done } = progress(io);
  io.out(c.bold("mm386 workbook: build the memory manager, layer by layer"));
  io.out(`${c.green(bar(done.length, EXERCISES.length))} exercises done`);
  io.out("");
  for (const e of EXERCISES) {
    const isDone = done.includes(e.n);
    const mark = isDone ? c.green("done   ") : started(e) ? c.yellow("started") : c.dim("to do  ");
    io.out(`  ${String(e.n).padStart(2)}  ${mark}  ${e.title}  ${c.dim(`(${e.slug})`)}`);
  }
  const next = EXERCISES.find((e) => !done.includes(e.n));
  io.out("");
  if (next) {
    io.out(
      `next: read ${c.yellow(`workbook/exercises/${next.slug}/README.md`)}, edit ${c.yellow(`solution.ts`)} there,`,
    );
    io.out(
      `then ${c.yellow(`${CMD} check ${next.n}`)} (or ${c.yellow(`${CMD} watch`)}; stuck? ${c.yellow(`${CMD} hint ${next.n}`)})`,
    );
    io.out(c.dim(SHORT_FORM));
  } else io.out(c.green("every exercise passes: the whole stack runs on your code."));
  return 0;
}

/** The student's run of exercise `e`, with the finished layers it uses. */
function studentRun(e: Exercise, layers: readonly number[]): CheckRun {
  return {
    id: `solution-${e.n}`,
    exercise: e,
    impl: "solution",
    layers: layers.filter((k) => e.uses.includes(k)),
  };
}

/** What exercise 8's score line says; n/a when a trace was invalid (its numbers mean nothing). */
export function scoreLine(r: ExerciseResult): string | undefined {
  const sc = r.score;
  if (!sc) return undefined;
  if (!sc.valid)
    return "score: n/a (a trace ran invalidly, see below; utilisation and cost are only measured on valid runs)";
  // The malloc lab's performance index: 60% utilisation, 40% speed relative to the
  // reference (here: simulated MMU accesses, not wall time, so it is the same on every machine).
  const speed = Math.min(1, sc.reference.accessesPerOp / sc.accessesPerOp);
  const index = 100 * (0.6 * sc.utilization + 0.4 * speed);
  const refIndex = 100 * (0.6 * sc.reference.utilization + 0.4);
  return [
    `score: utilisation ${sc.utilization.toFixed(3)} (reference ${sc.reference.utilization.toFixed(3)})`,
    `      simulated cost ${sc.accessesPerOp.toFixed(1)} MMU accesses per operation (reference ${sc.reference.accessesPerOp.toFixed(1)})`,
    `      index ${index.toFixed(1)} = 60 x utilisation + 40 x min(1, reference cost / your cost) (reference ${refIndex.toFixed(1)})`,
  ].join("\n");
}

/** Print type errors of the student's files (the checks still run: vitest strips types). */
async function reportTypeErrors(io: CliIo, targets: readonly Exercise[]): Promise<void> {
  const c = pc.createColors(io.color);
  const mine = targets.filter(started);
  if (mine.length === 0) return;
  const { typeErrors } = await import("./source-checks.js");
  for (const e of mine) {
    const errors = typeErrors(implFile(e, "solution"), EXERCISES_DIR);
    if (errors.length === 0) continue;
    io.out(
      c.yellow(
        `type errors in ${e.slug}/solution.ts (${errors.length}; the checks run anyway, but fix these first):`,
      ),
    );
    for (const t of errors.slice(0, 8)) {
      io.out(`  ${t.where}  ${t.message.split("\n").join("\n    ")}`);
      for (const l of t.frame) io.out(`    ${c.dim(l)}`);
    }
    if (errors.length > 8) io.out(`  ... and ${errors.length - 8} more`);
  }
}

interface ReportOptions {
  /** Show the console output of passing checks too. */
  readonly logs: boolean;
  /** Ask whether earlier layers are at fault (re-runs a failure with the reference layers). */
  readonly diagnose: boolean;
}

/** Print the results and record progress; true if all passed. */
async function report(
  io: CliIo,
  results: readonly ExerciseResult[],
  options: ReportOptions,
): Promise<boolean> {
  const c = pc.createColors(io.color);
  const saved = progress(io);
  let ok = true;
  for (const r of results) {
    const e = r.exercise;
    const passed = r.failed === 0;
    ok &&= passed;
    const mine = r.run.layers;
    if (!passed && !started(e)) {
      io.out(
        `${c.yellow("TODO")}  ${e.n}. ${e.title}  ${c.dim("not started: solution.ts is still the starter")}`,
      );
      io.out(
        c.dim(
          `      read workbook/exercises/${e.slug}/README.md, then edit solution.ts (stuck? ${CMD} hint ${e.n})`,
        ),
      );
    } else {
      io.out(
        `${passed ? c.green("PASS") : r.timedOut ? c.red("TIME") : c.red("FAIL")}  ${e.n}. ${e.title}  ${c.dim(`${r.passed} passed, ${r.failed} failed${mine.length ? `; your layers ${mine.join(", ")} in the stack` : ""}`)}`,
      );
      const score = scoreLine(r);
      if (score) io.out(`      ${score}`);
      for (const f of r.failures.slice(0, 5)) {
        io.out(`      ${c.red("x")} ${f.name}`);
        for (const line of f.message.split("\n")) io.out(`        ${c.dim(line)}`);
        for (const line of f.logs) io.out(`        ${c.cyan("console:")} ${line}`);
      }
      if (r.failures.length > 5) io.out(`      ... and ${r.failures.length - 5} more`);
      // What passing checks printed: on request (failing ones always show theirs).
      if (options.logs)
        for (const p of r.printed) {
          io.out(`      ${c.green("ok")} ${p.name}`);
          for (const line of p.logs) io.out(`        ${c.cyan("console:")} ${line}`);
        }
      else if (r.printed.length > 0)
        io.out(
          c.dim(
            `      ${r.printed.length} passing check${r.printed.length === 1 ? "" : "s"} printed output (--logs shows it)`,
          ),
        );
      if (!passed && mine.length > 0 && options.diagnose) {
        // Is it this exercise, or one of the student's earlier layers? Ask the reference layers.
        const [again] = await runChecks([{ ...r.run, id: `reference-layers-${e.n}`, layers: [] }]);
        if (again && again.failed === 0)
          io.out(
            c.yellow(
              `      with the reference layers instead of yours (${mine.join(", ")}) every check passes: one of your earlier layers is at fault (${CMD} check ${e.n} --reference ${mine.join(",")} to work on this one meanwhile)`,
            ),
          );
      }
    }
    saved.done = saved.done.filter((n) => n !== e.n);
    if (passed) saved.done.push(e.n);
  }
  saved.done.sort((a, b) => a - b);
  saveProgress(saved);
  return ok;
}

/** The score table after checking every exercise, points per exercise as `make grade` prints. */
export function scoreTable(io: CliIo, results: readonly ExerciseResult[]): void {
  const c = pc.createColors(io.color);
  let total = 0;
  let max = 0;
  io.out("");
  io.out(c.bold("score"));
  // The widest title sets the column, so the points line up for every exercise.
  const width = Math.max(40, ...results.map((r) => r.exercise.title.length));
  for (const r of results) {
    const e = r.exercise;
    const all = r.passed + r.failed;
    // Full points for an exercise that passes; partial credit for the share of checks passed.
    // Half credit at most for a partial pass, none for an untouched starter.
    const points =
      r.failed === 0
        ? e.points
        : all === 0 || !started(e)
          ? 0
          : Math.floor((e.points * r.passed) / all / 2);
    total += points;
    max += e.points;
    const state =
      r.failed === 0
        ? "pass"
        : r.timedOut
          ? "timed out"
          : !started(e)
            ? "not started"
            : `${r.passed}/${all} checks`;
    io.out(
      `  ${String(e.n).padStart(2)}. ${e.title.padEnd(width)} ${String(points).padStart(3)}/${String(e.points).padEnd(3)} ${c.dim(state)}`,
    );
  }
  io.out(`  ${"total".padEnd(width + 4)} ${String(total).padStart(3)}/${max}`);
}

async function check(
  io: CliIo,
  n: string | undefined,
  reference: string | undefined,
  logs: boolean,
): Promise<number> {
  ensureSolutions();
  const targets = n === undefined ? EXERCISES : [parseNumber(n, "check")];
  const layers = layersFor(io, reference);
  await reportTypeErrors(io, targets);
  const results = await runChecks(targets.map((e) => studentRun(e, layers)));
  const ok = await report(io, results, { logs, diagnose: true });
  if (n === undefined) scoreTable(io, results);
  return ok ? 0 : 1;
}

function hint(io: CliIo, n: string | undefined): number {
  const e = parseNumber(n, "hint");
  const c = pc.createColors(io.color);
  const text = readFileSync(join(exerciseDir(e), "hints.md"), "utf8");
  // "## Hint 1: the idea" and its body; the heading is ours to print.
  const hints = text
    .split(/^## /m)
    .slice(1)
    .map((h) => {
      const [head = "", ...body] = h.split("\n");
      return { title: head.replace(/^Hint \d+:?\s*/i, "").trim(), body: body.join("\n").trim() };
    });
  const saved = progress(io);
  const shown = saved.hints[String(e.n)] ?? 0;
  const i = Math.min(shown, hints.length - 1);
  const h = hints[i]!;
  io.out(
    c.bold(`Exercise ${e.n}, hint ${i + 1} of ${hints.length}${h.title ? `: ${h.title}` : ""}`),
  );
  io.out("");
  for (const line of h.body.split("\n")) io.out(line);
  io.out("");
  io.out(
    c.dim(
      shown >= hints.length
        ? "(that was the last hint; the README has the full story)"
        : i + 1 < hints.length
          ? `(the next one: ${CMD} hint ${e.n})`
          : "(that was the last hint)",
    ),
  );
  saved.hints[String(e.n)] = Math.min(shown + 1, hints.length);
  saveProgress(saved);
  return 0;
}

/** The first free numbered backup name: solution.ts.bak.1, .2, ... (never overwrites one). */
function backupName(file: string): string {
  for (let i = 1; ; i++) if (!existsSync(`${file}.bak.${i}`)) return `${file}.bak.${i}`;
}

function reset(io: CliIo, n: string | undefined): number {
  const e = parseNumber(n, "reset");
  const mine = implFile(e, "solution");
  let kept: string | undefined;
  // Reset never loses work: anything that differs from the starter is kept in a new backup.
  if (existsSync(mine) && started(e)) {
    kept = backupName(mine);
    copyFileSync(mine, kept);
  }
  copyFileSync(implFile(e, "starter"), mine);
  const saved = progress(io);
  saved.done = saved.done.filter((x) => x !== e.n);
  delete saved.hints[String(e.n)];
  saveProgress(saved);
  io.out(
    `exercise ${e.n}: solution.ts is the starter again${kept ? ` (your old one is ${relative(exerciseDir(e), kept)})` : ""}; hints start over.`,
  );
  return 0;
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < 1)
    throw new UsageError(`quiz: ${flag} must be a positive integer, got "${v}"`);
  return Number(v);
}

interface QuizArgs {
  readonly seed?: string;
  readonly kind?: string;
  readonly ops?: string;
  readonly sizes?: string;
  readonly entries?: string;
  readonly ways?: string;
  readonly window?: string;
  readonly ram?: string;
  readonly "page-offset"?: string;
  readonly solve: boolean;
}

function quiz(io: CliIo, a: QuizArgs): number {
  const c = pc.createColors(io.color);
  const seed = a.seed === undefined ? Math.floor(Math.random() * 1e6) : Number(a.seed);
  if (a.seed !== undefined && (!/^\d+$/.test(a.seed) || !Number.isSafeInteger(seed)))
    throw new UsageError(`quiz: --seed must be a non-negative integer, got "${a.seed}"`);
  if (a.kind !== undefined && !(QUIZ_KINDS as readonly string[]).includes(a.kind))
    throw new UsageError(`quiz: --kind must be one of ${QUIZ_KINDS.join(", ")}, got "${a.kind}"`);
  let sizes: number[] | undefined;
  if (a.sizes !== undefined) {
    sizes = a.sizes.split(",").map((s) => positiveInt(s.trim(), "--sizes")!);
    if (sizes.some((s) => s > 4096))
      throw new UsageError(`quiz: --sizes must be 1..4096 bytes each, got "${a.sizes}"`);
  }
  const ops = positiveInt(a.ops, "--ops");
  if (ops !== undefined && ops > 40)
    throw new UsageError(
      `quiz: --ops must be at most 40 (a question to work by hand), got "${a.ops}"`,
    );
  const entries = positiveInt(a.entries, "--entries");
  const ways = positiveInt(a.ways, "--ways");
  // The window may be PDE 0, so it is a non-negative integer, not a positive one.
  const window = a.window === undefined ? undefined : Number(a.window);
  if (a.window !== undefined && (!/^\d+$/.test(a.window) || window! > 1023))
    throw new UsageError(`quiz: --window must be a PDE index 0..1023, got "${a.window}"`);
  const ramMiB = positiveInt(a.ram, "--ram");
  const pageOffset =
    a["page-offset"] === undefined ? undefined : Number.parseInt(a["page-offset"], 16);
  if (
    a["page-offset"] !== undefined &&
    (!/^(0x)?[0-9a-f]+$/i.test(a["page-offset"]) ||
      !(PAGE_OFFSETS as readonly number[]).includes(pageOffset!))
  )
    throw new UsageError(
      `quiz: --page-offset must be one of ${PAGE_OFFSETS.map((o) => `0x${o.toString(16)}`).join(", ")}, got "${a["page-offset"]}"`,
    );
  const params: QuizParams = {
    ...(ops !== undefined ? { ops } : {}),
    ...(sizes !== undefined ? { sizes } : {}),
    ...(entries !== undefined ? { entries } : {}),
    ...(ways !== undefined ? { ways } : {}),
    ...(window !== undefined ? { window } : {}),
    ...(ramMiB !== undefined ? { ramMiB } : {}),
    ...(pageOffset !== undefined ? { pageOffset } : {}),
  };
  let q;
  try {
    q = makeQuestion(seed, a.kind as QuizKind | undefined, params);
  } catch (e) {
    if ((e as { code?: string }).code === "E_QUIZ_PARAMS")
      throw new UsageError((e as Error).message);
    throw e;
  }
  io.out(c.bold(`Question (${q.kind}, seed ${seed})`));
  for (const line of q.text) io.out(line);
  io.out("");
  if (a.solve) {
    io.out(c.bold("Answer"));
    for (const line of q.answer) io.out(c.green(line));
  } else {
    // Every flag that shaped the question, so the answer is to the same question.
    const flags = [
      `--seed ${seed}`,
      `--kind ${q.kind}`,
      ...(ops !== undefined ? [`--ops ${ops}`] : []),
      ...(sizes !== undefined ? [`--sizes ${sizes.join(",")}`] : []),
      ...(entries !== undefined ? [`--entries ${entries}`] : []),
      ...(ways !== undefined ? [`--ways ${ways}`] : []),
      ...(window !== undefined ? [`--window ${window}`] : []),
      ...(ramMiB !== undefined ? [`--ram ${ramMiB}`] : []),
      ...(pageOffset !== undefined ? [`--page-offset 0x${pageOffset.toString(16)}`] : []),
    ];
    io.out(c.dim(`answer: ${CMD} quiz ${flags.join(" ")} --solve`));
  }
  return 0;
}

/** How {@link verify} runs. */
export interface VerifyOptions {
  /**
   * Give every property test a fifth of its runs (`MM386_QUICK`), as
   * `pnpm test` does: the packages' own tests run the references' suites on
   * the same code in full, and a failure found with fewer runs is as real as
   * one found with all. A starter or planted version that gets through is
   * checked again with every run before it is called uncaught.
   */
  readonly quick?: boolean;
}

/**
 * Curriculum CI: every exercise passes on the reference, fails on the
 * untouched starter, and fails on each of its planted wrong versions (the
 * typical mistakes its checks must catch). One vitest process runs them all.
 */
export async function verify(io: CliIo, options: VerifyOptions = {}): Promise<number> {
  const c = pc.createColors(io.color);
  const runs: CheckRun[] = [];
  const quick = options.quick === true;
  for (const e of EXERCISES) {
    runs.push({ id: `reference-${e.n}`, exercise: e, impl: "reference", layers: [], quick });
    // The quick pass (pnpm test) needs only to see the starter fail; by hand, every check runs.
    runs.push({
      id: `starter-${e.n}`,
      exercise: e,
      impl: "starter",
      layers: [],
      quick,
      ...(quick ? { stopAtFirstFailure: true } : {}),
    });
    for (const file of plantedFiles(e))
      runs.push({
        id: `planted-${e.n}-${plantedName(file)}`,
        exercise: e,
        impl: "reference",
        file,
        layers: [],
        stopAtFirstFailure: true,
        quick,
      });
  }
  const byId = new Map((await runChecks(runs)).map((r) => [r.run.id, r]));
  // What must fail but passed the quick pass gets every run before it is judged.
  const again = [...byId.values()]
    .filter((r) => r.run.quick === true && r.run.id !== `reference-${r.exercise.n}`)
    .filter((r) => r.failed === 0 && !r.timedOut)
    .map((r) => ({ ...r.run, quick: false }));
  if (again.length > 0) for (const r of await runChecks(again)) byId.set(r.run.id, r);
  let ok = true;
  for (const e of EXERCISES) {
    const r = byId.get(`reference-${e.n}`)!;
    const s = byId.get(`starter-${e.n}`)!;
    const good = r.failed === 0 && r.passed > 0 && s.failed > 0;
    ok &&= good;
    io.out(
      `${good ? c.green("ok  ") : c.red("BAD ")} ${e.n}. ${e.title}: reference ${r.passed} passed, ${r.failed} failed; starter ${s.failed} of ${s.passed + s.failed} failed`,
    );
    if (r.failed > 0)
      for (const f of r.failures) io.out(`      reference: ${f.name}\n        ${f.message}`);
    if (s.failed === 0)
      io.out("      the untouched starter passes every check: the checks cannot fail");
    for (const file of plantedFiles(e)) {
      const p = byId.get(`planted-${e.n}-${plantedName(file)}`)!;
      const caught = p.failed > 0 && !p.timedOut;
      ok &&= caught;
      io.out(
        `${caught ? c.green("ok  ") : c.red("BAD ")}    planted ${plantedName(file)}: ${caught ? `caught by "${p.failures[0]!.name}"` : p.timedOut ? "timed out" : "passes every check: the checks miss this mistake"}`,
      );
    }
  }
  io.out(ok ? c.green("curriculum verified") : c.red("curriculum broken"));
  return ok ? 0 : 1;
}

/** The exercise to follow: the first one not done. */
function firstUnfinished(io: CliIo): Exercise | undefined {
  const { done } = progress(io);
  return EXERCISES.find((e) => !done.includes(e.n));
}

async function watch(
  io: CliIo,
  n: string | undefined,
  reference: string | undefined,
  poll: boolean,
): Promise<number> {
  const { watch: chokidar } = await import("chokidar");
  const c = pc.createColors(io.color);
  ensureSolutions();
  // Without a number, follow the first unfinished exercise and move on when it passes.
  const fixed = n === undefined ? undefined : parseNumber(n, "watch");
  let target = fixed ?? firstUnfinished(io);
  if (!target) {
    io.out(c.green("every exercise passes: nothing to watch."));
    return 0;
  }
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true; // a save during a check: check once more afterwards
      return;
    }
    running = true;
    do {
      again = false;
      io.clear?.();
      const e: Exercise = target!;
      io.out(c.dim(`--- ${new Date().toLocaleTimeString()} checking ${e.n}. ${e.title}`));
      await reportTypeErrors(io, [e]);
      const [r] = await runChecks([studentRun(e, layersFor(io, reference))]);
      const passed = await report(io, [r!], { logs: false, diagnose: true });
      if (passed && !fixed) {
        const next = firstUnfinished(io);
        if (!next) {
          io.out(c.green("every exercise passes: the whole stack runs on your code."));
          break;
        }
        if (next !== e) {
          target = next;
          io.out(c.green(`on to exercise ${next.n}: workbook/exercises/${next.slug}/README.md`));
        }
      }
      io.out(c.dim(`watching ${target!.slug}/solution.ts (and the others); Ctrl-C to stop`));
    } while (again);
    running = false;
  };
  const files = (fixed ? [fixed] : EXERCISES).map((e) => implFile(e, "solution"));
  const start = (usePolling: boolean) =>
    chokidar(files, {
      usePolling,
      interval: 500,
      ignoreInitial: true,
      awaitWriteFinish: { stabilityThreshold: 150 },
    });
  const onChange = () => void run();
  let watcher = start(poll);
  watcher.on("error", (e) => {
    // OS file events can run out (inotify limits) or be missing (network drives): poll instead.
    io.err(`file events failed (${String(e)}); polling instead`);
    void watcher.close();
    watcher = start(true);
    watcher.on("change", onChange);
  });
  watcher.on("change", onChange);
  await run();
  return new Promise<number>((resolve) => {
    process.once("SIGINT", () => {
      void watcher.close().then(() => resolve(0));
    });
  });
}

/** How many positional arguments each command takes after its name: [min, max]. */
const ARITY = {
  list: [0, 0],
  check: [0, 1],
  watch: [0, 1],
  hint: [1, 1],
  reset: [1, 1],
  quiz: [0, 0],
  verify: [0, 0],
  view: [1, 1],
} as const;

/**
 * `view N`: serve exercise N's stack, with the student's layers, in the
 * viewer; print the URL and keep serving until interrupted.
 */
async function view(io: CliIo, arg: string | undefined): Promise<number> {
  const e = parseNumber(arg, "view");
  ensureSolutions();
  const plan = viewPlan(e, loadProgress().done, join(WORKBOOK_DIR, "src", "walk-checker.ts"));
  const { serveViewer } = await import("@mm386/viewer/server");
  const server = await serveViewer({
    stackSource: plan.source,
    designs: plan.designs,
    title: `exercise ${e.n}, ${e.title}: ${plan.layers.length > 0 ? `your layers ${plan.layers.join(", ")}` : "the reference layers"}`,
  });
  io.out(`exercise ${e.n}'s stack in the viewer: ${server.url}  (Ctrl-C stops it)`);
  await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  await server.close();
  return 0;
}

/** Run the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        reference: { type: "string" },
        poll: { type: "boolean" },
        logs: { type: "boolean" },
        seed: { type: "string" },
        kind: { type: "string" },
        ops: { type: "string" },
        sizes: { type: "string" },
        entries: { type: "string" },
        ways: { type: "string" },
        window: { type: "string" },
        ram: { type: "string" },
        "page-offset": { type: "string" },
        solve: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    const [command = "list", ...args] = positionals;
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (!Object.hasOwn(ARITY, command)) throw new UsageError(`unknown command "${command}"`);
    const [, most] = ARITY[command as keyof typeof ARITY];
    if (args.length > most) throw new UsageError(`${command}: unexpected argument "${args[most]}"`);
    const [arg] = args;
    if (values.reference !== undefined && values.reference !== "all") {
      for (const part of values.reference.split(",")) parseNumber(part, "--reference");
    }
    switch (command) {
      case "list":
        ensureSolutions();
        return list(io);
      case "check":
        return await check(io, arg, values.reference, values.logs ?? false);
      case "watch":
        return await watch(io, arg, values.reference, values.poll ?? false);
      case "hint":
        return hint(io, arg);
      case "reset":
        return reset(io, arg);
      case "quiz":
        return quiz(io, { ...values, solve: values.solve ?? false });
      case "view":
        return await view(io, arg);
      default:
        return await verify(io);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err((e as Error).message);
      io.err(USAGE);
      return 2;
    }
    throw e;
  }
}
