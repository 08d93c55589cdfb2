/**
 * Formatting bad values for error messages (internal: not exported from the
 * package entry points).
 *
 * @module
 */
/**
 * A value as it should appear in an error message: numbers as JavaScript
 * prints them (`NaN`, `Infinity`), strings quoted, BigInts with their `n`,
 * so that `"5"`, `5` and `5n` read differently. Never throws (a Symbol
 * cannot go through a template literal, an object may have a hostile
 * `toString`).
 */
export function showValue(v: unknown): string {
  switch (typeof v) {
    case "number":
      return String(v);
    case "bigint":
      return `${String(v)}n`;
    case "string":
      // Long strings are cut: the message should name the value, not carry it.
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case "symbol":
      return v.toString();
    case "function":
      return "a function";
    case "undefined":
      return "undefined";
    case "boolean":
      return String(v);
    default:
      return v === null ? "null" : Array.isArray(v) ? "an array" : "an object";
  }
}
