/**
 * The `view` command's options and errors, apart from the process so that a
 * test can drive them: `--port N` (default 5173, or the next free port),
 * `--help`. A bad option or a server that cannot start (a port in use) is one
 * line on stderr and status 2; the URL is one plain line on stdout.
 *
 * @module
 */
import type { ServeOptions, ViewerServer } from "./server.js";

/** Where the command writes. */
export interface ViewIo {
  /** Standard output. */
  out(line: string): void;
  /** Standard error. */
  err(line: string): void;
}

const USAGE = [
  "usage: view [--port N]",
  "",
  "  Start the viewer's dev server and print the URL to open.",
  "  --port N    listen on port N (0 to 65535; 0 picks a free one). Without it, 5173 or",
  "              the next free port.",
  "  -h, --help  this text",
].join("\n");

/**
 * Run the command: the started server, or the exit status when nothing runs
 * (0 after `--help`, 2 after a bad option or a server that could not start).
 */
export async function viewCli(
  argv: readonly string[],
  io: ViewIo,
  serve: (options: ServeOptions) => Promise<ViewerServer>,
): Promise<ViewerServer | number> {
  let port: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      io.out(USAGE);
      return 0;
    }
    if (arg === "--port") {
      const text = argv[++i] ?? "";
      const n = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n) || n > 65535) {
        io.err(`view: --port ${JSON.stringify(text)} is not a port number from 0 to 65535`);
        return 2;
      }
      port = n;
    } else {
      io.err(`view: unknown option ${JSON.stringify(arg)}; usage: view [--port N] (--help)`);
      return 2;
    }
  }
  try {
    const server = await serve(port === undefined ? {} : { port });
    io.out(server.url);
    return server;
  } catch (e) {
    const message = (e as Error).message.split("\n")[0];
    io.err(
      `view: the server cannot start${port === undefined ? "" : ` on --port ${port}`}: ${message}`,
    );
    return 2;
  }
}
