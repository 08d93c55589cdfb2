/**
 * Sessions and URLs: stepping back is replaying (the state after going back
 * equals the state first reached going forward), the tour shows what its
 * text promises (hand-worked: a user read of 0x40000000 faults with error
 * code 4 and CR2 0x40000000), and bad input is refused with a code, naming
 * the value, changing nothing.
 */
import { expectCode } from "@mm386/hw-i386/testing";
import { designNames } from "@mm386/malloc";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DEFAULT_LOCATION,
  SCENARIOS,
  Session,
  VIEWER_ERROR,
  formatLocation,
  parseLocation,
} from "@mm386/viewer";
import { timelineLines } from "@mm386/viewer/dom";

const deep = process.env["MM386_DEEP"] === "1";

describe("Session", () => {
  test("going back gives the state first reached going forward (every step under MM386_DEEP=1)", () => {
    const s = new Session({ scenario: "tour" });
    const seen: string[] = [JSON.stringify(s.view())];
    while (s.forward()) seen.push(JSON.stringify(s.view()));
    expect(s.failure).toBeNull();
    // Each step back replays from boot, so checking all of them costs n^2 steps: a few by default.
    const checks = deep ? [...seen.keys()].reverse() : [s.steps.length - 1, 9, 5, 0];
    for (const n of checks) {
      s.goTo(n);
      expect(s.step).toBe(n);
      expect(JSON.stringify(s.view())).toBe(seen[n]);
    }
    expect(s.back()).toBe(false);
  });

  test("the tour's fault, stale entry, invlpg and CR3 load are where its labels say", () => {
    const s = new Session({ scenario: "tour" });
    const at = (label: RegExp) => s.steps.findIndex((st) => label.test(st.label)) + 1;
    s.goTo(at(/a TLB hit/));
    expect(s.events.filter((e) => e.step === s.step).map((e) => [e.event.type, e.count])).toEqual([
      ["tlb-hit", 1],
    ]);
    s.goTo(at(/page fault/));
    const fault = s.events.filter((e) => e.step === s.step && e.event.type === "fault");
    expect(fault.map((e) => e.event)).toEqual([
      { type: "fault", va: 0x4000_0000, errorCode: 4, cr2: 0x4000_0000 },
    ]);
    s.goTo(at(/stale entry still hits/));
    expect(
      s
        .view()
        .tlb.entries.filter((e) => e.stale)
        .map((e) => e.vpn),
    ).toEqual([0x08048]);
    s.goTo(at(/^invlpg/));
    expect(s.view().tlb.entries.filter((e) => e.stale)).toEqual([]);
    const before = s.view().cr3;
    s.goTo(at(/switch to it/));
    expect(s.view().cr3).not.toBe(before);
    expect(
      s.events.some(
        (e) => e.step === s.step && e.event.type === "flush" && e.event.reason === "cr3",
      ),
    ).toBe(true);
    expect(s.failure).toBeNull();
  });

  test("the same seed gives the same workload; another seed another one", () => {
    const labels = (seed: number) =>
      new Session({ scenario: "workload", seed }).steps.map((s) => s.label);
    expect(labels(7)).toEqual(labels(7));
    expect(labels(7)).not.toEqual(labels(8));
    const s = new Session({ scenario: "workload", seed: 7 });
    s.goTo(s.steps.length);
    expect(s.failure).toBeNull();
  });

  test("every design and scenario runs to the end without a failed step", () => {
    for (const design of designNames())
      for (const scenario of Object.keys(SCENARIOS)) {
        const s = new Session({ design, scenario });
        s.goTo(s.steps.length);
        expect(s.failure, `${design} ${scenario}`).toBeNull();
      }
  });

  test("bad options are refused naming the value", () => {
    expectCode(() => new Session({ design: "nonesuch" }), VIEWER_ERROR.BAD_ARGUMENT, {
      message: /"nonesuch"/,
    });
    expectCode(() => new Session({ scenario: "x" }), VIEWER_ERROR.BAD_ARGUMENT, { message: /"x"/ });
    for (const seed of [0, -1, 1.5, 2 ** 32, NaN])
      expectCode(() => new Session({ seed }), VIEWER_ERROR.BAD_ARGUMENT, { message: /seed/ });
  });

  test("a bad step changes nothing", () => {
    const s = new Session();
    s.goTo(3);
    const before = JSON.stringify(s.view());
    for (const n of [-1, 1.5, s.steps.length + 1, NaN])
      expectCode(() => s.goTo(n), VIEWER_ERROR.BAD_ARGUMENT, { message: /step/ });
    expect(s.step).toBe(3);
    expect(JSON.stringify(s.view())).toBe(before);
  });
});

describe("URL", () => {
  test("a bare URL is the default; a full one reads back", () => {
    expect(parseLocation("")).toEqual(DEFAULT_LOCATION);
    expect(parseLocation("?design=hobby&scenario=workload&seed=9&step=12&pde=32")).toEqual({
      design: "hobby",
      scenario: "workload",
      seed: 9,
      step: 12,
      pde: 32,
    });
  });

  test("format then parse is the identity", () => {
    fc.assert(
      fc.property(
        fc.record({
          design: fc.string(),
          scenario: fc.string(),
          seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          step: fc.integer({ min: 0, max: 1_000_000 }),
          pde: fc.option(fc.integer({ min: 0, max: 1023 })),
        }),
        (loc) => {
          expect(parseLocation(formatLocation(loc))).toEqual(loc);
        },
      ),
      { numRuns: deep ? 5000 : 100 },
    );
  });

  test("a number that is not one is refused naming it", () => {
    for (const q of ["?seed=abc", "?step=-1", "?step=1e3", "?pde=1024", "?seed=4294967296"])
      expectCode(() => parseLocation(q), VIEWER_ERROR.BAD_ARGUMENT, {
        message: new RegExp(q.slice(1).split("=")[0]!),
      });
  });
});

describe("the timeline", () => {
  test("a step's TLB hits are one line; every other event is its own line", () => {
    const s = new Session({ scenario: "tour" });
    s.goTo(s.steps.length);
    const lines = timelineLines(s.events);
    const nonHits = s.events.filter((e) => e.event.type !== "tlb-hit");
    expect(lines.filter((l) => l.type !== "tlb-hit")).toHaveLength(nonHits.length);
    const stepsWithHits = new Set(
      s.events.filter((e) => e.event.type === "tlb-hit").map((e) => e.step),
    );
    expect(
      lines
        .filter((l) => l.type === "tlb-hit")
        .map((l) => l.step)
        .sort((a, b) => a - b),
    ).toEqual([...stepsWithHits].sort((a, b) => a - b));
    // The tour's step 5 is exactly one hit, on 0x08048000.
    expect(lines.find((l) => l.step === 5 && l.type === "tlb-hit")!.text).toBe(
      "1 TLB hit on 1 page (0x08048000)",
    );
    expect(lines.find((l) => l.type === "fault" && l.step === 6)!.text).toBe(
      "#PF error 4 (not present, read, user) CR2=0x40000000",
    );
  });
});
