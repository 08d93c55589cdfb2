#!/usr/bin/env node
/**
 * `pnpm workbook [command]`: the workbook's command line.
 *
 * ```
 *  pnpm workbook                      list the exercises, with progress
 *  pnpm workbook check [N]            check your solution (all, or exercise N)
 *  pnpm workbook watch [N]            re-check on every save (--poll to poll)
 *  pnpm workbook hint N               the next hint of exercise N
 *  pnpm workbook reset N              start exercise N again from the starter
 *  pnpm workbook quiz [--seed S] [--kind walk|buddy|pde] [--solve]
 *  pnpm workbook verify               curriculum CI: reference passes, starter fails
 *  --reference 3,5 | all              use the reference for these layers in the stacks
 * ```
 *
 * @module
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pc from "picocolors";
import {
  EXERCISES,
  type Exercise,
  exercise,
  exerciseDir,
  hasSolution,
  implFile,
} from "./exercises.js";
import { loadProgress, saveProgress } from "./progress.js";
import { QUIZ_KINDS, type QuizKind, makeQuestion } from "./quiz.js";
import { type ExerciseResult, runChecks } from "./runner.js";

/** Where the CLI writes, and whether it may use colour. */
export interface CliIo {
  /** Standard output, one line at a time. */
  readonly out: (line: string) => void;
  /** Standard error, one line at a time. */
  readonly err: (line: string) => void;
  /** Colour on (a TTY) or off (piped). */
  readonly color: boolean;
}

const USAGE = `usage: pnpm workbook [list | check [N] | watch [N] | hint N | reset N | quiz | verify]
  --reference L,L|all   use the reference layer for these exercises in the stacks
  --poll                watch: poll files instead of using OS file events
  --seed S --kind K     quiz: which question (K: ${QUIZ_KINDS.join(", ")}); --solve prints the answer`;

class UsageError extends Error {}

