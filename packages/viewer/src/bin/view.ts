#!/usr/bin/env node
/**
 * `pnpm run view [--port N]`: start the viewer's dev server and print its URL
 * as one plain line (no colour codes), so that scripts can read it. Runs
 * until interrupted.
 *
 * @module
 */
import { serveViewer } from "../server.js";

const args = process.argv.slice(2);
let port: number | undefined;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port") {
    const text = args[++i] ?? "";
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n > 65535) {
      console.error(`view: --port ${JSON.stringify(text)} is not a port number from 0 to 65535`);
      process.exit(2);
    }
    port = n;
  } else {
    console.error(`view: unknown option ${JSON.stringify(args[i])}; usage: view [--port N]`);
    process.exit(2);
  }
}
const server = await serveViewer(port === undefined ? {} : { port });
console.log(server.url);
const stop = (): void => void server.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
