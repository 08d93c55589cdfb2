/**
 * The exercise list is data: these checks keep every entry honest, so that
 * adding one (a design that branches off the main line) is one entry and a
 * folder.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as allocation from "@mm386/allocation";
import * as buddy from "@mm386/buddy";
import * as hw from "@mm386/hw-i386";
import * as kvmalloc from "@mm386/kvmalloc";
import * as malloc from "@mm386/malloc";
import * as paging from "@mm386/paging";
import * as allocationLinux from "@mm386/allocation/linux";
import * as slab from "@mm386/malloc/slab";
import * as pagingLinux from "@mm386/paging/linux";
import * as whitix from "@mm386/paging/whitix";
import { describe, expect, it } from "vitest";
import { EXERCISES, exerciseDir, plantedFiles } from "../src/exercises.js";

const libraryExports = new Set(
  [
    allocation,
    buddy,
    hw,
    kvmalloc,
    malloc,
    paging,
    allocationLinux,
    slab,
    pagingLinux,
    whitix,
  ].flatMap((m) => Object.keys(m)),
);

describe("EXERCISES", () => {
  it("numbers the exercises 1..n in order, each using only earlier ones", () => {
    EXERCISES.forEach((e, i) => {
      expect(e.n).toBe(i + 1);
      for (const k of e.uses) expect(k, `exercise ${e.n} uses ${k}`).toBeLessThan(e.n);
      expect(e.points).toBeGreaterThan(0);
    });
  });

  it("has a folder with the lesson, hints, starter, reference and checks for each", () => {
    for (const e of EXERCISES)
      for (const f of ["README.md", "hints.md", "starter.ts", "reference.ts", "check.test.ts"])
        expect(existsSync(join(exerciseDir(e), f)), `${e.slug}/${f}`).toBe(true);
  });

  it("each README lists the interface it implements and what the checks require beyond the lesson", () => {
    for (const e of EXERCISES) {
      const readme = readFileSync(join(exerciseDir(e), "README.md"), "utf8");
      expect(readme, e.slug).toMatch(/^## The interface you implement$/m);
      expect(readme, e.slug).toMatch(/^## What the checks require that the lesson does not say$/m);
      // Every relative link and every packages/... path it names exists.
      for (const [, link] of readme.matchAll(/\]\((?!https?:)([^)#]+)\)/g))
        expect(existsSync(join(exerciseDir(e), link!)), `${e.slug}: ${link}`).toBe(true);
      for (const [, path] of readme.matchAll(/`(packages\/[\w./-]+\.ts)`/g))
        expect(
          existsSync(join(exerciseDir(e), "..", "..", "..", path!)),
          `${e.slug}: ${path}`,
        ).toBe(true);
    }
  });

  it("hints go from the idea to the code: titled, and the first one names things but writes no code", () => {
    for (const e of EXERCISES) {
      const hints = readFileSync(join(exerciseDir(e), "hints.md"), "utf8")
        .split(/^## /m)
        .slice(1);
      expect(hints.length, e.slug).toBeGreaterThanOrEqual(2);
      for (const h of hints) expect(h, e.slug).toMatch(/^Hint \d+: \S/);
      const first = hints[0]!;
      expect(first, `${e.slug}: a code block in hint 1`).not.toContain("```");
      for (const [, span] of first.matchAll(/`([^`]+)`/g))
        expect(span, `${e.slug}: code in hint 1`).not.toMatch(/[=;{]/);
    }
  });

  it("refuses only names the library packages really export", () => {
    for (const e of EXERCISES) {
      expect(e.forbidden.length, e.slug).toBeGreaterThan(0);
      for (const name of e.forbidden)
        expect(libraryExports.has(name), `${e.slug}: ${name}`).toBe(true);
    }
  });

  it("plants at least one typical wrong version for every layer", () => {
    for (const e of EXERCISES) expect(plantedFiles(e).length, e.slug).toBeGreaterThan(0);
  });
});