function parseNumber(v: string | undefined, what: string): Exercise {
  const n = Number(v);
  const e = v === undefined ? undefined : exercise(n);
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

function started(e: Exercise): boolean {
  return (
    hasSolution(e) &&
    readFileSync(implFile(e, "solution"), "utf8") !== readFileSync(implFile(e, "starter"), "utf8")
  );
}

function layersFor(reference: string | undefined): number[] {
  const done = loadProgress().done;
  if (reference === "all") return [];
  const back = new Set((reference ?? "").split(",").filter(Boolean).map(Number));
  return done.filter((n) => !back.has(n)).sort((a, b) => a - b);
}

function bar(done: number, total: number, width = 24): string {
  const full = Math.round((done / total) * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${done}/${total}`;
}

function list(io: CliIo): number {
  const c = pc.createColors(io.color);
  const { done } = loadProgress();
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
      `then ${c.yellow(`pnpm workbook check ${next.n}`)} (or ${c.yellow("pnpm workbook watch")}; stuck? ${c.yellow(`pnpm workbook hint ${next.n}`)})`,
    );
  } else io.out(c.green("every exercise passes: the whole stack runs on your code."));
  return 0;
}

function report(io: CliIo, results: readonly ExerciseResult[], layers: readonly number[]): boolean {
  const c = pc.createColors(io.color);
  const progress = loadProgress();
  let ok = true;
  for (const r of results) {
    const passed = r.failed === 0;
    ok &&= passed;
    const others = layers.filter((n) => n < r.exercise.n);
    io.out(
      `${passed ? c.green("PASS") : c.red("FAIL")}  ${r.exercise.n}. ${r.exercise.title}  ${c.dim(`${r.passed} passed, ${r.failed} failed${others.length ? `; your layers ${others.join(", ")} in the stack` : ""}`)}`,
    );
    if (r.score) {
      const sc = r.score;
      io.out(
        `      score: utilisation ${sc.utilization.toFixed(3)} (reference ${sc.reference.utilization.toFixed(3)}), simulated cost ${sc.accessesPerOp.toFixed(1)} MMU accesses per operation (reference ${sc.reference.accessesPerOp.toFixed(1)})`,
      );
    }
    for (const f of r.failures.slice(0, 5)) {
      io.out(`      ${c.red("x")} ${f.name}`);
      for (const line of f.message.split("\n")) io.out(`        ${c.dim(line)}`);
    }
    if (r.failures.length > 5) io.out(`      ... and ${r.failures.length - 5} more`);
    if (!passed && others.length > 0)
      io.out(
        c.dim(
          `      a layer of yours may be at fault: try --reference ${others.join(",")} (or all)`,
        ),
      );
    progress.done = progress.done.filter((n) => n !== r.exercise.n);
    if (passed) progress.done.push(r.exercise.n);
  }
  progress.done.sort((a, b) => a - b);
  saveProgress(progress);
  return ok;
}

function check(io: CliIo, n: string | undefined, reference: string | undefined): number {
  ensureSolutions();
  const targets = n === undefined ? EXERCISES : [parseNumber(n, "check")];
  const layers = layersFor(reference);
  return report(io, runChecks(targets, { impl: "solution", layers }), layers) ? 0 : 1;
}

function hint(io: CliIo, n: string | undefined): number {
  const e = parseNumber(n, "hint");
  const c = pc.createColors(io.color);
  const text = readFileSync(join(exerciseDir(e), "hints.md"), "utf8");
  const hints = text.split(/^## /m).slice(1);
  const progress = loadProgress();
  const shown = progress.hints[String(e.n)] ?? 0;
  const i = Math.min(shown, hints.length - 1);
  io.out(c.bold(`Exercise ${e.n}, ## ${hints[i]!.trimEnd()}`));
  io.out(
    c.dim(
      shown >= hints.length
        ? "(that was the last hint; the README has the full story)"
        : `(hint ${i + 1} of ${hints.length})`,
    ),
  );
  progress.hints[String(e.n)] = Math.min(shown + 1, hints.length);
  saveProgress(progress);
  return 0;
}

function reset(io: CliIo, n: string | undefined): number {
  const e = parseNumber(n, "reset");
  const mine = implFile(e, "solution");
  if (existsSync(mine)) copyFileSync(mine, `${mine}.bak`);
  copyFileSync(implFile(e, "starter"), mine);
  const progress = loadProgress();
  progress.done = progress.done.filter((x) => x !== e.n);
  delete progress.hints[String(e.n)];
  saveProgress(progress);
  io.out(
    `exercise ${e.n}: solution.ts is the starter again${existsSync(`${mine}.bak`) ? " (your old one is solution.ts.bak)" : ""}; hints start over.`,
  );
  return 0;
}

function quiz(
  io: CliIo,
  seedArg: string | undefined,
  kindArg: string | undefined,
  solve: boolean,
): number {
  const c = pc.createColors(io.color);
  const seed = seedArg === undefined ? Math.floor(Math.random() * 1e6) : Number(seedArg);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new UsageError(`quiz: --seed must be a non-negative integer, got "${seedArg}"`);
  if (kindArg !== undefined && !(QUIZ_KINDS as readonly string[]).includes(kindArg))
    throw new UsageError(`quiz: --kind must be one of ${QUIZ_KINDS.join(", ")}, got "${kindArg}"`);
  const q = makeQuestion(seed, kindArg as QuizKind | undefined);
  io.out(c.bold(`Question (${q.kind}, seed ${seed})`));
  for (const line of q.text) io.out(line);
  io.out("");
  if (solve) {
    io.out(c.bold("Answer"));
    for (const line of q.answer) io.out(c.green(line));
  } else io.out(c.dim(`answer: pnpm workbook quiz --seed ${seed} --solve`));
  return 0;
}

/** Curriculum CI: every exercise passes on the reference and fails on the untouched starter. */
export function verify(io: CliIo): number {
  const c = pc.createColors(io.color);
  const ref = runChecks(EXERCISES, { impl: "reference", layers: [] });
  const start = runChecks(EXERCISES, { impl: "starter", layers: [] });
  let ok = true;
  for (const e of EXERCISES) {
    const r = ref.find((x) => x.exercise === e)!;
    const s = start.find((x) => x.exercise === e)!;
    const good = r.failed === 0 && r.passed > 0 && s.failed > 0;
    ok &&= good;
    io.out(
      `${good ? c.green("ok  ") : c.red("BAD ")} ${e.n}. ${e.title}: reference ${r.passed} passed, ${r.failed} failed; starter ${s.failed} of ${s.passed + s.failed} failed`,
    );
    if (r.failed > 0)
      for (const f of r.failures) io.out(`      reference: ${f.name}\n        ${f.message}`);
    if (s.failed === 0)
      io.out("      the untouched starter passes every check: the checks cannot fail");
  }
  io.out(ok ? c.green("curriculum verified") : c.red("curriculum broken"));
  return ok ? 0 : 1;
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
  const targets = n === undefined ? EXERCISES : [parseNumber(n, "watch")];
  const files = targets.map((e) => implFile(e, "solution"));
  const run = () => {
    io.out(
      c.dim(
        `--- ${new Date().toLocaleTimeString()} checking ${targets.map((e) => e.n).join(", ")}`,
      ),
    );
    const layers = layersFor(reference);
    report(io, runChecks(targets, { impl: "solution", layers }), layers);
    io.out(c.dim("watching your solution.ts files; Ctrl-C to stop"));
  };
  const start = (usePolling: boolean) =>
    chokidar(files, {
      usePolling,
      interval: 500,
      ignoreInitial: true,
      awaitWriteFinish: { stabilityThreshold: 150 },
    });
  let watcher = start(poll);
  watcher.on("error", (e) => {
    // OS file events can run out (inotify limits) or be missing (network drives): poll instead.
    io.err(`file events failed (${String(e)}); polling instead`);
    void watcher.close();
    watcher = start(true);
    watcher.on("change", run);
  });
  watcher.on("change", run);
  run();
  return new Promise<number>((resolve) => {
    process.once("SIGINT", () => {
      void watcher.close().then(() => resolve(0));
    });
  });
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
        seed: { type: "string" },
        kind: { type: "string" },
        solve: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    const [command = "list", arg, extra] = positionals;
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    if (values.reference !== undefined && values.reference !== "all") {
      for (const part of values.reference.split(",")) parseNumber(part, "--reference");
    }
    switch (command) {
      case "list":
        ensureSolutions();
        return list(io);
      case "check":
        return check(io, arg, values.reference);
      case "watch":
        return await watch(io, arg, values.reference, values.poll ?? false);
      case "hint":
        return hint(io, arg);
      case "reset":
        return reset(io, arg);
      case "quiz":
        return quiz(io, values.seed, values.kind, values.solve ?? false);
      case "verify":
        return verify(io);
      default:
        throw new UsageError(`unknown command "${command}"`);
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
