/**
 * The design conformance suite can fail: a design that forgets to flush the
 * TLB is caught by its model property, with a counterexample a person can read.
 */
import { createMachine } from "@mm386/hw-i386";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { designModelProperty } from "../src/conformance.js";
import { startPaging } from "../src/index.js";

describe("the design model property", () => {
  it("catches a design that never invalidates a TLB entry, in a few steps", () => {
    const forgetful = () => {
      const p = startPaging(createMachine({ ramBytes: 32 * 1024 * 1024 }));
      // A kernel whose invlpg does nothing: a remap leaves the old translation cached.
      p.mmu.invlpg = () => {};
      return p;
    };
    const out = fc.check(designModelProperty(forgetful), { numRuns: 200, seed: 42 });
    expect(out.failed).toBe(true);
    expect(out.counterexample![0].length).toBeLessThanOrEqual(6);
    expect(String(out.errorInstance)).toMatch(/raw read|read of kernel/);
    // Labelled and in hex, as a person reads page tables (not vitest's decimals).
    expect(String(out.errorInstance)).toMatch(
      /read of [a-z ]*0x[0-9a-f]{8}[a-z ]*: expected (0x[0-9a-f]{8}|fault), got (0x[0-9a-f]{8}|fault)/,
    );
  });

  it("catches a design whose switch does not reload CR3", () => {
    const sticky = () => {
      const p = startPaging(createMachine({ ramBytes: 32 * 1024 * 1024 }));
      const switchTo = p.switchTo.bind(p);
      // Bookkeeping moves, CR3 stays: the MMU keeps reading the old address space.
      p.switchTo = (pd) => {
        const cr3 = p.mmu.cr3;
        switchTo(pd);
        p.mmu.loadCr3(cr3);
      };
      return p;
    };
    const out = fc.check(designModelProperty(sticky), { numRuns: 200, seed: 7 });
    expect(out.failed).toBe(true);
  });
});
