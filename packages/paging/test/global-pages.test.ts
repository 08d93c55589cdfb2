/**
 * Global pages and address spaces (issue 10, item 2). With CR4.PGE on, a
 * translation whose PTE has G survives CR3 loads; a global *user* page of one
 * address space would stay readable at CPL 3 in the next one, even after it is
 * unmapped, its space destroyed and its frame freed and reused. mapMem refuses
 * PTE_GLOBAL on user addresses, and the property below checks the invariant
 * itself against a plain model of each space's mappings.
 */
import fc from "fast-check";
import { CR4, createMachine, type Machine, PageFault } from "@mm386/hw-i386";
import { describe, expect, it } from "vitest";
import {
  PTE_GLOBAL as G,
  PTE_PRESENT as P,
  PTE_USER as U,
  PTE_WRITE as W,
  type Pagedir,
  type Paging,
  PagingError,
  startPaging,
} from "../src/index.js";

/** Time limit of the long property tests: a minute, or an hour for the deep run (MM386_DEEP=1). */
const DEEP_TIMEOUT = process.env.MM386_DEEP ? 3_600_000 : 60_000;

const MiB = 1024 * 1024;
const PAGES = [0x0040_0000, 0x0040_1000, 0x0080_0000, 0xbfff_f000];

function pgeMachine(): { m: Machine; p: Paging } {
  const m = createMachine({ ramBytes: 16 * MiB });
  const p = startPaging(m);
  m.mmu.loadCr4(m.mmu.cr4 | CR4.PGE);
  return { m, p };
}

/** What a CPL 3 read of `va` gives now: the word read, or "fault". */
function userRead(m: Machine, va: number): number | "fault" {
  try {
    return m.mmu.read32(va, 3);
  } catch (e) {
    if (e instanceof PageFault) return "fault";
    throw e;
  }
}

/** A tag no page table or directory holds at offset 0 of a frame: the frame's address with a marker. */
const tag = (frame: number) => (frame | 0xa5a) >>> 0;

describe("global pages", () => {
  it("mapMem refuses PTE_GLOBAL on a user address with E_GLOBAL_ON_USER, changing nothing", () => {
    const { m, p } = pgeMachine();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!.start;
    const state = () => [
      p.formatDump(as),
      p.allocators.physical.freePages,
      p.allocators.kernel.freePages,
      m.mmu.stats.flushes,
      as.vpde.filter((v) => v !== null).length,
    ];
    const before = state();
    let err: unknown;
    try {
      p.mapMem(as, f, 0x0040_0000, 1, P | U | W | G);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PagingError);
    expect((err as PagingError).code).toBe("E_GLOBAL_ON_USER");
    expect((err as Error).message).toMatch(/0x00400000/);
    expect(state()).toEqual(before);
    // A supervisor-only global page at a user address is refused too: the kernel half is the only shared part.
    expect(() => p.mapMem(as, f, 0x0040_0000, 1, P | G)).toThrow(/E_GLOBAL_ON_USER/);
    // Unmapping with G in the flags maps nothing, so it is not refused.
    expect(p.mapMem(as, 0, 0x0040_0000, 1, G)).toBe(true);
    // Kernel pages may be global: they are the same in every address space.
    expect(p.mapMem(null, f, 0xd000_0000, 1, P | W | G)).toBe(true);
  });

  type Op =
    | { kind: "create" }
    | { kind: "map"; space: number; page: number; frame: number; global: boolean }
    | { kind: "unmap"; space: number; page: number }
    | { kind: "switch"; space: number }
    | { kind: "destroy"; space: number }
    | { kind: "ppfree"; frame: number }
    | { kind: "invlpg"; page: number };

  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: "create" as const }) },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("map" as const),
        space: fc.nat(),
        page: fc.nat({ max: PAGES.length - 1 }),
        frame: fc.nat(),
        global: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("unmap" as const),
        space: fc.nat(),
        page: fc.nat({ max: PAGES.length - 1 }),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("switch" as const), space: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("destroy" as const), space: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("ppfree" as const), frame: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("invlpg" as const),
        page: fc.nat({ max: PAGES.length - 1 }),
      }),
    },
  );

  it(
    "with CR4.PGE on, CPL 3 never reads a frame its current address space does not map",
    () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 10, maxLength: 60 }), (ops) => {
          const { m, p } = pgeMachine();
          // The model: each live space's user pages -> frame. No TLB in it: that is the point.
          const spaces: { pd: Pagedir; map: Map<number, number> }[] = [
            { pd: p.init, map: new Map() },
          ];
          let current = spaces[0]!;
          const held: number[] = []; // frames this test took with ppalloc (tagged)
          const newFrame = (): number | null => {
            const run = p.allocators.ppalloc(1, 1);
            if (run === null) return null;
            m.ram.write32(run.start, tag(run.start)); // physical write: a tag to recognise the frame by
            held.push(run.start);
            return run.start;
          };
          for (const o of ops) {
            if (o.kind === "create") {
              const pd = p.createAddressSpace();
              if (pd !== null) spaces.push({ pd, map: new Map() });
            } else if (o.kind === "map") {
              const s = spaces[o.space % spaces.length]!;
              // Half the time a frame already held (shared or remapped), else a fresh one (maybe a reused frame).
              const frame =
                o.frame % 2 === 0 && held.length > 0 ? held[o.frame % held.length]! : newFrame();
              if (frame === null) continue;
              const va = PAGES[o.page]!;
              try {
                if (p.mapMem(s.pd, frame, va, 1, P | U | W | (o.global ? G : 0)))
                  s.map.set(va, frame);
              } catch (e) {
                if (!(e instanceof PagingError) || e.code !== "E_GLOBAL_ON_USER") throw e;
              }
            } else if (o.kind === "unmap") {
              const s = spaces[o.space % spaces.length]!;
              const va = PAGES[o.page]!;
              p.mapMem(s.pd, 0, va, 1, 0);
              s.map.delete(va);
            } else if (o.kind === "switch") {
              current = spaces[o.space % spaces.length]!;
              p.switchTo(current.pd);
            } else if (o.kind === "destroy") {
              const s = spaces[o.space % spaces.length]!;
              if (s === current || s.pd === p.init) continue;
              p.destroyAddressSpace(s.pd);
              spaces.splice(spaces.indexOf(s), 1);
            } else if (o.kind === "ppfree") {
              if (held.length === 0) continue;
              const frame = held.splice(o.frame % held.length, 1)[0]!;
              // A correct kernel unmaps a frame everywhere before freeing it; mapMem invlpgs in the current space.
              for (const s of spaces)
                for (const [va, f] of s.map)
                  if (f === frame) {
                    p.mapMem(s.pd, 0, va, 1, 0);
                    s.map.delete(va);
                  }
              p.allocators.ppfree(frame, 1);
            } else {
              m.mmu.invlpg(PAGES[o.page]!);
            }
            for (const va of PAGES) {
              const frame = current.map.get(va);
              expect(userRead(m, va), `CPL 3 read of ${va.toString(16)} after ${o.kind}`).toBe(
                frame === undefined ? "fault" : tag(frame),
              );
            }
          }
        }),
        { numRuns: process.env.MM386_DEEP ? 1000 : 40 },
      );
    },
    DEEP_TIMEOUT,
  );
});
