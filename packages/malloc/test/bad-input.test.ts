/**
 * Issue 10, item 9 (malloc's part): bad values and bad policies get a typed
 * MallocError with a code and a message naming the value, and leave the heap
 * and the pages under it as they were; running out of pages for the control
 * page is E_OUT_OF_MEMORY, not a bad argument.
 */
import fc from "fast-check";
import { Kvmalloc } from "@mm386/kvmalloc";
import { describe, expect, it } from "vitest";
import {
  Malloc,
  MallocError,
  POLICIES,
  type PlacementPolicy,
  type PolicyFactory,
  createStack,
} from "../src/index.js";

/** Runs of the property tests: small in `pnpm test`, deep with MM386_DEEP=1. */
const RUNS = process.env.MM386_DEEP ? 2000 : 60;

function stack() {
  const s = createStack({ ramBytes: 8 * 1024 * 1024 });
  return { ...s, kv: s.kv as Kvmalloc };
}

/** What a refused call must leave as it was: the pages kvmalloc holds and the free frames. */
function pagesOf(s: ReturnType<typeof stack>) {
  return {
    kvPages: s.kv.pages,
    kvAllocations: s.kv.allocations,
    // Kernel page tables made on the way stay (kvmalloc documents it): count
    // each as the frame it took, so that only pages the heap kept show up.
    free: s.allocators.physical.freePages + s.paging.kvpd.filter((t) => t !== null).length,
  };
}

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectCode(f: () => unknown, code: string, ...named: string[]): MallocError {
  const e = errorOf(f);
  expect(e, "not a MallocError").toBeInstanceOf(MallocError);
  const me = e as MallocError;
  expect(me.code).toBe(code);
  for (const n of named) expect(me.message).toContain(n);
  return me;
}

describe("new Malloc with a bad policy", () => {
  it.each([
    ["a number", 5, "policy 5 is not a function"],
    ["a policy's name", "segregated", 'policy "segregated" is not a function'],
    [
      "a policy object instead of its factory",
      POLICIES.segregated(),
      "policy an object is not a function",
    ],
    ["a BigInt", 7n, "policy 7n is not a function"],
    ["a Symbol", Symbol("fit"), "policy Symbol(fit) is not a function"],
  ])("%s: E_BAD_ARGUMENT naming it, and no page taken", (_what, policy, message) => {
    const s = stack();
    const before = pagesOf(s);
    expectCode(
      () => new Malloc(s.kv, { policy: policy as unknown as PolicyFactory }),
      "E_BAD_ARGUMENT",
      message,
    );
    expect(pagesOf(s)).toEqual(before);
  });

  it.each([
    [
      "Object (what `--policy constructor` used to find)",
      Object as unknown as PolicyFactory,
      "not a string",
    ],
    ["a factory of null", (() => null) as unknown as PolicyFactory, "returned null"],
    [
      "a policy without find",
      (() => ({ ...POLICIES.segregated(), find: undefined })) as unknown as PolicyFactory,
      "find is undefined, not a function",
    ],
    [
      "a policy asking for more than a page of control words",
      () => ({ ...POLICIES.segregated(), controlWords: 1025 }),
      "controlWords 1025",
    ],
    [
      "a factory that throws",
      () => {
        throw new Error("no policy today");
      },
      "no policy today",
    ],
  ])("%s: E_BAD_ARGUMENT, and no page taken", (_what, policy, message) => {
    const s = stack();
    const before = pagesOf(s);
    expectCode(() => new Malloc(s.kv, { policy }), "E_BAD_ARGUMENT", message);
    expect(pagesOf(s)).toEqual(before);
  });

  it("a policy whose attach throws: the first region (control words) goes back to kvmalloc", () => {
    const s = stack();
    const before = pagesOf(s);
    const boom = new Error("attach failed");
    const throwing = (): PlacementPolicy => ({
      ...POLICIES.segregated(),
      name: "throws on attach",
      attach() {
        throw boom;
      },
    });
    const e = expectCode(
      () => new Malloc(s.kv, { policy: throwing }),
      "E_BAD_ARGUMENT",
      "attach failed",
    );
    expect(e.cause).toBe(boom);
    expect(pagesOf(s)).toEqual(before);
    // And the pages are really usable: a good heap still builds and works.
    const h = new Malloc(s.kv);
    h.free(h.malloc(100)!);
    h.check();
  });
});

