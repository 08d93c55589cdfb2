#!/usr/bin/env node
/**
 * `experiment WORKLOAD [options]`: see {@link experimentCli}.
 * @module
 */
import pc from "picocolors";
import { experimentCli } from "../cli.js";

process.exitCode = await experimentCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  color: pc.isColorSupported && process.stdout.isTTY === true,
});
