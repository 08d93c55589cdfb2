/**
 * The command as a person or a script meets it: the JSON lines' shape and
 * order, the table, bad options (a message naming the value, status 2,
 * nothing on stdout), a workload that runs out of memory, and the charts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi, afterAll, onTestFinished, beforeAll } from "vitest";
import { experimentCli } from "../src/cli.js";

// Each combination boots a whole stack; on a loaded 2-core machine a few take seconds.
vi.setConfig({ testTimeout: 30_000 });

/** Run the command; stdout, stderr and the status. */
async function run(...argv: string[]): Promise<{ out: string; err: string; status: number }> {
  let out = "";
  let err = "";
  // The hand-worked expectations below are the hobby kernel's: every design runs unless a test
  // names them, so these runs name it (the run over every design is its own test).
  const args =
    argv.includes("--designs") ||
    argv.includes("--help") ||
    argv.length === 0 ||
    argv[0]!.startsWith("-")
      ? argv
      : [argv[0]!, "--designs", "hobby", ...argv.slice(1)];
  const status = await experimentCli(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { out, err, status };
}

const SMALL = ["--spaces", "2", "--pages", "3", "--rounds", "1", "--repeat", "1", "--jobs", "1"];

/** The keys of every JSON line, in order. */
const ROW_KEYS = [
  "index",
  "workload",
  "design",
  "tlb",
  "ranges",
  "heap",
  "policy",
  "trace",
  "ramMib",
  "seed",
  "mmuAccesses",
  "walks",
  "tlbMisses",
  "tlbHits",
  "tlbHitRate",
  "faults",
  "flushes",
  "pageTablePages",
  "physicalPages",
  "kernelVirtualPages",
  "fragmentation",
  "phases",
  "outOfMemory",
  "error",
  "wallMs",
  "runs",
];

describe("--json", () => {
  it("one line per combination, in combination order, with the keys the issue lists", async () => {
    const tlbs = ["16:4:fifo", "unbounded", "8:2:lru"];
    const { out, err, status } = await run(
      "spaces",
      ...SMALL,
      "--designs",
      "hobby",
      "--tlb",
      tlbs.join(","),
      "--ranges",
      "first-fit,buddy",
      "--json",
    );
    expect(status).toBe(0);
    expect(err).toBe("");
    const rows = out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // tlb varies slower than ranges: combination order, not finishing order.
    expect(rows.map((r) => [r.tlb, r.ranges])).toEqual(
      tlbs.flatMap((t) => [
        [t, "first-fit"],
        [t, "buddy"],
      ]),
    );
    expect(rows.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const r of rows) {
      expect(Object.keys(r)).toEqual(ROW_KEYS);
      for (const k of ["workload", "design", "tlb", "ranges", "heap", "policy", "trace"])
        expect(typeof r[k]).toBe("string");
      for (const k of ["mmuAccesses", "walks", "tlbMisses", "pageTablePages", "physicalPages"])
        expect(Number.isSafeInteger(r[k])).toBe(true);
      expect(Object.keys(r.flushes as object)).toEqual(["cr3", "invlpg", "full"]);
      expect(Object.keys(r.phases as object)).toEqual(["setup", "run", "teardown"]);
      // spaces takes no heap: n/a, not a silent default.
      expect([r.heap, r.policy, r.trace]).toEqual(["n/a", "n/a", "n/a"]);
      expect(r.error).toBeNull();
    }
  });

  it("counters are the same for the same seed; only the wall time may differ", async () => {
    const args = [
      "tlb",
      "--pages",
      "20",
      "--touches",
      "300",
      "--tlb",
      "4:4:random",
      "--repeat",
      "2",
      "--jobs",
      "1",
      "--json",
    ];
    const a = JSON.parse((await run(...args)).out) as Record<string, unknown>;
    const b = JSON.parse((await run(...args)).out) as Record<string, unknown>;
    expect(a.error).toBeNull(); // the two timed runs counted the same
    expect({ ...a, wallMs: 0 }).toEqual({ ...b, wallMs: 0 });
    const c = JSON.parse((await run(...args, "--seed", "2")).out) as Record<string, unknown>;
    expect(c.tlbMisses).not.toBe(a.tlbMisses);
  });
});

describe("the table", () => {
  it("a header and one line per row; n/a for the options a workload's design does not take", async () => {
    const { out, status } = await run(
      "kernel-alloc",
      "--ops",
      "40",
      "--repeat",
      "1",
      "--jobs",
      "1",
      "--policy",
      "segregated,first-fit",
    );
    expect(status).toBe(0);
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^design\s+tlb\s+ranges\s+heap\s+policy\s+accesses\s+walks/);
    expect(lines[0]).toContain("| wall ms");
    expect(lines[1]).toMatch(/^hobby\s+unbounded\s+buddy\s+malloc\s+segregated\s+\d+/);
    expect(lines[2]).toMatch(/^hobby\s+unbounded\s+buddy\s+malloc\s+first-fit\s+\d+/);
  });
});

