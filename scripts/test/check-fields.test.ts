/**
 * The class-field check must fail on a field without an initialiser and pass on
 * every form that gives V8 the field's first real value, in throwaway trees.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { checkFields } from "../check-fields.mjs";

/** A tree with one package whose src/a.ts is `text`. */
function tree(text: string): string {
  const root = mkdtempSync(join(tmpdir(), "fields-"));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "packages", "p", "src"), { recursive: true });
  mkdirSync(join(root, "packages", "no-src"), { recursive: true });
  writeFileSync(join(root, "packages", "p", "src", "a.ts"), text);
  return root;
}

const repo = fileURLToPath(new URL("../..", import.meta.url));
const script = fileURLToPath(new URL("../check-fields.mjs", import.meta.url));

describe("check-fields", () => {
  it("passes on this repository", () => {
    expect(checkFields(repo)).toEqual([]);
  });

  it("reports a constructor-set field without an initialiser, with its file, line and class", () => {
    const root = tree(
      "export class Heap {\n  n = 0;\n  private readonly mmu: object;\n  constructor(m: object) {\n    this.mmu = m;\n  }\n}\n",
    );
    const problems = checkFields(root);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^packages\/p\/src\/a\.ts:3: Heap\.mmu has no initialiser/);
  });

  it("reports fields of nested and anonymous classes too", () => {
    const root = tree(
      "export const f = () => class {\n  x: number;\n  constructor() { this.x = 1; }\n};\n",
    );
    expect(checkFields(root)).toEqual([expect.stringContaining("(anonymous class).x")]);
  });

  it("passes declared, initialised, abstract, static and #private fields", () => {
    const root = tree(
      [
        "export abstract class A {",
        "  declare readonly mmu: object;",
        "  declare private n?: number;",
        "  count = 0;",
        "  abstract readonly name: string;",
        "  static instances: number;",
        "  #secret: number;",
        "  constructor() { this.mmu = {}; this.#secret = 1; }",
        "}",
        "export interface I { readonly x: number; }",
      ].join("\n"),
    );
    expect(checkFields(root)).toEqual([]);
  });

  it("answers a root without packages/ or an unknown option with one line and status 2", () => {
    const empty = mkdtempSync(join(tmpdir(), "fields-empty-"));
    onTestFinished(() => rmSync(empty, { recursive: true, force: true }));
    for (const args of [[empty], ["--strict"], [repo, repo]]) {
      const r = spawnSync(process.execPath, [script, ...args], { encoding: "utf8" });
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr).toContain(args.at(-1)!); // the value it refuses
    }
  });

  it("exits 1 and names the field on a tree with a bare field, 0 on a clean one", () => {
    const bad = spawnSync(process.execPath, [script, tree("class A {\n  x: number;\n}\n")], {
      encoding: "utf8",
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("A.x has no initialiser");
    const good = spawnSync(process.execPath, [script, tree("class A {\n  x = 1;\n}\n")], {
      encoding: "utf8",
    });
    expect(good.status).toBe(0);
  });
});
