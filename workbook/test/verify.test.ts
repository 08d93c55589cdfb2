/**
 * Curriculum CI (`pnpm workbook verify`, run by `pnpm test`): every
 * exercise's checks pass on the reference and fail on the untouched starter.
 */
import { describe, expect, it } from "vitest";
import { verify } from "../src/cli.js";

describe("pnpm workbook verify", () => {
  it("every exercise passes on the reference implementation and fails on its starter", () => {
    const lines: string[] = [];
    const code = verify({ out: (l) => lines.push(l), err: (l) => lines.push(l), color: false });
    expect(lines.join("\n")).toContain("curriculum verified");
    expect(lines.filter((l) => l.startsWith("ok "))).toHaveLength(8);
    expect(code).toBe(0);
  }, 300_000);
});
