/**
 * The shared test helpers must be able to fail: each is run here on a case it
 * must accept and on the cases it must reject.
 */
import { describe, expect, it } from "vitest";
import { HW_ERROR, HwError, PageFault } from "../src/index.js";
import {
  BAD_VALUES,
  codeOf,
  expectCode,
  expectFault,
  expectHex,
  faultOf,
  propertyRuns,
  refusalProblem,
  showValue,
  thrown,
} from "../src/testing.js";

/** Throws a plain TypeError, as reading a property of null does. */
const typeError = (): unknown => {
  throw new TypeError("Cannot read properties of null");
};

const refuse = () => {
  throw new HwError(HW_ERROR.BAD_ADDRESS, "no");
};

describe("expectCode, codeOf, thrown", () => {
  it("pass on the right code and class, fail on anything else", () => {
    expect(expectCode(refuse, "E_BAD_ADDRESS", { type: HwError, message: /no/ })).toBeInstanceOf(
      HwError,
    );
    expect(() => expectCode(refuse, "E_BAD_SIZE")).toThrow();
    expect(() => expectCode(refuse, "E_BAD_ADDRESS", { type: PageFault })).toThrow();
    expect(() => expectCode(refuse, "E_BAD_ADDRESS", { message: /yes/ })).toThrow();
    expect(() => expectCode(() => 1, "E_BAD_ADDRESS")).toThrow(/returned/);
    expect(codeOf(refuse)).toBe("E_BAD_ADDRESS");
    expect(codeOf(() => 1)).toBeUndefined();
    expect(codeOf(typeError)).toMatch(/^no code: TypeError/);
    expect(() => thrown(() => 1)).toThrow(/returned/);
  });
});

describe("faultOf, expectFault", () => {
  const fault = () => {
    throw new PageFault(0x1000, 0b110);
  };
  it("return the fault, check CR2 and the error code, re-throw other errors", () => {
    expect(faultOf(fault).cr2).toBe(0x1000);
    expect(expectFault(fault, { cr2: 0x1000, errorCode: 6 }).errorCode).toBe(6);
    expect(() => expectFault(fault, { cr2: 0x2000 })).toThrow(
      "CR2: expected 0x00002000, got 0x00001000",
    );
    expect(() => expectFault(fault, { errorCode: 4 })).toThrow();
    expect(() => faultOf(refuse)).toThrow(HwError);
    expect(() => faultOf(() => 1)).toThrow(/expected a page fault/);
  });
});

describe("expectHex", () => {
  it("passes on equal values and fails with a label and both words in hex", () => {
    expectHex(0x0020_1003, 0x0020_1003, "PDE 0");
    expectHex("fault", "fault", "read");
    expect(() => expectHex(0, 0x0020_1003, "PDE 0")).toThrow(
      "PDE 0: expected 0x00201003, got 0x00000000",
    );
    expect(() => expectHex("fault", 0xabc0, "read of 0xc0001000")).toThrow(
      "read of 0xc0001000: expected 0x0000abc0, got fault",
    );
  });
});

