import { createStack } from "@mm386/malloc";
import { describe, expect, it } from "vitest";
import type { PageWalkExercise } from "../src/exercise-api.js";
import { WalkMismatch, walkChecker } from "../src/walk-checker.js";

describe("exercise 1's walk auditing later stacks", () => {
  it("stays silent while the walk agrees with the MMU (a plain 4 KiB walk)", () => {
    const walk: PageWalkExercise["walk"] = (read, regs, va) => {
      const pde = read(((regs.cr3 & 0xfffff000) | ((va >>> 22) << 2)) >>> 0);
      if ((pde & 1) === 0) return { ok: false, errorCode: 0 };
      const pte = read(((pde & 0xfffff000) | (((va >>> 12) & 0x3ff) << 2)) >>> 0);
      if ((pte & 1) === 0) return { ok: false, errorCode: 0 };
      return { ok: true, pa: ((pte & 0xfffff000) | (va & 0xfff)) >>> 0, large: false };
    };
    const s = createStack({ ramBytes: 16 * 1024 * 1024, beforeBoot: (m) => walkChecker(m, walk) });
    const p = s.heap.malloc(64)!;
    s.mmu.write32(p, 1);
    expect(s.mmu.read32(p)).toBe(1);
    expect(() => s.mmu.read32(0x0040_0000)).toThrow(/#PF/); // kernel read of an absent page: error 0 agrees
  });

  it("stops at the first walk it gets wrong, naming the address and both answers", () => {
    const offByOne: PageWalkExercise["walk"] = () => ({ ok: true, pa: 4, large: false });
    expect(() =>
      createStack({ ramBytes: 16 * 1024 * 1024, beforeBoot: (m) => walkChecker(m, offByOne) }),
    ).toThrow(WalkMismatch);
    expect(() =>
      createStack({ ramBytes: 16 * 1024 * 1024, beforeBoot: (m) => walkChecker(m, offByOne) }),
    ).toThrow(/your walk of 0x\w{8} .* gives pa 0x00000004; the MMU reached pa 0x\w{8}/);
  });
});
