#!/usr/bin/env node
/**
 * `pnpm run view [--port N]`: start the viewer's dev server and print its URL
 * as one plain line (no colour codes), so that scripts can read it. Runs
 * until interrupted. Options and errors: see cli.ts.
 *
 * @module
 */
import { viewCli } from "../cli.js";
import { serveViewer } from "../server.js";

const result = await viewCli(
  process.argv.slice(2),
  { out: (l) => console.log(l), err: (l) => console.error(l) },
  serveViewer,
);
if (typeof result === "number") process.exit(result);
const stop = (): void => void result.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
