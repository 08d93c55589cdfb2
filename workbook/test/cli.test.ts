/**
 * The CLI's commands that need no vitest run (list, hint, reset, quiz, usage
 * errors), on a throwaway copy of the exercises and a throwaway progress file.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const tmp = mkdtempSync(join(tmpdir(), "mm386-cli-"));
const exercises = join(tmp, "exercises");
cpSync(fileURLToPath(new URL("../exercises", import.meta.url)), exercises, {
  recursive: true,
  filter: (src) => !src.endsWith("solution.ts") && !/\.bak(\.\d+)?$/.test(src),
});
process.env.MM386_EXERCISES_DIR = exercises;
process.env.MM386_PROGRESS = join(tmp, "progress.json");
const { main } = await import("../src/cli.js");
const { EXERCISES } = await import("../src/exercises.js");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), color: false });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("pnpm workbook (list)", () => {
  it("creates each solution.ts from its starter and lists every exercise with a progress bar", async () => {
    const { code, out } = await run();
    expect(code).toBe(0);
    expect(out).toContain(`[------------------------] 0/${EXERCISES.length} exercises done`);
    expect(out.match(/^ {1,3}\d+ {2}to do/gm)).toHaveLength(EXERCISES.length);
    expect(out.includes("\u001b[")).toBe(false); // plain text when colour is off
    const starter = readFileSync(join(exercises, "03-buddy/starter.ts"), "utf8");
    expect(readFileSync(join(exercises, "03-buddy/solution.ts"), "utf8")).toBe(starter);
  });

  it("counts done exercises and marks edited ones as started", async () => {
    writeFileSync(process.env.MM386_PROGRESS!, JSON.stringify({ done: [1, 2], hints: {} }));
    writeFileSync(join(exercises, "03-buddy/solution.ts"), "// my work\n");
    const { out } = await run("list");
    expect(out).toContain(`[####--------------------] 2/${EXERCISES.length} exercises done`);
    expect(out).toMatch(/ 1 {2}done/);
    expect(out).toMatch(/ 3 {2}started/);
    expect(out).toContain("next: read workbook/exercises/03-buddy/README.md");
  });

  it("survives a malformed progress file, keeping what can be read and saying so", async () => {
    for (const bad of [
      "{not json",
      "null",
      "[1, 2]",
      JSON.stringify({ done: "all", hints: null }),
      JSON.stringify({ done: [1, "2", 99], hints: { "2": -1, "3": "x", "1": 2 } }),
    ]) {
      writeFileSync(process.env.MM386_PROGRESS!, bad);
      const listed = await run("list");
      expect(listed.code, bad).toBe(0);
      expect(listed.err, bad).toContain("note:");
      const hinted = await run("hint", "1");
      expect(hinted.code, bad).toBe(0);
    }
    // From the last one, exercise 1 was kept as done and its 2 hints shown (then one more).
    const progress = JSON.parse(readFileSync(process.env.MM386_PROGRESS!, "utf8")) as {
      done: number[];
      hints: Record<string, number>;
    };
    expect(progress).toEqual({ done: [1], hints: { "1": 3 } });
  });
});

describe("pnpm workbook hint N", () => {
  it("shows the next hint each time, then stays on the last", async () => {
    const hints = readFileSync(join(exercises, "02-tlb/hints.md"), "utf8").split(/^## /m).slice(1);
    expect(hints.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    for (let i = 0; i < hints.length + 1; i++) seen.push((await run("hint", "2")).out);
    hints.forEach((h, i) => {
      const body = h.split("\n").slice(1).join("\n").trim();
      expect(seen[i]).toContain(body.split("\n")[0]!);
      expect(seen[i]).toMatch(new RegExp(`^Exercise 2, hint ${i + 1} of ${hints.length}`));
      expect(seen[i]).not.toContain("##");
    });
    expect(seen[hints.length]).toContain("that was the last hint");
  });
});

describe("pnpm workbook reset N", () => {
  it("puts the starter back, keeps every old file in a numbered backup, and forgets progress and hints", async () => {
    writeFileSync(process.env.MM386_PROGRESS!, JSON.stringify({ done: [3], hints: { "3": 2 } }));
    writeFileSync(join(exercises, "03-buddy/solution.ts"), "// my work\n");
    const { code, out } = await run("reset", "3");
    expect(code).toBe(0);
    expect(out).toContain("solution.ts.bak.1");
    expect(readFileSync(join(exercises, "03-buddy/solution.ts"), "utf8")).toBe(
      readFileSync(join(exercises, "03-buddy/starter.ts"), "utf8"),
    );
    expect(readFileSync(join(exercises, "03-buddy/solution.ts.bak.1"), "utf8")).toBe(
      "// my work\n",
    );
    // Reset twice: the starter is not worth a backup, and the first backup is untouched.
    const again = await run("reset", "3");
    expect(again.out).not.toContain(".bak");
    expect(readdirSync(join(exercises, "03-buddy")).filter((f) => f.includes(".bak"))).toEqual([
      "solution.ts.bak.1",
    ]);
    // New work, reset again: a second backup, the first still there.
    writeFileSync(join(exercises, "03-buddy/solution.ts"), "// second try\n");
    expect((await run("reset", "3")).out).toContain("solution.ts.bak.2");
    expect(readFileSync(join(exercises, "03-buddy/solution.ts.bak.1"), "utf8")).toBe(
      "// my work\n",
    );
    const progress = JSON.parse(readFileSync(process.env.MM386_PROGRESS!, "utf8")) as {
      done: number[];
      hints: Record<string, number>;
    };
    expect(progress).toEqual({ done: [], hints: {} });
  });
});

describe("pnpm workbook quiz", () => {
  it("gives the same question for the same seed, and the answer only with --solve", async () => {
    const a = await run("quiz", "--seed", "42");
    const b = await run("quiz", "--seed", "42");
    expect(a.out).toBe(b.out);
    expect(a.out).toContain("seed 42");
    expect(a.out).not.toContain("Answer");
    const kind = /Question \((\w+), seed 42\)/.exec(a.out)![1];
    expect(a.out).toContain(`pnpm workbook quiz --seed 42 --kind ${kind} --solve`);
    const solved = await run("quiz", "--seed", "42", "--solve");
    expect(solved.out.startsWith(a.out.split("\n\n")[0]!)).toBe(true);
    expect(solved.out).toContain("Answer");
    const other = await run("quiz", "--seed", "43", "--kind", "buddy");
    expect(other.out).toContain("Question (buddy, seed 43)");
  });

  it("prints an answer command that repeats every flag that shaped the question", async () => {
    const q = await run(
      "quiz",
      "--kind",
      "malloc",
      "--seed",
      "5",
      "--ops",
      "4",
      "--sizes",
      "8,100",
    );
    const cmd = /answer: pnpm workbook quiz (.*)/.exec(q.out)![1]!;
    expect(cmd).toBe("--seed 5 --kind malloc --ops 4 --sizes 8,100 --solve");
    const solved = await run("quiz", ...cmd.split(" "));
    // The same question: the solved output starts with the question as first printed.
    expect(solved.out.startsWith(q.out.split("\n\n")[0]!)).toBe(true);
    const t = await run("quiz", "--kind", "tlb", "--seed", "1", "--entries", "8", "--ways", "2");
    expect(t.out).toContain("--seed 1 --kind tlb --entries 8 --ways 2 --solve");
    expect(t.out).toContain("A TLB of 8 entries, 2-way");
  });

  it("window and directmap: the answer command repeats --window, --ram and --page-offset", async () => {
    const w = await run("quiz", "--kind", "window", "--seed", "9", "--window", "0");
    const wcmd = /answer: pnpm workbook quiz (.*)/.exec(w.out)![1]!;
    expect(wcmd).toBe("--seed 9 --kind window --window 0 --solve");
    expect(w.out).toContain("PDE 0 points at the directory itself");
    const ws = await run("quiz", ...wcmd.split(" "));
    expect(ws.out.startsWith(w.out.split("\n\n")[0]!)).toBe(true);
    expect(ws.out).toMatch(/^answer: (the (PTE|PDE) of|PTE at) 0x[0-9a-f]{8}/m);
    const d = await run(
      "quiz",
      "--kind",
      "directmap",
      "--seed",
      "2",
      "--ram",
      "1024",
      "--page-offset",
      "0x80000000",
    );
    const dcmd = /answer: pnpm workbook quiz (.*)/.exec(d.out)![1]!;
    expect(dcmd).toBe("--seed 2 --kind directmap --ram 1024 --page-offset 0x80000000 --solve");
    expect(d.out).toContain("boots with 1024 MiB of RAM; PAGE_OFFSET is 0x80000000");
    const ds = await run("quiz", ...dcmd.split(" "));
    // PAGE_OFFSET 2 GiB: MAXMEM is 1920 MiB, so all 1024 MiB are low memory.
    expect(ds.out).toContain("answer 1: 1024 MiB; high_memory = 0xc0000000;");
  });

  it("refuses a bad --window, --ram or --page-offset, naming the value", async () => {
    for (const [argv, message] of [
      [
        ["--kind", "window", "--window", "1024"],
        '--window must be a PDE index 0..1023, got "1024"',
      ],
      [["--kind", "directmap", "--ram", "8"], "ram 8 MiB must be 16..3840"],
      [["--kind", "directmap", "--page-offset", "0xc0400000"], 'got "0xc0400000"'],
    ] as const) {
      const r = await run("quiz", ...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toContain(message);
      expect(r.out).toBe("");
    }
  });
});

describe("bad input", () => {
  it("exits 2 with a message naming the bad value and the usage", async () => {
    for (const [argv, message] of [
      [
        ["hint", String(EXERCISES.length + 1)],
        `expected an exercise number 1-${EXERCISES.length}, got "${EXERCISES.length + 1}"`,
      ],
      [["hint"], "got nothing"],
      [["reset"], "got nothing"],
      [["frobnicate"], 'unknown command "frobnicate"'],
      [["check", "--reference", "x"], 'got "x"'],
      [["quiz", "--seed=-1"], `got "-1"`],
      [["quiz", "--kind", "slab"], 'got "slab"'],
      [["quiz", "--ops", "0"], 'got "0"'],
      [["quiz", "--kind", "malloc", "--sizes", "8,x"], 'got "x"'],
      [
        ["quiz", "--kind", "tlb", "--entries", "6", "--ways", "4"],
        "entries 6 must be a multiple of ways 4",
      ],
      [["list", "--nope"], "--nope"],
      [["list", "extra"], 'unexpected argument "extra"'],
      [["check", "1", "2"], 'unexpected argument "2"'],
      [["hint", "1x"], 'got "1x"'],
    ] as const) {
      const r = await run(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toContain(message);
      expect(r.err).toContain("usage: pnpm workbook");
    }
  });
});

describe("the score table", () => {
  it("lines up the points of every exercise, long titles too, and totals them", async () => {
    const { scoreTable } = await import("../src/cli.js");
    const out: string[] = [];
    scoreTable(
      { out: (l) => out.push(l), err: () => {}, color: false },
      EXERCISES.map((exercise) => ({
        run: { id: `t-${exercise.n}`, exercise, impl: "reference", layers: [] },
        exercise,
        passed: 3,
        failed: 0,
        failures: [],
        timedOut: false,
        printed: [],
      })),
    );
    const rows = out.filter((l) => /\d+\/\d+/.test(l));
    expect(rows).toHaveLength(EXERCISES.length + 1);
    const columns = new Set(rows.map((l) => l.search(/\d\/\d+(\s|$)/)));
    expect(columns.size, rows.join("\n")).toBe(1);
    const points = EXERCISES.reduce((a, e) => a + e.points, 0);
    expect(rows.at(-1)).toMatch(new RegExp(`total\\s+${points}/${points}$`));
  });
});

describe("the score of check", () => {
  it("exercise 8: n/a for an invalid run, else utilisation, cost and the malloc lab's index", async () => {
    const { scoreLine } = await import("../src/cli.js");
    const { EXERCISES } = await import("../src/exercises.js");
    const e = EXERCISES[7]!;
    const base = {
      run: { id: "x", exercise: e, impl: "solution" as const, layers: [] },
      exercise: e,
      passed: 1,
      failed: 0,
      failures: [],
      timedOut: false,
      printed: [],
    };
    const reference = { utilization: 0.8, accessesPerOp: 40 };
    const invalid = scoreLine({
      ...base,
      score: { valid: false, utilization: 0, accessesPerOp: 0, reference },
    })!;
    expect(invalid).toContain("n/a");
    expect(invalid).not.toMatch(/0\.0\b/);
    // Hand-worked: 60 x 0.5 + 40 x min(1, 40 / 80) = 30 + 20 = 50; the reference 60 x 0.8 + 40 = 88.
    const valid = scoreLine({
      ...base,
      score: { valid: true, utilization: 0.5, accessesPerOp: 80, reference },
    })!;
    expect(valid).toContain("utilisation 0.500 (reference 0.800)");
    expect(valid).toContain("80.0 MMU accesses per operation (reference 40.0)");
    expect(valid).toContain("index 50.0");
    expect(valid).toContain("(reference 88.0)");
  });
});
