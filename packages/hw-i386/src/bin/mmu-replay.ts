#!/usr/bin/env node
/**
 * Executable wrapper of {@link replayMain}.
 * @module
 */
import { replayMain } from "../replay-cli.js";

process.exitCode = replayMain(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
