/**
 * Run `malloc-trace` in this process with `args`, as the command would from a shell: its
 * status, and what it wrote on stdout and stderr (the bin only hands these to the process).
 */
import { mallocTraceCli } from "../src/trace-cli.js";

/** The result of one `malloc-trace` run, shaped as `spawnSync`'s. */
export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run `malloc-trace --time 1 args...`: the shortest timing (only opsPerSec depends on it), first
 * so that it can never become the value of an option the test leaves without one.
 */
export function mallocTrace(args: readonly string[]): CliRun {
  let stdout = "";
  let stderr = "";
  const status = mallocTraceCli(["--time", "1", ...args], {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
  });
  return { status, stdout, stderr };
}
