import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, afterAll, onTestFinished, beforeAll } from "vitest";
import { Malloc, POLICIES, TraceError, generateTrace, parseTrace, runTrace } from "../src/index.js";
import { mallocTrace } from "./run-cli.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const read = (name: string) => readFileSync(join(fixtures, name), "utf8");

describe("parseTrace", () => {
  it("reads the header and the operations", () => {
    const t = parseTrace(read("tiny.rep"), "tiny.rep");
    expect([t.heapSize, t.ids, t.weight, t.ops.length]).toEqual([20000, 3, 1, 5]);
    expect(t.ops[2]).toEqual({ kind: "r", id: 0, size: 640, line: 7 });
    expect(t.ops[3]).toEqual({ kind: "f", id: 1, line: 8 });
  });

  it.each([
    ["an unknown id", "100\n2\n1\n1\na 5 10\n", /line 5: id 5 is not below the header's 2 ids/],
    [
      "a free of an id that is not allocated",
      "100\n2\n2\n1\na 0 10\nf 1\n",
      /line 6: f 1: id 1 is not allocated/,
    ],
    ["an unknown operation", "100\n2\n1\n1\nx 0 10\n", /line 5: unknown operation "x"/],
    ["a bad size", "100\n2\n1\n1\na 0 ten\n", /line 5: size "ten"/],
    ["a short header", "100\n2\n", /header needs 4 lines/],
    [
      "a wrong operation count",
      "100\n2\n3\n1\na 0 10\nf 0\n",
      /header says 3 operations, the trace has 2/,
    ],
    [
      "an id allocated twice",
      "100\n2\n2\n1\na 0 10\na 0 20\n",
      /line 6: a 0: id 0 is allocated already/,
    ],
    // Issue 10, item 8: realloc to 0 frees, so the id is free afterwards.
    [
      "a free after a realloc to 0",
      "100\n1\n3\n1\na 0 10\nr 0 0\nf 0\n",
      /line 7: f 0: id 0 is not allocated/,
    ],
    [
      "a realloc after a realloc to 0",
      "100\n1\n3\n1\na 0 10\nr 0 0\nr 0 8\n",
      /line 7: r 0: id 0 is not allocated/,
    ],
    // Issue 10, item 3: a header that declares 10^10 ids was a RangeError.
    [
      "10^10 ids",
      "100\n10000000000\n1\n1\na 0 10\n",
      /line 2: number of ids 10000000000 is too large \(at most 2147483647, a C int\)/,
    ],
    [
      "a header number past 2^53",
      "100\n2\n99999999999999999999\n1\na 0 10\n",
      /line 3: number of operations 99999999999999999999 is too large/,
    ],
  ])("refuses %s, naming the line", (_what, text, message) => {
    expect(() => parseTrace(text, "t.rep")).toThrow(TraceError);
    expect(() => parseTrace(text, "t.rep")).toThrow(message);
  });

  it("reads the two-line header of some public copies (ids, operations) as the four-line one", () => {
    const body = "a 0 10\na 1 20\nf 0\nr 1 25\nf 1\n";
    const short = parseTrace(`2\n5\n${body}`, "short.rep");
    const long = parseTrace(`999\n2\n5\n1\n${body}`, "long.rep");
    // The same operations, two lines earlier in the file.
    expect(short.ops.map(({ line, ...op }) => ({ ...op, line: line + 2 }))).toEqual(long.ops);
    expect([short.ids, short.weight]).toEqual([2, 1]);
    // Its suggested heap size is its largest live payload (10, 30, 20, 25, 0 bytes live),
    // not its largest request (25).
    expect(short.heapSize).toBe(30);
    expect(runTrace(short, { policy: POLICIES.segregated, minTimeMs: 1 }).valid).toBe(true);
  });

  it.each([
    ["a two-line header with a wrong count", "2\n3\na 0 10\nf 0\n", /header says 3 operations/],
    [
      "a three-line header",
      "100\n2\n2\na 0 10\nf 0\n",
      /line 4: weight must be a non-negative integer, got "a 0 10"/,
    ],
    ["two header lines and no operation", "2\n0\n", /header needs 4 lines .* or 2 .*found 2/],
    // A two-line header's numbers are named as what they are there.
    [
      "a two-line header with too many ids",
      "2147483648\n1\na 0 1\n",
      /line 1: number of ids 2147483648 is too large/,
    ],
    [
      "a two-line header with a bad count",
      "\n2\n\nx\na 0 1\n",
      /line 4: number of operations must be a non-negative integer, got "x"/,
    ],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parseTrace(text, "t.rep")).toThrow(message);
  });

  it("declares up to 2^31 - 1 ids without a table that size", () => {
    const t = parseTrace("100\n2147483647\n2\n1\na 2147483646 10\nf 2147483646\n");
    expect(t.ids).toBe(2 ** 31 - 1);
    expect(runTrace(t, { policy: POLICIES.segregated, minTimeMs: 1 }).valid).toBe(true);
  });

  it("takes realloc to 0 as a free: the id can be allocated again (issue 10, item 8)", () => {
    const t = parseTrace("100\n1\n4\n1\na 0 10\nr 0 0\na 0 20\nf 0\n", "reuse.rep");
    expect(t.ops.map((o) => o.kind)).toEqual(["a", "r", "a", "f"]);
    const r = runTrace(t, { policy: POLICIES.segregated, minTimeMs: 1 });
    expect(r.valid, r.error).toBe(true);
  });
});

