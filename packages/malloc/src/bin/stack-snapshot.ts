#!/usr/bin/env node
/**
 * `stack-snapshot [--design NAME] [--ram MIB] [--spaces N]`: see
 * {@link stackSnapshotCli}.
 * @module
 */
import { stackSnapshotCli } from "../snapshot-cli.js";

process.exitCode = stackSnapshotCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
});
