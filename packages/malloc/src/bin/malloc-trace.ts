#!/usr/bin/env node
/**
 * `malloc-trace FILE... [--heap malloc|slab] [--policy NAME] [--align 8|16]`:
 * see {@link mallocTraceCli}.
 * @module
 */
import { mallocTraceCli } from "../trace-cli.js";

process.exitCode = mallocTraceCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
});
