/** Planted mistake: changes a present PTE without invlpg (the TLB keeps the old translation). */
import { type MapMem, type Paging, hobbyMapMem } from "@mm386/paging";

function withoutInvlpg(k: Paging): Paging {
  const mmu = new Proxy(k.mmu, {
    get: (t, key) =>
      key === "invlpg" ? () => undefined : bind(t, Reflect.get(t, key, t) as unknown),
  });
  return new Proxy(k, { get: (t, key) => (key === "mmu" ? mmu : bind(t, Reflect.get(t, key, t))) });
}

function bind(target: object, v: unknown): unknown {
  return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}

export const mapMem: MapMem = {
  name: "planted forgets-invlpg",
  map: (k, ...rest) => hobbyMapMem.map(withoutInvlpg(k), ...rest),
};
