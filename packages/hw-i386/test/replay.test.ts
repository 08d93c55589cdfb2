import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { ReplayInputError, parseReplay } from "../src/replay.js";
import { replayMain } from "../src/replay-cli.js";

const fixtures = fileURLToPath(new URL("./fixtures/replay/", import.meta.url));

function run(file: string, ...more: string[]) {
  let stdout = "";
  let stderr = "";
  const status = replayMain([file, ...more], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { status, stdout, stderr, file };
}

/** How many times `part` occurs in `text`. */
const occurrences = (text: string, part: string) => text.split(part).length - 1;

function runJson(json: unknown) {
  const dir = mkdtempSync(join(tmpdir(), "replay-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "case.json");
  writeFileSync(file, typeof json === "string" ? json : JSON.stringify(json));
  return run(file);
}

describe("replay golden files (outputs checked by hand, see the cases' comments in docs)", () => {
  const cases = readdirSync(fixtures).filter((f) => f.endsWith(".json"));
  it("has golden files", () => expect(cases.length).toBeGreaterThanOrEqual(3));
  it.each(cases)("%s", (name) => {
    const got = run(join(fixtures, name));
    expect(got.stderr).toBe("");
    expect(got.status).toBe(0);
    expect(got.stdout).toBe(
      readFileSync(join(fixtures, name.replace(/\.json$/, ".golden.jsonl")), "utf8"),
    );
  });
});

describe("replay bad input: one message naming the case and step, nothing on stdout, status 2", () => {
  const good = { name: "c", cr3: "0x1000", steps: [{ op: "read", cpl: 0, vaddr: 0, size: 4 }] };
  const withStep = (step: object) => ({ ...good, steps: [good.steps[0], step] });
  it.each([
    ["JSON that does not parse", "{ nope", /not valid JSON/],
    ["an unknown op", withStep({ op: "jump", vaddr: 0 }), /case "c", step 1: unknown op "jump"/],
    [
      "size 3",
      withStep({ op: "read", cpl: 0, vaddr: 0, size: 3 }),
      /case "c", step 1: "size" must be 1, 2 or 4, got 3/,
    ],
    [
      "a missing field",
      withStep({ op: "write", cpl: 0, vaddr: 0, size: 4 }),
      /case "c", step 1: missing field "value"/,
    ],
    [
      "an address past 4 GiB",
      withStep({ op: "read", cpl: 0, vaddr: "0x100000000", size: 1 }),
      /step 1: "vaddr" "0x100000000" is past 4 GiB/,
    ],
    [
      "a bad CPL",
      withStep({ op: "read", cpl: 1, vaddr: 0, size: 1 }),
      /"cpl" must be 0 or 3, got 1/,
    ],
    [
      "a value too wide for the size",
      withStep({ op: "write", cpl: 0, vaddr: 0, size: 1, value: 256 }),
      /"value" 256 is not below 0x00000100/,
    ],
    ["a missing cr3", { name: "c", steps: [] }, /case "c": missing field "cr3"/],
    ["a case without a name", [good, { cr3: 0, steps: [] }], /case #1: missing field "name"/],
    [
      "a write run past 4 GiB",
      { ...good, writes: [{ paddr: "0xfffffffc", u32: [1, 2] }] },
      /writes\[0\]: the words run past 4 GiB/,
    ],
    // Issue 10, item 9: JSON.parse makes 1e400 Infinity, which JSON.stringify printed as null.
    [
      "a number too large for a double",
      '{"name":"c","cr3":0,"steps":[{"op":"read","cpl":0,"vaddr":1e400,"size":4}]}',
      /step 0: "vaddr" must be a non-negative integer, got Infinity$/m,
    ],
    [
      "a negative number too large for a double",
      '{"name":"c","cr3":-1e400,"steps":[]}',
      /case "c": "cr3" must be a non-negative integer, got -Infinity$/m,
    ],
    [
      "a size too large for a double",
      '{"name":"c","cr3":0,"steps":[{"op":"read","cpl":0,"vaddr":0,"size":1e400}]}',
      /"size" must be 1, 2 or 4, got Infinity$/m,
    ],
  ])("%s", (_what, input, message) => {
    const got = runJson(input);
    expect(got.status).toBe(2);
    expect(got.stdout).toBe("");
    expect(got.stderr).toMatch(message);
    expect(got.stderr.trim().split("\n")).toHaveLength(1);
    // Issue 10, item 9: the JSON error named the file twice.
    expect(occurrences(got.stderr, got.file), got.stderr).toBe(1);
    expect(got.stderr.startsWith(`mmu-replay: ${got.file}: `)).toBe(true);
  });

  it("reports a file that cannot be read, naming it once", () => {
    const got = run("/nonexistent/case.json");
    expect(got.status).toBe(2);
    expect(got.stderr).toMatch(/^mmu-replay: cannot read \/nonexistent\/case.json: ENOENT/);
    expect(occurrences(got.stderr, "/nonexistent/case.json")).toBe(1);
  });

  it("refuses values JSON cannot hold with a ReplayInputError, not a TypeError", () => {
    for (const cr3 of [10n, Symbol("cr3"), () => 0]) {
      let caught: unknown;
      try {
        parseReplay({ name: "c", cr3, steps: [] });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ReplayInputError);
    }
    expect(() => parseReplay({ name: "c", cr3: 10n, steps: [] })).toThrow(/got 10n$/);
  });

  it("prints the usage on stdout and exits 0 for --help and -h; no file is status 2", () => {
    for (const flag of ["--help", "-h"]) {
      const got = run(flag);
      expect(got.status).toBe(0);
      expect(got.stdout).toMatch(/^usage: mmu-replay FILE/);
      expect(got.stderr).toBe("");
    }
    let stderr = "";
    expect(replayMain([], { stdout: () => undefined, stderr: (t) => (stderr += t) })).toBe(2);
    expect(stderr).toMatch(/^usage: mmu-replay FILE/);
    expect(run("a.json", "b.json").status).toBe(2);
  });
});

describe("the mmu-replay command on the golden case", () => {
  // The bin only hands replayMain the process's argv and streams (src/bin/mmu-replay.ts).
  it("prints one JSON line per step, exactly the golden file, and exits 0", () => {
    const r = run(join(fixtures, "basic.json"));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(fixtures, "basic.golden.jsonl"), "utf8"));
    for (const line of r.stdout.trim().split("\n"))
      expect(() => JSON.parse(line) as unknown).not.toThrow();
  });
});
