#!/usr/bin/env node
/**
 * The `pnpm workbook` executable.
 * @module
 */
import { main } from "../cli.js";

// `pnpm workbook | head` closes the pipe early: stop quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  color: process.stdout.isTTY === true && !("NO_COLOR" in process.env),
});
process.exitCode = code;
