/**
 * Test helpers shared by every mm386 package's tests, conformance suites and
 * fuzz suites, so that each package does not keep its own copy:
 *
 * ```ts
 * import { expectCode, expectFault, describeRefusals } from "@mm386/hw-i386/testing";
 * expectCode(() => buddy.free(3, 1), "E_NOT_ALLOCATED", { type: BuddyError, message: /3/ });
 * expectFault(() => mmu.read32(0x1000, 3), { cr2: 0x1000, errorCode: 0b100 });
 * ```
 *
 * This module imports nothing of the machine but its error classes, so it is
 * layer-free in spirit: scripts/check-deps.mjs lets the tests of every package,
 * buddy's included, import this entry point (and only this one) from hw-i386.
 *
 * Needs `vitest` and `fast-check` (peer dependencies of this entry point only).
 *
 * @module
 */
import fc from "fast-check";
import { assert, expect, it } from "vitest";
import { PageFault, showValue as showErrorValue } from "./errors.js";

/** What `f` threw; fails the test when it returned instead. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to throw, but it returned");
}

/**
 * The `code` of what `f` threw: `undefined` when it returned, and
 * `"no code: ..."` when it threw something without a string `code` (a plain
 * TypeError, say), so that comparing with an expected code fails readably.
 */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    return typeof code === "string" ? code : `no code: ${String(e)}`;
  }
  return undefined;
}

/** A class of errors, such as `BuddyError`, for {@link ExpectCodeOptions.type}. */
export interface ErrorClass {
  /** Makes an error of this class (any constructor arguments). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any constructor signature
  new (...args: any[]): Error;
}

/** Options of {@link expectCode}. */
export interface ExpectCodeOptions {
  /** The class the error must be an instance of (e.g. `BuddyError`). */
  readonly type?: ErrorClass;
  /** A pattern the message must match (e.g. the bad address in hex). */
  readonly message?: RegExp;
}

/**
 * Assert that `f` throws an error carrying `code` (and, if given, of class
 * `type` with a message matching `message`); returns the error.
 */
export function expectCode(f: () => unknown, code: string, options: ExpectCodeOptions = {}): Error {
  const e = thrown(f);
  if (options.type) expect(e).toBeInstanceOf(options.type);
  expect(e).toBeInstanceOf(Error);
  expect((e as { code?: unknown }).code).toBe(code);
  if (options.message) expect((e as Error).message).toMatch(options.message);
  return e as Error;
}

/**
 * The page fault `f` raised. Anything else it throws is re-thrown as is, and
 * returning normally fails the test.
 */
export function faultOf(f: () => unknown): PageFault {
  try {
    f();
  } catch (e) {
    if (e instanceof PageFault) return e;
    throw e;
  }
  throw new Error("expected a page fault");
}

/** What {@link expectFault} checks besides the class. */
export interface ExpectedFault {
  /** The faulting linear address (CR2). */
  readonly cr2?: number;
  /** The #PF error code (bit 0 protection, bit 1 write, bit 2 user). */
  readonly errorCode?: number;
}

/** Assert that `f` raises a page fault, with this CR2 and error code if given. */
export function expectFault(f: () => unknown, expected: ExpectedFault = {}): PageFault {
  const pf = faultOf(f);
  if (expected.cr2 !== undefined) expectHex(pf.cr2, expected.cr2, "CR2");
  if (expected.errorCode !== undefined)
    expect(pf.errorCode, `#PF error code at ${showWord(pf.cr2)}`).toBe(expected.errorCode);
  return pf;
}

/**
 * An address or a table entry the way failure messages show it: 8 hex
 * digits (`0x00201003`); anything else (a "fault" marker, null) as it is.
 */
export function showWord(v: unknown): string {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 32
    ? `0x${v.toString(16).padStart(8, "0")}`
    : String(v);
}

/**
 * Assert that an address or entry `got` is `want`; on a mismatch the
 * message is labelled and in hex, as a person reads page tables:
 * `PDE 0: expected 0x00201003, got 0x00000000` (vitest would print the
 * decimals 2101251 and 0).
 */
export function expectHex(got: unknown, want: unknown, label: string): void {
  if (!Object.is(got, want))
    assert.fail(`${label}: expected ${showWord(want)}, got ${showWord(got)}`);
}

// ---------------------------------------------------------------------------
// The fuzz harness: bad values into every public call, typed refusal, no change.

/**
 * True when the environment asks for the deep runs (`MM386_DEEP=1`): the
 * property and fuzz suites then try far more cases than in `pnpm test`.
 */
export function deepRun(): boolean {
  const v = typeof process === "undefined" ? undefined : process.env["MM386_DEEP"];
  return v !== undefined && v !== "" && v !== "0";
}

/**
 * How many runs a property test gets: `normal` in `pnpm test`, `deep` when
 * {@link deepRun}, and a fifth of `normal` (at least 3) when `MM386_QUICK=1`
 * asks for a quick pass. The workbook's curriculum CI runs each exercise's
 * checks on the reference that way inside `pnpm test`: the packages' own tests
 * have already run the same suites on the same code at the normal budget, and
 * what the reference run must show is that every check passes on it.
 */
export function propertyRuns(normal: number, deep: number): number {
  if (deepRun()) return deep;
  const q = typeof process === "undefined" ? undefined : process.env["MM386_QUICK"];
  return q === "1" ? Math.max(3, Math.ceil(normal / 5)) : normal;
}

/**
 * Every kind of value that is not a sane number, address or object handle:
 * NaN, the infinities, negatives, fractions, 2^32 and around, 2^53, numeric
 * strings, null, undefined, plain objects and arrays, an object whose
 * `valueOf` looks like a good number, BigInt, Symbol, booleans and a function.
 * A fuzz run always tries each of these, then random ones from {@link badValue}.
 */
export const BAD_VALUES: readonly unknown[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1,
  -4096,
  -0.5,
  0.5,
  4096.5,
  2 ** 31 + 0.5,
  2 ** 32,
  2 ** 32 + 4096,
  2 ** 53,
  -(2 ** 53),
  Number.MAX_VALUE,
  "4096",
  "",
  "0x1000",
  null,
  undefined,
  {},
  [],
  [4096],
  { valueOf: () => 4096 },
  4096n,
  0n,
  Symbol("bad"),
  true,
  false,
  () => 4096,
];

/** A short printable form of a bad value (Symbols and BigInts included); see errors.ts. */
export const showValue = showErrorValue;

/**
 * Random bad values: the fixed {@link BAD_VALUES}, any non-integer double,
 * negative integers, integers from 2^32 up to 2^53, strings, BigInts and
 * small objects.
 */
export function badValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...BAD_VALUES),
    fc.double().filter((d) => !Number.isInteger(d)),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
    fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }),
    fc.string(),
    fc.bigInt(),
    fc.object({ maxDepth: 1, maxKeys: 2 }),
  );
}

