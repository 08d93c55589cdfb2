#!/usr/bin/env node
/**
 * `mmu-replay FILE`: print one JSON line per step of the replay cases in FILE.
 * Bad input: one message on stderr, nothing on stdout, exit status 2.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { ReplayInputError, parseReplayText, runReplay } from "./replay.js";

function main(argv: readonly string[]): number {
  const file = argv[0];
  if (file === undefined || argv.length > 1 || file === "--help" || file === "-h") {
    process.stderr.write("usage: mmu-replay FILE   (FILE: one replay case or an array of cases, JSON)\n");
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    process.stderr.write(`mmu-replay: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const lines = runReplay(parseReplayText(text, file));
    process.stdout.write(lines.map((l) => JSON.stringify(l) + "\n").join(""));
    return 0;
  } catch (e) {
    if (e instanceof ReplayInputError) {
      process.stderr.write(`mmu-replay: ${file}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
