#!/usr/bin/env node
/**
 * The `pnpm workbook` executable.
 * @module
 */
import { main } from "../cli.js";

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  color: process.stdout.isTTY === true && !("NO_COLOR" in process.env),
});
process.exitCode = code;
