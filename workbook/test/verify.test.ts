/**
 * Curriculum CI (`pnpm workbook verify`, run by `pnpm test`): every
 * exercise's checks pass on the reference, fail on the untouched starter,
 * and fail on each planted wrong version of its layer (never coalesces,
 * forgets invlpg, ignores `min`, leaks on OOM, syncs only the current
 * pagedir, ...). One vitest child process runs all of them.
 */
import { describe, expect, it } from "vitest";
import { verify } from "../src/cli.js";
import { EXERCISES, plantedFiles } from "../src/exercises.js";

describe("pnpm workbook verify", () => {
  it("passes every reference, and catches every starter and every planted wrong version", async () => {
    const lines: string[] = [];
    const code = await verify(
      { out: (l) => lines.push(l), err: (l) => lines.push(l), color: false },
      // A fifth of the property runs (what must fail and did not is run again in full).
      { quick: true },
    );
    const text = lines.join("\n");
    expect(text).toContain("curriculum verified");
    expect(lines.filter((l) => /^ok +\d+\. /.test(l))).toHaveLength(EXERCISES.length);
    const planted = EXERCISES.flatMap(plantedFiles);
    // At least two typical mistakes per layer, except the boot (being redesigned).
    expect(planted.length).toBeGreaterThanOrEqual(14);
    expect(lines.filter((l) => /^ok +planted .*: caught by/.test(l))).toHaveLength(planted.length);
    expect(code, text).toBe(0);
  }, 600_000);
});