describe("refusalProblem", () => {
  const box = { n: 0 };
  const snap = (b: typeof box) => ({ ...b });
  it("accepts a typed refusal that changes nothing", () => {
    expect(refusalProblem(box, snap, { name: "f(x)", call: refuse }, 1)).toBeNull();
  });
  it("reports a call that returns, a plain TypeError, a non-Error, and a change of state", () => {
    expect(refusalProblem(box, snap, { name: "f(x)", call: () => 0 }, -1)).toBe(
      "f(x) with -1: accepted (returned normally)",
    );
    const plain = { name: "f(x)", call: typeError };
    expect(refusalProblem(box, snap, plain, 4096n)).toMatch(
      /^f\(x\) with 4096n: threw TypeError without an error code/,
    );
    const nonError = {
      name: "f(x)",
      call: () => {
        throw "E_STRING"; // eslint-disable-line @typescript-eslint/only-throw-error -- the case under test
      },
    };
    expect(refusalProblem(box, snap, nonError, null)).toBe(
      'f(x) with null: threw a non-Error "E_STRING"',
    );
    const changes = {
      name: "f(x)",
      call: (b: typeof box) => {
        b.n++;
        refuse();
      },
    };
    expect(refusalProblem(box, snap, changes, "x")).toBe('f(x) with "x"; and the state changed');
  });

  // The comparison takes a shortcut on plain arrays and objects; it must see what toEqual sees.
  it("sees a change deep in plain arrays and objects, and in a Map or a typed array", () => {
    const deep = {
      tables: [["a", "b"], { pde: [1, 2, 3] }],
      map: new Map([[1, "x"]]),
      words: new Uint32Array(4),
    };
    const snapDeep = (d: typeof deep) => ({
      tables: structuredClone(d.tables),
      map: new Map(d.map),
      words: d.words.slice(),
    });
    const change = (f: () => void) => ({
      name: "f(x)",
      call: () => {
        f();
        refuse();
      },
    });
    const changed = "f(x) with 1; and the state changed";
    expect(
      refusalProblem(
        deep,
        snapDeep,
        change(() => ((deep.tables[1] as { pde: number[] }).pde[2] = 4)),
        1,
      ),
    ).toBe(changed);
    expect(
      refusalProblem(
        deep,
        snapDeep,
        change(() => (deep.tables[0] as string[]).push("c")),
        1,
      ),
    ).toBe(changed);
    expect(
      refusalProblem(
        deep,
        snapDeep,
        change(() => deep.map.set(1, "y")),
        1,
      ),
    ).toBe(changed);
    expect(
      refusalProblem(
        deep,
        snapDeep,
        change(() => (deep.words[3] = 9)),
        1,
      ),
    ).toBe(changed);
    expect(
      refusalProblem(
        deep,
        snapDeep,
        change(() => undefined),
        1,
      ),
    ).toBeNull();
  });

  it("takes snapshots that differ only where toEqual does not look as unchanged", () => {
    let calls = 0;
    // A key holding undefined against a missing key: equal for toEqual.
    const alternating = () => (++calls % 2 === 1 ? { n: 1, extra: undefined } : { n: 1 });
    expect(refusalProblem(box, alternating, { name: "f(x)", call: refuse }, 1)).toBeNull();
  });
});

describe("propertyRuns", () => {
  it("gives the normal budget, a fifth (at least 3) with MM386_QUICK=1, the deep one with MM386_DEEP=1", () => {
    const saved = { quick: process.env.MM386_QUICK, deep: process.env.MM386_DEEP };
    try {
      delete process.env.MM386_QUICK;
      delete process.env.MM386_DEEP;
      expect([propertyRuns(40, 1000), propertyRuns(10, 100)]).toEqual([40, 10]);
      process.env.MM386_QUICK = "1";
      expect([propertyRuns(40, 1000), propertyRuns(10, 100), propertyRuns(25, 25)]).toEqual([
        8, 3, 5,
      ]);
      process.env.MM386_DEEP = "1"; // the deep run wins
      expect(propertyRuns(40, 1000)).toBe(1000);
    } finally {
      for (const [k, v] of [
        ["MM386_QUICK", saved.quick],
        ["MM386_DEEP", saved.deep],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe("BAD_VALUES", () => {
  it("holds every kind the issue names, each printable", () => {
    const kinds = new Set<string>(BAD_VALUES.map((v) => typeof v));
    for (const k of ["number", "string", "object", "undefined", "bigint", "symbol", "boolean"])
      expect(kinds.has(k)).toBe(true);
    for (const v of [Number.NaN, Infinity, -Infinity, -1, 0.5, 2 ** 32, 2 ** 53, null])
      expect(BAD_VALUES).toContainEqual(v);
    expect(BAD_VALUES.map(showValue)).toContain("{ valueOf: () => 4096 }");
    expect(showValue(Symbol("bad"))).toBe("Symbol(bad)");
  });
});
