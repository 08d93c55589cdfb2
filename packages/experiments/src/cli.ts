/**
 * `experiment WORKLOAD [options]`: check every option (a bad one: one line
 * on stderr naming the value, nothing on stdout, status 2), run every
 * combination, print the table or one JSON line per row, and with `--out`
 * write the charts. `--help`: the usage on stdout, status 0.
 *
 * @module
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ExperimentError } from "./api.js";
import { CHARTED_FIGURES, chartSvg, reportHtml } from "./charts.js";
import { planExperiment, usage } from "./options.js";
import { runExperiment } from "./run.js";
import { formatTable } from "./table.js";

/** Where the command writes: stdout and stderr, or buffers in a test. */
export interface CliOutput {
  /** Standard output. */
  out(text: string): void;
  /** Standard error. */
  err(text: string): void;
  /** Colour the table (default false). */
  readonly color?: boolean;
}

/** Run the command with `argv` (the words after the command name); resolves to the exit status. */
export async function experimentCli(argv: readonly string[], io: CliOutput): Promise<number> {
  let plan;
  try {
    plan = planExperiment(argv);
  } catch (e) {
    if (!(e instanceof ExperimentError)) throw e;
    io.err(`experiment: ${e.message}\nrun "experiment --help" for the options\n`);
    return 2;
  }
  if (plan === null) {
    io.out(`${usage()}\n`);
    return 0;
  }
  if (plan.out !== null) {
    try {
      makeDirectory(plan.out);
    } catch (e) {
      io.err(
        `experiment: --out ${JSON.stringify(plan.out)} cannot be made (${(e as Error).message})\n`,
      );
      return 2;
    }
  }
  const rows = await runExperiment(plan.combos, { jobs: plan.jobs, repeat: plan.repeat });
  if (plan.json) for (const r of rows) io.out(`${JSON.stringify(r)}\n`);
  else io.out(`${formatTable(rows, io.color ?? false)}\n`);
  if (plan.out !== null) {
    const command = `pnpm experiment ${argv.join(" ")}`;
    try {
      writeFileSync(join(plan.out, "report.html"), reportHtml(rows, command));
      for (const f of CHARTED_FIGURES)
        writeFileSync(join(plan.out, `${f}.svg`), `${chartSvg(rows, f)}\n`);
      writeFileSync(
        join(plan.out, "rows.jsonl"),
        rows.map((r) => `${JSON.stringify(r)}\n`).join(""),
      );
    } catch (e) {
      io.err(
        `experiment: --out ${JSON.stringify(plan.out)} cannot be written (${(e as Error).message})\n`,
      );
      return 2;
    }
    io.err(
      `experiment: wrote ${join(plan.out, "report.html")} and ${CHARTED_FIGURES.length} SVG charts\n`,
    );
  }
  return 0;
}

/**
 * `mkdir -p`, one missing directory at a time from the nearest one that exists. Node's
 * `mkdirSync(dir, { recursive: true })` spins for ever on a path under /proc (the kernel answers
 * ENOENT for a child of a directory that exists, and Node retries the parent); here every
 * failure is final.
 */
function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  if (missing.length === 0 && !statSync(dir).isDirectory()) throw new Error("not a directory");
  for (const d of missing.reverse()) mkdirSync(d);
}