/** One public call for {@link describeRefusals}, with one bad argument. */
export interface FuzzCall<S> {
  /** Shown in the test name and in failures, e.g. `"alloc(n)"`. */
  readonly name: string;
  /** Make the call on `subject` with `bad` in the argument being fuzzed. */
  readonly call: (subject: S, bad: unknown) => unknown;
  /**
   * Values that are legal at this argument (e.g. a huge `max` for ppalloc,
   * which means "as many as fit"): those are not tried.
   */
  readonly accepts?: (bad: unknown) => boolean;
}

/** `MM386_FUZZ_SEED`, to rerun the random part of a failure with the seed it named. */
function envSeed(): number | undefined {
  const v = typeof process === "undefined" ? undefined : process.env["MM386_FUZZ_SEED"];
  return v === undefined || v === "" ? undefined : Number(v) | 0;
}

/** Options of {@link describeRefusals}. */
export interface RefusalOptions {
  /** Random bad values per call after the fixed ones (default 10, 500 with MM386_DEEP=1). */
  readonly runs?: number;
  /** The error codes must match this (default `E_` and capitals). */
  readonly codePattern?: RegExp;
  /** Seed of the random part (default: `MM386_FUZZ_SEED`, else a new one each run, named in failures). */
  readonly seed?: number;
}

/**
 * What one fuzz case did wrong, or null when it was refused properly: threw an
 * Error (not a plain TypeError or RangeError) with a string `code`, and left
 * the snapshot equal to what it was before.
 */
export function refusalProblem<S>(
  subject: S,
  snapshot: (subject: S) => unknown,
  call: FuzzCall<S>,
  bad: unknown,
  codePattern: RegExp = /^E_[A-Z0-9_]+$/,
): string | null {
  return refusalCase(subject, snapshot, snapshot(subject), call, bad, codePattern).problem;
}

/**
 * {@link refusalProblem} given the snapshot taken before the call; also
 * returns the one taken after it, which is the next case's "before" whenever
 * nothing changed (so a run takes one snapshot a case, not two).
 */
