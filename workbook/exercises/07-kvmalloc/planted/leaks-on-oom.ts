/**
 * Planted mistake: when memory runs out half-way, kvmalloc returns null but
 * keeps the frames it already took (never ppfrees them).
 */
import { Kvmalloc } from "@mm386/kvmalloc";
import type { KvmallocExercise } from "../../../src/exercise-api.js";

function bind(target: object, v: unknown): unknown {
  return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}

export const createKvmalloc: KvmallocExercise["createKvmalloc"] = (paging) => {
  let inKvmalloc = false;
  const allocators = new Proxy(paging.allocators, {
    get: (t, key) =>
      key === "ppfree" && inKvmalloc ? () => undefined : bind(t, Reflect.get(t, key, t)),
  });
  const p = new Proxy(paging, {
    get: (t, key) => (key === "allocators" ? allocators : bind(t, Reflect.get(t, key, t))),
  });
  const inner = new Kvmalloc(p);
  return new Proxy(inner, {
    get: (t, key) =>
      key === "paging"
        ? paging // the paging it was given, not the proxy it uses inside
        : key === "kvmalloc"
          ? (n: number) => {
              inKvmalloc = true;
              try {
                return t.kvmalloc(n);
              } finally {
                inKvmalloc = false;
              }
            }
          : bind(t, Reflect.get(t, key, t)),
  });
};
