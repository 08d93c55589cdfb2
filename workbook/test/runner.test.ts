/**
 * What a student sees when the checks fail for reasons other than a wrong
 * answer, run through the real runner (a vitest child process) on exercise 1
 * with hand-written broken solutions: a syntax error (the offending line,
 * no colour codes), console output (kept with the test that printed it), an
 * import of the reference's own code (refused, the import named), and an
 * endless loop (stopped by the per-exercise timeout).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { exercise } from "../src/exercises.js";
import { type CheckRun, runChecks } from "../src/runner.js";

// Inside the workbook, so that the files resolve @mm386/* as a solution does.
const dir = fileURLToPath(new URL(`./.tmp-runner-${process.pid}/`, import.meta.url));
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = `import type { PageWalkExercise } from "../../src/exercise-api.js";\n`;
function solution(name: string, body: string): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `${header}${body}\n`);
  return file;
}

const e1 = exercise(1)!;
const run = (id: string, file: string): CheckRun => ({
  id,
  exercise: e1,
  impl: "solution",
  file,
  layers: [],
});

describe("runChecks on broken solutions", () => {
  it("reports a syntax error with its line, console output with its test, and a refused import", async () => {
    const [syntax, logs, refused] = await runChecks([
      run(
        "syntax",
        solution(
          "syntax",
          `export const walk: PageWalkExercise["walk"] = () => {\n  return { ok: false, errorCode: 0 +; };\n};`,
        ),
      ),
      run(
        "logs",
        solution(
          "logs",
          `export const walk: PageWalkExercise["walk"] = (_r, _g, va) => {\n  console.log("walking", va.toString(16));\n  return { ok: false, errorCode: 0 };\n};`,
        ),
      ),
      run(
        "refused",
        solution(
          "refused",
          `import { explainWalk as ew } from "@mm386/hw-i386";\nexport const walk: PageWalkExercise["walk"] = () => { void ew; return { ok: false, errorCode: 0 }; };`,
        ),
      ),
    ]);
    expect(syntax!.failed).toBe(1);
    expect(syntax!.failures[0]!.name).toBe("loading the checks of exercise 1");
    expect(syntax!.failures[0]!.message).toContain("errorCode: 0 +;"); // the offending line itself
    expect(syntax!.failures[0]!.message).not.toContain("\u001b[");

    expect(logs!.failed).toBeGreaterThan(0);
    const readme = logs!.failures.find((f) => f.name.includes("README's picture"))!;
    expect(readme.logs).toEqual(["walking c0001234"]);

    expect(refused!.passed).toBe(0);
    expect(refused!.failures[0]!.message).toContain('line 2: `explainWalk` from "@mm386/hw-i386"');
  }, 120_000);

  it("stops an endless loop after the timeout and says so", async () => {
    const [loop] = await runChecks(
      [
        run(
          "loop",
          solution(
            "loop",
            `export const walk: PageWalkExercise["walk"] = () => {\n  for (;;);\n};`,
          ),
        ),
      ],
      // Short: the loop spins a core until the watchdog stops it.
      { timeoutMs: 1500 },
    );
    expect(loop!.timedOut).toBe(true);
    expect(loop!.failures[0]!.message).toContain("stopped after 1.5 s");
  }, 120_000);
});