describe("bad options: a message naming the value, status 2, nothing on stdout", () => {
  // Named now (the table below needs it), made only if one of these tests runs.
  const dir = join(tmpdir(), `mm386-exp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const badTrace = join(dir, "bad.rep");
  beforeAll(() => {
    mkdirSync(dir);
    writeFileSync(badTrace, "100\n1\n2\n1\na 0 8\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it.each([
    [[], "no workload"],
    [["swap"], '"swap"'],
    [["spaces", "tlb"], '"tlb"'],
    [["spaces", "--designs", "hobby,bsd"], '"bsd"'],
    [["spaces", "--tlb", "64:3:lru"], '"64:3:lru"'],
    [["spaces", "--tlb", "64:4:mru"], '"64:4:mru"'],
    [["spaces", "--tlb", ""], '""'],
    [["spaces", "--ranges", "slab"], '"slab"'],
    [["malloc", "--heap", "slub"], '"slub"'],
    [["malloc", "--policy", "best-fit"], '"best-fit"'],
    [["spaces", "--ram", "2"], '"2"'],
    [["spaces", "--ram", "4000"], '"4000"'],
    [["spaces", "--seed", "0"], '"0"'],
    [["spaces", "--seed", "-1"], '"-1"'],
    [["spaces", "--seed", "1.5"], '"1.5"'],
    [["spaces", "--spaces", "0"], '"0"'],
    [["spaces", "--pages", "many"], '"many"'],
    [["spaces", "--jobs", "0"], '"0"'],
    [["spaces", "--repeat", "x"], '"x"'],
    [["spaces", "--policy", "first-fit"], "does not apply to workload spaces"],
    [["spaces", "--trace", "t.rep"], "does not apply to workload spaces"],
    [["spaces", "--ops", "5"], '--ops "5" does not apply to workload spaces'],
    [["tlb", "--rounds", "5"], '--rounds "5" does not apply to workload tlb'],
    [["malloc", "--trace", join(dir, "missing.rep")], "missing.rep"],
    [["malloc", "--trace", badTrace], "bad.rep: line"],
    [["spaces", "--colour"], "--colour"],
    [["spaces", "--out", ""], '--out ""'],
    // A file, a directory under a file, and a directory under /proc, where Node's own
    // recursive mkdir never returns: each refused before anything runs.
    [["spaces", "--out", badTrace], "not a directory"],
    [["spaces", "--out", join(badTrace, "charts")], "ENOTDIR"],
    [["spaces", "--out", "/proc/mm386-nowhere/charts"], "ENOENT"],
  ])("%j", async (argv, named) => {
    const { out, err, status } = await run(...argv);
    expect(status).toBe(2);
    expect(out).toBe("");
    expect(err).toContain(named);
    expect(err.split("\n")[0]).toMatch(/^experiment: /);
  });

  it("--help: the usage on stdout, status 0", async () => {
    const { out, err, status } = await run("--help");
    expect([status, err]).toEqual([0, ""]);
    expect(out).toMatch(/^usage: experiment WORKLOAD/);
    for (const w of ["spaces", "kernel-alloc", "malloc", "tlb"]) expect(out).toContain(`  ${w} `);
  });
});

describe("running out of memory", () => {
  it("is reported in its row, and the other rows still run", async () => {
    // 4 MiB of RAM holds nowhere near 2 x 2000 frames; 64 MiB does.
    const base = [
      "spaces",
      "--spaces",
      "2",
      "--pages",
      "2000",
      "--rounds",
      "1",
      "--repeat",
      "1",
      "--jobs",
      "1",
      "--json",
    ];
    const small = JSON.parse((await run(...base, "--ram", "4")).out) as Record<string, unknown>;
    expect(small.outOfMemory).toBe(true);
    expect(small.error).toMatch(/^out of memory: frame for page \d+ of space \d/);
    const big = JSON.parse((await run(...base, "--ram", "64")).out) as Record<string, unknown>;
    expect([big.outOfMemory, big.error]).toEqual([false, null]);
  });

  it("kernel-alloc stops at the allocation that failed and gives the rest back", async () => {
    const { out, status } = await run(
      "kernel-alloc",
      "--ram",
      "4",
      "--ops",
      "3000",
      "--repeat",
      "1",
      "--jobs",
      "1",
      "--json",
    );
    expect(status).toBe(0);
    const row = JSON.parse(out) as {
      outOfMemory: boolean;
      error: string;
      phases: { teardown: { flushes: { invlpg: number } } };
    };
    expect(row.outOfMemory).toBe(true);
    expect(row.error).toMatch(/^out of memory: (pages|contiguous|malloc)/);
    // Giving the pages back unmaps them: invlpg in the teardown phase.
    expect(row.phases.teardown.flushes.invlpg).toBeGreaterThan(0);
  });
});

describe("--out", () => {
  it("writes one HTML page, one SVG per figure and the rows; bars scale with the values", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mm386-exp-out-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const { status, out, err } = await run(
      "spaces",
      ...SMALL,
      "--tlb",
      "unbounded,2:2:lru",
      "--out",
      dir,
    );
    expect(status).toBe(0);
    expect(out).toContain("design");
    expect(err).toContain("report.html");
    const files = readdirSync(dir).sort();
    expect(files).toContain("report.html");
    expect(files).toContain("walks.svg");
    expect(files).toContain("rows.jsonl");
    const html = readFileSync(join(dir, "report.html"), "utf8");
    // Self-contained: no script, no link to anything.
    expect(html).not.toMatch(/<script|<link|src=/);
    expect(html.match(/<svg /g)?.length).toBe(files.filter((f) => f.endsWith(".svg")).length);
    const rows = readFileSync(join(dir, "rows.jsonl"), "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { walks: number });
    const svg = readFileSync(join(dir, "walks.svg"), "utf8");
    const widths = [...svg.matchAll(/<rect x="\d+" y="[\d.]+" width="([\d.]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(widths).toHaveLength(2);
    // The larger value gets the full 360-unit bar, the other its share.
    const max = Math.max(...rows.map((r) => r.walks));
    rows.forEach((r, i) => expect(widths[i]).toBeCloseTo((r.walks / max) * 360, 0));
  });
});
