/**
 * How a refused value is named in an error message, whatever it is.
 *
 * Error messages must name the bad value, and `String(v)` hides what kind of
 * value it was: `String(5n)` is `"5"`, the same as a good page count, and a
 * template literal of a Symbol throws a TypeError instead of the typed error
 * the caller was promised. So every layer names values through this one
 * function.
 *
 * @module
 */
import { ALLOCATION_ERROR, AllocationError } from "./api.js";
/**
 * A short, unambiguous name for any value, for error messages: a number as
 * written (`-1`, `1.5`, `NaN`; callers print good addresses with `hex32`), a BigInt with its `n` (`5n`), a string quoted, a Symbol as `Symbol(desc)`,
 * and objects by kind (`an object`, `an array`, `a function`). Never throws.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "number":
      return String(value);
    case "bigint":
      return `${value.toString()}n`;
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    case "symbol":
      return value.toString();
    case "boolean":
    case "undefined":
      return String(value);
    case "function":
      return "a function";
    default:
      return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
  }
}

/** A unit number in hex, as the range allocators print them (`0x1f`). */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Refuse `[start, start + n)` unless it is a run of whole units inside
 * `[base, base + count)`; `what` names the operation in the message.
 */
export function checkUnitRange(
  base: number,
  count: number,
  start: number,
  n: number,
  what: string,
): void {
  if (!Number.isSafeInteger(start))
    throw new AllocationError(
      ALLOCATION_ERROR.BAD_ARGUMENT,
      `start ${describeValue(start)} is not an integer`,
    );
  if (!Number.isSafeInteger(n) || n < 1)
    throw new AllocationError(
      ALLOCATION_ERROR.BAD_ARGUMENT,
      `unit count ${describeValue(n)} must be a positive integer`,
    );
  if (start < base || start + n > base + count) {
    throw new AllocationError(
      ALLOCATION_ERROR.OUT_OF_RANGE,
      `cannot ${what} [${hex(start)}, ${hex(start + n)}): outside [${hex(base)}, ${hex(base + count)})`,
    );
  }
}
