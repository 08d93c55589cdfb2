/**
 * describeValue: how every layer names a refused value in a message. Each
 * kind of value against the name worked out by hand, so that a message never
 * shows a BigInt as a good number, a Symbol as a TypeError, or a long string
 * in full.
 */
import { describe, expect, it } from "vitest";
import { describeValue } from "../src/index.js";

describe("describeValue", () => {
  it.each([
    [-1, "-1"],
    [1.5, "1.5"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [5n, "5n"],
    ["4096", '"4096"'],
    ["", '""'],
    [Symbol("x"), "Symbol(x)"],
    [true, "true"],
    [false, "false"],
    [undefined, "undefined"],
    [null, "null"],
    [[4096], "an array"],
    [{}, "an object"],
    [() => 1, "a function"],
  ])("names %s as %s", (value, name) => {
    expect(describeValue(value)).toBe(name);
  });

  it("cuts a string after 40 characters, and only then", () => {
    const forty = "a".repeat(40);
    expect(describeValue(forty)).toBe(`"${forty}"`);
    expect(describeValue(`${forty}b`)).toBe(`"${forty}..."`);
  });
});
