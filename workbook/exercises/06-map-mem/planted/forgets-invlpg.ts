/** Planted mistake: changes a present PTE without invlpg (the TLB keeps the old translation). */
import { type MapMem, type MapMemContext, hobbyMapMem } from "@mm386/paging";

function withoutInvlpg(k: MapMemContext): MapMemContext {
  return { ...k, current: k.current, mmu: { ...k.mmu, invlpg: () => undefined } };
}

export const mapMem: MapMem = {
  name: "planted forgets-invlpg",
  map: (k, ...rest) => hobbyMapMem.map(withoutInvlpg(k), ...rest),
};
