#!/usr/bin/env node
/**
 * `malloc-trace FILE... [--policy NAME] [--align 8|16]`: run malloc lab
 * traces on a freshly booted stack, one JSON line per trace. A malformed
 * trace or a bad option: a message on stderr, nothing on stdout, status 2.
 * @module
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { POLICIES } from "../policies.js";
import { type Trace, TraceError, parseTrace, runTrace } from "../trace.js";

const usage = `usage: malloc-trace FILE... [--policy ${Object.keys(POLICIES).join("|")}] [--align 8|16]`;

function main(argv: string[]): number {
  let values: { policy?: string; align?: string; help?: boolean };
  let files: string[];
  try {
    ({ values, positionals: files } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        policy: { type: "string" },
        align: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    process.stderr.write(`malloc-trace: ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  if (values.help || files.length === 0) {
    process.stderr.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  const name = values.policy ?? "segregated";
  const policy = (POLICIES as Record<string, (typeof POLICIES)[keyof typeof POLICIES]>)[name];
  if (policy === undefined) {
    process.stderr.write(
      `malloc-trace: unknown policy "${name}" (${Object.keys(POLICIES).join(", ")})\n`,
    );
    return 2;
  }
  if (values.align !== undefined && values.align !== "8" && values.align !== "16") {
    process.stderr.write(`malloc-trace: --align must be 8 or 16, got "${values.align}"\n`);
    return 2;
  }
  const align = values.align === "16" ? 16 : 8;
  const traces: Trace[] = [];
  for (const file of files) {
    try {
      traces.push(parseTrace(readFileSync(file, "utf8"), basename(file)));
    } catch (e) {
      if (e instanceof TraceError || (e as NodeJS.ErrnoException).code === "ENOENT") {
        process.stderr.write(
          `malloc-trace: ${e instanceof TraceError ? e.message : `cannot read ${file}`}\n`,
        );
        return 2;
      }
      throw e;
    }
  }
  for (const t of traces)
    process.stdout.write(`${JSON.stringify(runTrace(t, { policy, align }))}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
