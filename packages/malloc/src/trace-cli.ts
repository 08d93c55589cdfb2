/**
 * `malloc-trace FILE... [--heap malloc|slab] [--policy NAME] [--align 8|16]`: run malloc lab
 * traces on a freshly booted stack, one JSON line per trace. A malformed
 * trace, a file that cannot be read or a bad option: one line on stderr
 * naming the bad value, nothing on stdout, status 2. `--help`: the usage on
 * stdout, status 0.
 * @module
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import type { PolicyFactory } from "./api.js";
import { POLICIES } from "./policies.js";
import type { CliOutput } from "./snapshot-cli.js";
import { slabHeap } from "./slab/kmalloc.js";
import { type Trace, TraceError, type TraceOptions, parseTrace, runTrace } from "./trace.js";

const usage = `usage: malloc-trace FILE... [--heap malloc|slab] [--policy ${Object.keys(POLICIES).join("|")}] [--align 8|16] [--time MS]

  --time MS  CPU time to time each trace for (after a warm-up of half as long), 1 to 60000 ms;
             default 200. Only opsPerSec depends on it.`;

/**
 * Why a file could not be read (ENOENT, EISDIR, EACCES...), without the path
 * Node puts in its message (the caller names the file once); null if `e` is
 * not a file-system error.
 */
function readFailure(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== "string" || !(e instanceof Error)) return null;
  // "EISDIR: illegal operation on a directory, read" -> "EISDIR: illegal operation on a directory"
  return e.message.replace(/, \w+( '.*')?$/s, "");
}

/** Run the command with `argv` (without node and the script); returns the exit status. */
export function mallocTraceCli(argv: readonly string[], io: CliOutput): number {
  let values: { heap?: string; policy?: string; align?: string; time?: string; help?: boolean };
  let files: string[];
  try {
    ({ values, positionals: files } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        heap: { type: "string" },
        policy: { type: "string" },
        align: { type: "string" },
        time: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.err(`malloc-trace: ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    // Asked for: the usage is the output (as the workbook CLI does).
    io.out(`${usage}\n`);
    return 0;
  }
  if (files.length === 0) {
    io.err(`${usage}\n`);
    return 2;
  }
  const name = values.policy ?? "segregated";
  // Own properties only: a plain lookup finds "toString", "constructor" and
  // "__proto__" on Object.prototype.
  const policy: PolicyFactory | undefined = Object.hasOwn(POLICIES, name)
    ? POLICIES[name as keyof typeof POLICIES]
    : undefined;
  if (policy === undefined) {
    io.err(`malloc-trace: unknown policy "${name}" (${Object.keys(POLICIES).join(", ")})\n`);
    return 2;
  }
  if (values.align !== undefined && values.align !== "8" && values.align !== "16") {
    io.err(`malloc-trace: --align must be 8 or 16, got "${values.align}"\n`);
    return 2;
  }
  const align = values.align === "16" ? 16 : 8;
  // runTrace's own default (200 ms) applies when --time is not given.
  const minTimeMs = values.time === undefined ? undefined : Number(values.time);
  if (
    minTimeMs !== undefined &&
    (!/^\d+$/.test(values.time!) || minTimeMs < 1 || minTimeMs > 60_000)
  ) {
    io.err(
      `malloc-trace: --time must be a whole number of ms from 1 to 60000, got "${values.time}"\n`,
    );
    return 2;
  }
  // --heap slab: kmalloc on slab caches, which has no policy and aligns to 8.
  const heap = values.heap ?? "malloc";
  if (heap !== "malloc" && heap !== "slab") {
    io.err(`malloc-trace: unknown heap "${heap}" (malloc, slab)\n`);
    return 2;
  }
  if (heap === "slab" && (values.policy !== undefined || values.align === "16")) {
    io.err(`malloc-trace: --heap slab takes no --policy and aligns to 8\n`);
    return 2;
  }
  const traces: Trace[] = [];
  for (const file of files) {
    try {
      traces.push(parseTrace(readFileSync(file, "utf8"), basename(file)));
    } catch (e) {
      if (e instanceof TraceError) {
        io.err(`malloc-trace: ${e.message}\n`);
        return 2;
      }
      const reason = readFailure(e);
      if (reason !== null) {
        io.err(`malloc-trace: cannot read ${file}: ${reason}\n`);
        return 2;
      }
      throw e;
    }
  }
  const options: TraceOptions = {
    ...(heap === "slab" ? { stack: { malloc: slabHeap } } : { policy, align }),
    ...(minTimeMs === undefined ? {} : { minTimeMs }),
  };
  for (const t of traces) io.out(`${JSON.stringify(runTrace(t, options))}\n`);
  return 0;
}