describe("generateTrace", () => {
  it("is deterministic for a seed, and parses", () => {
    expect(generateTrace({ seed: 9, ops: 300 })).toBe(generateTrace({ seed: 9, ops: 300 }));
    expect(generateTrace({ seed: 9, ops: 300 })).not.toBe(generateTrace({ seed: 10, ops: 300 }));
    const t = parseTrace(generateTrace({ seed: 9, ops: 300 }));
    expect(t.ops.length).toBeGreaterThanOrEqual(300);
    // Every id allocated is freed by the end.
    const live = new Set<number>();
    for (const op of t.ops) {
      if (op.kind === "a") live.add(op.id);
      if (op.kind === "f") live.delete(op.id);
    }
    expect(live.size).toBe(0);
  });
});

describe("runTrace", () => {
  it.each(Object.entries(POLICIES))("runs every fixture validly with %s", (_name, policy) => {
    for (const f of ["tiny.rep", "coalesce.rep", "realloc-grow.rep", "gen-mixed-1.rep"]) {
      const r = runTrace(parseTrace(read(f), f), { policy, minTimeMs: 1 });
      expect(r.valid, `${f}: ${r.error}`).toBe(true);
      expect(r.opsPerSec).toBeGreaterThan(0);
      expect(r.mmuAccesses).toBeGreaterThan(r.ops);
      // A small trace stays on pages the constructor touched, so only a big one must walk.
      if (f.startsWith("gen-")) expect(r.walks).toBeGreaterThan(0);
    }
  });

  it("computes utilization as peak payload over peak footprint (hand-worked)", () => {
    // One 4072-byte block: peak payload 4072. With its magic and header
    // (8 bytes) it fills a page but for 16 bytes (less than 1/64), so it
    // gets a page of its own, and the first region (one page: magic and
    // control words), empty, goes back before: one page at the peak.
    const r = runTrace(parseTrace("8000\n1\n2\n1\na 0 4072\nf 0\n"), {
      policy: POLICIES.segregated,
      minTimeMs: 1,
    });
    expect(r.utilization).toBeCloseTo(4072 / 4096, 4);
    // 3950 bytes leave 138 (more than 1/64 of a page, 64): a region block
    // of 3960 bytes, which starts at byte 160 of the first region (after
    // the magic and segregated fits' 37 control words): 4120 bytes, two pages.
    const s = runTrace(parseTrace("8000\n1\n2\n1\na 0 3950\nf 0\n"), {
      policy: POLICIES.segregated,
      minTimeMs: 1,
    });
    expect(s.utilization).toBeCloseTo(3950 / (2 * 4096), 4);
  });

  it("tracks ids by use, not by the header's count: a hand-built trace with id 10^10 runs", () => {
    const id = 9_999_999_999;
    const trace = {
      name: "sparse",
      heapSize: 100,
      ids: 10_000_000_000,
      weight: 1,
      ops: [
        { kind: "a", id, size: 24, line: 5 },
        { kind: "r", id, size: 100, line: 6 },
        { kind: "f", id, line: 7 },
      ],
    } as const;
    const r = runTrace(trace, { policy: POLICIES.segregated, minTimeMs: 1 });
    expect(r.valid, r.error).toBe(true);
  });

  it("reports a realloc to 0 that hands back a pointer as invalid", () => {
    // HeapAllocator.realloc(bp, 0) frees and returns null; this one keeps a block.
    const r = runTrace(parseTrace("8000\n1\n2\n1\na 0 100\nr 0 0\n"), {
      stack: {
        malloc: (kv) => {
          const h = new Malloc(kv);
          return {
            name: "keeps a block",
            malloc: (n) => h.malloc(n),
            free: (bp) => h.free(bp),
            realloc: (bp, n) => (n === 0 ? h.realloc(bp, 1) : h.realloc(bp, n)),
          };
        },
      },
      minTimeMs: 1,
    });
    expect(r.valid).toBe(false);
    expect(r.error).toMatch(/line 6: realloc of id 0 to 0 returned \d+, not null/);
  });

  it("reports an allocator that breaks the rules as invalid", () => {
    // A policy that hands out the same free block twice makes two live blocks overlap.
    const broken = () => {
      const p = POLICIES.segregated();
      return { ...p, name: "broken", remove: () => {} };
    };
    const r = runTrace(parseTrace("8000\n2\n4\n1\na 0 100\na 1 100\nf 0\nf 1\n"), {
      policy: broken,
      minTimeMs: 1,
    });
    expect(r.valid).toBe(false);
    expect(r.error).toMatch(/line 6|overlap|E_CORRUPT/);
  });
});

