/**
 * The `mmu-replay FILE` command, as a function so that tests can run it
 * in-process: one JSON line per step on stdout; bad input gives one message on
 * stderr naming the file once, nothing on stdout, and status 2. `--help` (or
 * `-h`) prints the usage on stdout and exits 0, as the other commands do.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { ReplayInputError, parseReplayText, runReplay } from "./replay.js";

/** Where {@link replayMain} writes. */
export interface ReplayIo {
  /** Receives the output lines (and the usage asked for with `--help`). */
  readonly stdout: (text: string) => void;
  /** Receives the one-line error message of a refused run. */
  readonly stderr: (text: string) => void;
}

const USAGE = "usage: mmu-replay FILE   (FILE: one replay case or an array of cases, JSON)\n";

/**
 * Why a file could not be read (ENOENT, EISDIR...), without the path Node
 * puts in its message: the caller names the file once.
 */
function readFailure(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // "ENOENT: no such file or directory, open '/x'" -> "ENOENT: no such file or directory"
  return e.message.replace(/, \w+( '.*')?$/s, "");
}

/** Run `mmu-replay` with `argv` (the arguments after the command name); returns the exit status. */
export function replayMain(argv: readonly string[], io: ReplayIo): number {
  if (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h")) {
    io.stdout(USAGE);
    return 0;
  }
  const file = argv[0];
  if (file === undefined || argv.length > 1) {
    io.stderr(USAGE);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    io.stderr(`mmu-replay: cannot read ${file}: ${readFailure(e)}\n`);
    return 2;
  }
  try {
    const lines = runReplay(parseReplayText(text, file));
    io.stdout(lines.map((l) => JSON.stringify(l) + "\n").join(""));
    return 0;
  } catch (e) {
    // parseReplayText names the file at the head of every message.
    if (e instanceof ReplayInputError) {
      io.stderr(`mmu-replay: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
