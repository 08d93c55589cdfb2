/**
 * What several heap test files share: a heap on a fresh 32 MiB stack, the
 * error code a call throws, addresses in hex, and whether deep property
 * runs were asked for (MM386_DEEP).
 */
import { Malloc, MallocError, type MallocOptions, createStack } from "../src/index.js";

/** True when MM386_DEEP is set: property tests run many more cases. */
export const DEEP = process.env.MM386_DEEP !== undefined;

/** `n` as 8 hex digits, as the heap's messages print addresses. */
export const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/** A heap with `options` on its own 32 MiB stack, with the stack's parts. */
export function setup(options: MallocOptions = {}) {
  const stack = createStack({ ramBytes: 32 * 1024 * 1024 });
  const heap = new Malloc(stack.kv, options);
  return { ...stack, heap };
}

/** The code of the MallocError `f` throws (undefined if it returns; a note if it throws something else). */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof MallocError ? e.code : `not a MallocError: ${String(e)}`;
  }
  return undefined;
}
