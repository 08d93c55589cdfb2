/**
 * Planted mistake: when memory for a later page table runs out, returns
 * false but keeps the user page tables it made earlier in the same call.
 */
import { type MapMem, type Paging, hobbyMapMem } from "@mm386/paging";

function bind(target: object, v: unknown): unknown {
  return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}

function keepsTables(k: Paging): Paging {
  return new Proxy(k, {
    get: (t, key) => (key === "freeUserTable" ? () => undefined : bind(t, Reflect.get(t, key, t))),
  });
}

export const mapMem: MapMem = {
  name: "planted leaks-on-oom",
  map: (k, ...rest) => hobbyMapMem.map(keepsTables(k), ...rest),
};