describe("new Malloc on full memory", () => {
  it("is E_OUT_OF_MEMORY (not E_BAD_ARGUMENT) and takes nothing", () => {
    const s = stack();
    const held: number[] = [];
    for (let va = s.kv.kvmalloc(1); va !== null; va = s.kv.kvmalloc(1)) held.push(va);
    expect(held.length).toBeGreaterThan(0);
    const before = pagesOf(s);
    expectCode(() => new Malloc(s.kv), "E_OUT_OF_MEMORY", "control words");
    expect(pagesOf(s)).toEqual(before);
    // One page back is enough for the heap: its control words and its first
    // blocks share it. Once that page is full, the heap cannot grow, which is
    // the ordinary out-of-memory result: null.
    s.kv.kvfree(held.pop()!, 1);
    const h = new Malloc(s.kv);
    const got: number[] = [];
    for (let p = h.malloc(64); p !== null; p = h.malloc(64)) got.push(p);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length * 68).toBeLessThan(4096);
    h.check();
  });
});

describe("bad values to malloc, calloc, realloc and free", () => {
  // Everything here is refused by every call: not an integer in [0, 2^32), or not a number at all.
  const bad = fc.oneof(
    fc.constantFrom<unknown>(NaN, Infinity, -Infinity, -1, 0.5, 2 ** 32, 2 ** 53, -0.25),
    fc.bigInt().map((b) => b as unknown),
    fc.string().map((t) => t as unknown),
    fc.constantFrom<unknown>(null, undefined, true, false, {}, [], Symbol("s"), () => 1),
    fc.double({ noInteger: true }).map((d) => d as unknown),
  );
  /** How each value must be named in the message. */
  const named = (v: unknown): string =>
    typeof v === "bigint"
      ? `${v}n`
      : typeof v === "string"
        ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)
        : typeof v === "symbol"
          ? v.toString()
          : typeof v === "number"
            ? String(v)
            : "";

  it("is E_BAD_ARGUMENT naming the value, and changes nothing", () => {
    const s = stack();
    const h = s.heap as Malloc;
    const a = h.malloc(40)!;
    const b = h.malloc(5000)!;
    h.free(h.malloc(24)!);
    const snapshot = () => ({ dump: h.dump(), stats: h.stats, ...pagesOf(s) });
    const before = snapshot();
    fc.assert(
      fc.property(bad, (v) => {
        const x = v as number;
        // 2^32 is a fine pointer to refuse as E_NOT_ALLOCATED for free/realloc, so sizes only there.
        const sizeCalls: [string, () => unknown][] = [
          ["malloc", () => h.malloc(x)],
          ["calloc n", () => h.calloc(x, 4)],
          ["calloc size", () => h.calloc(4, x)],
          ["realloc size", () => h.realloc(a, x)],
          ["realloc size of a large block", () => h.realloc(b, x)],
        ];
        const pointerCalls: [string, () => unknown][] = [
          ["free", () => h.free(x)],
          ["realloc pointer", () => h.realloc(x, 8)],
        ];
        for (const [what, call] of sizeCalls) {
          const e = expectCode(call, "E_BAD_ARGUMENT", named(v));
          expect(e.message, what).toMatch(/E_BAD_ARGUMENT: /);
        }
        if (!Number.isSafeInteger(v))
          for (const [, call] of pointerCalls) expectCode(call, "E_BAD_ARGUMENT", named(v));
        expect(snapshot()).toEqual(before);
      }),
      { numRuns: RUNS },
    );
    h.free(a);
    h.free(b);
    h.check();
  });

  it("names a BigInt, a string and a number differently", () => {
    const h = stack().heap as Malloc;
    expect(errorOf(() => h.malloc(10n as unknown as number))).toHaveProperty(
      "message",
      expect.stringContaining("size 10n "),
    );
    expect(errorOf(() => h.malloc("10" as unknown as number))).toHaveProperty(
      "message",
      expect.stringContaining('size "10" '),
    );
    expect(errorOf(() => h.free("16" as unknown as number))).toHaveProperty(
      "message",
      expect.stringContaining('free("16")'),
    );
  });
});