function refusalCase<S>(
  subject: S,
  snapshot: (subject: S) => unknown,
  before: unknown,
  call: FuzzCall<S>,
  bad: unknown,
  codePattern: RegExp = /^E_[A-Z0-9_]+$/,
): { problem: string | null; after: unknown } {
  let error: unknown;
  let returned = false;
  try {
    call.call(subject, bad);
    returned = true;
  } catch (e) {
    error = e;
  }
  const where = `${call.name} with ${showValue(bad)}`;
  let problem: string | null = null;
  if (returned) problem = `${where}: accepted (returned normally)`;
  else {
    const code = (error as { code?: unknown } | null)?.code;
    if (!(error instanceof Error)) problem = `${where}: threw a non-Error ${showValue(error)}`;
    else if (typeof code !== "string" || !codePattern.test(code))
      problem = `${where}: threw ${error.name} without an error code: ${error.message}`;
  }
  const after = snapshot(subject);
  if (!plainEqual(after, before)) {
    try {
      expect(after).toEqual(before);
    } catch {
      problem = `${problem ?? where}; and the state changed`;
    }
  }
  return { problem, after };
}

/**
 * True only when `a` and `b` are certainly equal in the sense of `toEqual`:
 * primitives that are `Object.is`, or plain arrays and objects with the same
 * keys whose values are so, all the way down. Anything else (a Map, a class
 * instance, a typed array, -0 against 0, a missing key against `undefined`)
 * answers false, and the caller asks `toEqual`. A fuzz run compares two
 * snapshots of page tables per bad value; `toEqual` on those was most of the
 * fuzz suites' time.
 */
function plainEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    if (
      Object.getPrototypeOf(a) !== Array.prototype ||
      Object.getPrototypeOf(b) !== Array.prototype
    )
      return false;
    for (let i = 0; i < a.length; i++)
      if (!(i in a) || !(i in b) || !plainEqual(a[i], b[i])) return false;
    return true;
  }
  const plain = (o: object) => {
    const proto: unknown = Object.getPrototypeOf(o);
    return proto === Object.prototype || proto === null;
  };
  if (Array.isArray(b) || !plain(a) || !plain(b)) return false;
  if (Object.getOwnPropertySymbols(a).length + Object.getOwnPropertySymbols(b).length > 0)
    return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  for (const k of ka) if (!Object.hasOwn(rb, k) || !plainEqual(ra[k], rb[k])) return false;
  return true;
}

/**
 * Register one test per call: each call gets every {@link BAD_VALUES} entry
 * and then random {@link badValue}s, on a subject from `setup`, and must
 * refuse each with a typed error carrying a code and change nothing that
 * `snapshot` sees. The subject is built once per test and rebuilt after a
 * case that changed it, so one bad case does not hide the next ones; every
 * problem found is reported at once.
 */
export function describeRefusals<S>(
  setup: () => S,
  snapshot: (subject: S) => unknown,
  calls: readonly FuzzCall<S>[],
  options: RefusalOptions = {},
): void {
  const runs = deepRun() ? Math.max(500, options.runs ?? 0) : (options.runs ?? 10);
  for (const c of calls) {
    it(`refuses bad values to ${c.name} with a typed error and no change`, () => {
      let subject = setup();
      // The state before a case is the state after the last one when that one changed
      // nothing; a snapshot reads every page table, so this halves the cost of a run.
      let before: unknown = snapshot(subject);
      const problems: string[] = [];
      const tryOne = (bad: unknown): void => {
        if (c.accepts?.(bad)) return;
        const r = refusalCase(subject, snapshot, before, c, bad, options.codePattern);
        before = r.after;
        if (r.problem === null) return;
        problems.push(r.problem);
        subject = setup();
        before = snapshot(subject);
      };
      for (const bad of BAD_VALUES) tryOne(bad);
      // Then random values, from a seed that a failure names so it can be rerun.
      const seed = options.seed ?? envSeed() ?? (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
      for (const bad of fc.sample(badValue(), { numRuns: runs, seed })) {
        if (problems.length >= 12) break;
        tryOne(bad);
      }
      const unique = [...new Set(problems)];
      // The list goes in the message, one problem a line, so that every
      // reporter (JSON included) shows all of them, not a truncated diff.
      expect(
        unique.length,
        `${c.name}: ${unique.length} bad value(s) not refused properly (random part from seed ${seed}):\n${unique.join("\n")}\n`,
      ).toBe(0);
    });
  }
}
