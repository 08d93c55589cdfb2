/**
 * The `mmu-replay FILE` command, as a function so that tests can run it
 * in-process: one JSON line per step on stdout; bad input gives one message on
 * stderr, nothing on stdout, and status 2.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { ReplayInputError, parseReplayText, runReplay } from "./replay.js";

/** Where {@link replayMain} writes. */
export interface ReplayIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Run `mmu-replay` with `argv` (the arguments after the command name); returns the exit status. */
export function replayMain(argv: readonly string[], io: ReplayIo): number {
  const file = argv[0];
  if (file === undefined || argv.length > 1 || file === "--help" || file === "-h") {
    io.stderr("usage: mmu-replay FILE   (FILE: one replay case or an array of cases, JSON)\n");
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    io.stderr(`mmu-replay: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const lines = runReplay(parseReplayText(text, file));
    io.stdout(lines.map((l) => JSON.stringify(l) + "\n").join(""));
    return 0;
  } catch (e) {
    if (e instanceof ReplayInputError) {
      io.stderr(`mmu-replay: ${file}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
