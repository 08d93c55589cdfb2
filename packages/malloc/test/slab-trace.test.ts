/**
 * Issue 14: `malloc-trace --heap slab` runs the traces on kmalloc, and the
 * trace driver validates kmalloc on the fixtures (overlap and payload checked
 * on every operation).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseTrace, runTrace } from "../src/index.js";
import { slabHeap } from "../src/slab/index.js";
import { mallocTrace } from "./run-cli.js";

const pkg = fileURLToPath(new URL("..", import.meta.url));
const fixtures = join(pkg, "test/fixtures");

describe("kmalloc on the trace fixtures", () => {
  for (const f of ["tiny.rep", "coalesce.rep", "realloc-grow.rep", "gen-mixed-1.rep"])
    it(`${f}: valid, with the footprint counted`, () => {
      const t = parseTrace(readFileSync(join(fixtures, f), "utf8"), f);
      const r = runTrace(t, { stack: { malloc: slabHeap }, minTimeMs: 0 });
      expect(r.error).toBeUndefined();
      expect(r.valid).toBe(true);
      expect(r.policy).toBe("kmalloc (slab)");
      expect(r.utilization).toBeGreaterThan(0);
      expect(r.utilization).toBeLessThanOrEqual(1);
    });
});

describe("malloc-trace --heap", () => {
  const cli = mallocTrace;

  it("slab: one JSON line per trace, named after kmalloc", () => {
    const r = cli([join(fixtures, "tiny.rep"), "--heap", "slab", join(fixtures, "coalesce.rep")]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.trace, l.policy, l.valid])).toEqual([
      ["tiny.rep", "kmalloc (slab)", true],
      ["coalesce.rep", "kmalloc (slab)", true],
    ]);
  });

  it("the default heap stays the default, and --heap malloc names it", () => {
    for (const args of [[], ["--heap", "malloc"]]) {
      const r = cli([join(fixtures, "tiny.rep"), ...args]);
      expect(r.status).toBe(0);
      expect((JSON.parse(r.stdout) as { policy: string }).policy).toBe("segregated fits");
    }
  });

  it("refuses an unknown heap, and a policy or 16-byte alignment with the slab, on stderr with status 2", () => {
    const cases: [string[], RegExp][] = [
      [["--heap", "buddy"], /unknown heap "buddy"/],
      [["--heap", "slab", "--policy", "first-fit"], /--heap slab takes no --policy/],
      [["--heap", "slab", "--align", "16"], /aligns to 8/],
    ];
    for (const [args, message] of cases) {
      const r = cli([join(fixtures, "tiny.rep"), ...args]);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
    }
  });
});
