/**
 * Planted mistake: asks ppalloc for all n frames in one consecutive run, so
 * kvmalloc fails whenever physical memory is fragmented although enough
 * frames are free (kvmalloc's frames need not be consecutive).
 */
import { Kvmalloc } from "@mm386/kvmalloc";
import type { KvmallocExercise } from "../../../src/exercise-api.js";

function bind(target: object, v: unknown): unknown {
  return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}

export const createKvmalloc: KvmallocExercise["createKvmalloc"] = (paging) => {
  const allocators = new Proxy(paging.allocators, {
    get: (t, key) =>
      key === "ppalloc"
        ? (min: number, max: number) => t.ppalloc(Math.max(min, max), max)
        : bind(t, Reflect.get(t, key, t)),
  });
  const inner = new Kvmalloc(
    new Proxy(paging, {
      get: (t, key) => (key === "allocators" ? allocators : bind(t, Reflect.get(t, key, t))),
    }),
  );
  // The paging it was given, not the proxy it uses inside.
  return new Proxy(inner, {
    get: (t, key) => (key === "paging" ? paging : bind(t, Reflect.get(t, key, t))),
  });
};
