/**
 * The `view` command's options and errors: `--help` on stdout with status 0,
 * a bad option or a port that is taken as one line on stderr with status 2
 * (it printed vite's stack trace), and the URL as one line on stdout.
 */
import { createServer, type Server } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { viewCli } from "../src/cli.js";
import { serveViewer, type ServeOptions, type ViewerServer } from "../src/server.js";

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

/** A stand-in server that records the options it was started with. */
function fakeServe(seen: ServeOptions[]) {
  return (options: ServeOptions): Promise<ViewerServer> => {
    seen.push(options);
    return Promise.resolve({
      url: `http://127.0.0.1:${options.port ?? 5173}/`,
      vite: undefined as never,
      close: () => Promise.resolve(),
    });
  };
}

describe("view", () => {
  it("--help and -h print the usage on stdout, status 0, and start nothing", async () => {
    for (const flag of ["--help", "-h"]) {
      const seen: ServeOptions[] = [];
      const t = io();
      expect(await viewCli([flag], t.io, fakeServe(seen))).toBe(0);
      expect(t.out.join("\n")).toMatch(/^usage: view \[--port N\]/);
      expect([t.err, seen]).toEqual([[], []]);
    }
  });

  it.each([
    [["--port", "abc"], '--port "abc"'],
    [["--port", "65536"], '--port "65536"'],
    [["--port", "-1"], '--port "-1"'],
    [["--port"], '--port ""'],
    [["--host", "0.0.0.0"], '"--host"'],
    [["extra"], '"extra"'],
  ])("%j: one line naming the value, status 2, nothing started", async (argv, named) => {
    const seen: ServeOptions[] = [];
    const t = io();
    expect(await viewCli(argv, t.io, fakeServe(seen))).toBe(2);
    expect(t.err).toHaveLength(1);
    expect(t.err[0]).toContain(named);
    expect([t.out, seen]).toEqual([[], []]);
  });

  it("prints the URL as one line and passes the port on", async () => {
    const seen: ServeOptions[] = [];
    const t = io();
    const r = await viewCli(["--port", "8123"], t.io, fakeServe(seen));
    expect(typeof r).toBe("object");
    expect(t.out).toEqual(["http://127.0.0.1:8123/"]);
    expect(seen).toEqual([{ port: 8123 }]);
  });

  let taken: Server | undefined;
  afterAll(() => taken?.close());

  it("a port that is taken: one line naming it, status 2, no stack trace", async () => {
    taken = createServer();
    await new Promise<void>((done) => taken!.listen(0, "127.0.0.1", done));
    const port = (taken.address() as { port: number }).port;
    const t = io();
    expect(await viewCli(["--port", String(port)], t.io, serveViewer)).toBe(2);
    expect(t.err).toHaveLength(1);
    expect(t.err[0]).toContain(`--port ${port}`);
    expect(t.err[0]).not.toMatch(/\n\s+at /);
    expect(t.out).toEqual([]);
  });
});
