/**
 * The TLB conformance property can fail, and its counterexamples shrink to a
 * few steps a person can read: sequences have no minimum length, so
 * fast-check can drop every step that does not matter.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tlbModelProperty } from "../src/conformance.js";
import { SetAssociativeTlb, UnboundedTlb } from "../src/index.js";

describe("the TLB model property", () => {
  it("catches a TLB whose flushNonGlobal drops global entries too, in <= 5 steps", () => {
    // The planted bug: a CR3 load that forgets the kernel's global pages.
    class Forgetful extends UnboundedTlb {
      override flushNonGlobal(): number {
        return this.flushAll();
      }
    }
    const out = fc.check(
      tlbModelProperty(() => new Forgetful(), { unbounded: true }),
      {
        numRuns: 100,
        seed: 1,
      },
    );
    expect(out.failed).toBe(true);
    // Smallest story: insert a global page, flush non-global, (look it up).
    expect(out.counterexample![0].length).toBeLessThanOrEqual(5);
    const steps = out.counterexample![0] as { kind: string }[];
    expect(steps.some((o) => o.kind === "flushNonGlobal")).toBe(true);
  });

  it("catches an invlpg that ignores large pages, in <= 5 steps", () => {
    // The planted bug: invalidatePage drops only the exact page number, so a
    // 4 MiB entry covering the page survives.
    class ExactOnly extends SetAssociativeTlb {
      override invalidatePage(vpn: number): number {
        const before = this.entries().filter((e) => e.vpn === vpn).length;
        if (before === 0) return 0;
        return super.invalidatePage(vpn);
      }
    }
    const out = fc.check(
      tlbModelProperty(() => new ExactOnly({ entries: 16, ways: 4 }), { unbounded: false }),
      { numRuns: 200, seed: 3 },
    );
    expect(out.failed).toBe(true);
    expect(out.counterexample![0].length).toBeLessThanOrEqual(5);
  });
});
