import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { POLICIES, TraceError, generateTrace, parseTrace, runTrace } from "../src/index.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const pkg = fileURLToPath(new URL("..", import.meta.url));
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
  ])("refuses %s, naming the line", (_what, text, message) => {
    expect(() => parseTrace(text, "t.rep")).toThrow(TraceError);
    expect(() => parseTrace(text, "t.rep")).toThrow(message);
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
      expect(r.walks).toBeGreaterThan(0);
    }
  });

  it("computes utilization as peak payload over peak footprint (hand-worked)", () => {
    // One 4000-byte block: peak payload 4000; footprint = the control page + one 4-page chunk.
    const r = runTrace(parseTrace("8000\n1\n2\n1\na 0 4000\nf 0\n"), {
      policy: POLICIES.segregated,
      minTimeMs: 1,
    });
    expect(r.utilization).toBeCloseTo(4000 / (5 * 4096), 4);
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
  beforeAll(() => {
    execFileSync(process.execPath, [join(pkg, "../../node_modules/typescript/bin/tsc"), "-b", pkg]);
  }, 120_000);
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [join(pkg, "dist/bin/malloc-trace.js"), ...args], {
      encoding: "utf8",
    });

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
    writeFileSync(join(dir, "bad.rep"), "100\n2\n1\n1\nf 3\n");
    const r = cli([join(dir, "bad.rep")]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/bad.rep: line 5: id 3 is not below/);
    expect(cli([join(fixtures, "tiny.rep"), "--policy", "worst-fit"]).stderr).toMatch(
      /unknown policy "worst-fit"/,
    );
  });
});