describe("the malloc-trace command", () => {
  const cli = mallocTrace;

  it("prints one JSON line per trace with the required keys", () => {
    const r = cli([
      join(fixtures, "tiny.rep"),
      join(fixtures, "coalesce.rep"),
      "--policy",
      "first-fit",
    ]);
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    for (const key of [
      "trace",
      "policy",
      "ops",
      "opsPerSec",
      "utilization",
      "mmuAccesses",
      "tlbMisses",
      "walks",
      "valid",
    ]) {
      expect(lines[0]).toHaveProperty(key);
    }
    expect(lines.map((l) => l.trace)).toEqual(["tiny.rep", "coalesce.rep"]);
    expect(lines[0]!.policy).toBe("address-ordered first fit");
  });

  it("names the line of a malformed trace and exits 2 with nothing on stdout", () => {
    const dir = mkdtempSync(join(tmpdir(), "trace-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "bad.rep"), "100\n2\n1\n1\nf 3\n");
    const r = cli([join(dir, "bad.rep")]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/bad.rep: line 5: id 3 is not below/);
    expect(cli([join(fixtures, "tiny.rep"), "--policy", "worst-fit"]).stderr).toMatch(
      /unknown policy "worst-fit"/,
    );
  });

  // Issue 10, item 3: each of these printed a stack trace.
  describe("refuses, in one line naming the bad value, exit 2, nothing on stdout", () => {
    // Named now (the table below needs it), made only if one of these tests runs.
    const dir = join(tmpdir(), `trace-${process.pid}-${Math.random().toString(36).slice(2)}`);
    beforeAll(() => {
      mkdirSync(dir);
      writeFileSync(join(dir, "ids.rep"), "100\n10000000000\n2\n1\na 0 10\nf 0\n");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it.each([
      [
        "a directory",
        [dir],
        new RegExp(`cannot read ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: EISDIR`),
      ],
      [
        "--policy toString",
        [join(fixtures, "tiny.rep"), "--policy", "toString"],
        /unknown policy "toString"/,
      ],
      [
        "--policy constructor",
        [join(fixtures, "tiny.rep"), "--policy", "constructor"],
        /unknown policy "constructor"/,
      ],
      [
        "--policy __proto__",
        [join(fixtures, "tiny.rep"), "--policy", "__proto__"],
        /unknown policy "__proto__"/,
      ],
      [
        "a header with 10^10 ids",
        [join(dir, "ids.rep")],
        /ids.rep: line 2: number of ids 10000000000 is too large/,
      ],
      ["a file that does not exist", [join(dir, "nope.rep")], /cannot read .*nope.rep: ENOENT/],
      // The helper puts --time 1 first; a later --time wins.
      ["--time 0", [join(fixtures, "tiny.rep"), "--time", "0"], /--time .* got "0"/],
      ["--time 1.5", [join(fixtures, "tiny.rep"), "--time", "1.5"], /--time .* got "1.5"/],
      ["--time 60001", [join(fixtures, "tiny.rep"), "--time", "60001"], /--time .* got "60001"/],
    ])("%s", (_what, args, message) => {
      const r = cli(args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^malloc-trace: [^\n]*\n$/);
    });
  });

  it("with no trace file: the usage on stderr, nothing on stdout, status 2", () => {
    const r = cli([]);
    expect([r.status, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toMatch(/^usage: malloc-trace FILE\.\.\./);
  });

  it("prints the usage on stdout and exits 0 for --help", () => {
    const r = cli(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: malloc-trace FILE\.\.\./);
    expect(r.stderr).toBe("");
  });
});
