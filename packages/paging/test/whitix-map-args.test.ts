/**
 * Whitix checks its map arguments with the rules every design shares
 * (map-args.ts) and its messages still name the function that was called:
 * a refusal by a shared rule reads "E_UNALIGNED: VirtMemMapPage: virtual
 * address 0x00900001 is not page-aligned", with the same code as the hobby
 * kernel's and Linux's. Hand-written expectations, one bad argument a call.
 */
import { createMachine } from "@mm386/hw-i386";
import { describe, expect, it } from "vitest";
import { PTE_GLOBAL as G, PTE_PRESENT as P, PTE_USER as U, PTE_WRITE as W } from "../src/index.js";
import { VirtMemManagerInit, type Whitix, type WhitixSpace } from "../src/whitix/index.js";

const MiB = 1024 * 1024;

/** The message of what `f` threw, with its code; and that nothing was mapped meanwhile. */
function refusal(w: Whitix, f: () => unknown): string {
  const before = w.dump();
  let message = "returned normally";
  try {
    f();
  } catch (e) {
    message = `${(e as { code?: string }).code} | ${(e as Error).message}`;
  }
  expect(w.dump()).toEqual(before);
  return message;
}

/**
 * A booted Whitix with a user space loaded and one frame. Each test boots its
 * own inside the test: a boot at describe level runs outside any test, and
 * Stryker then counts every mutant of the boot path as static (covered by no
 * test in particular) and runs all related tests for each of them.
 */
function world(): { w: Whitix; user: WhitixSpace; frame: number } {
  const w = VirtMemManagerInit(createMachine({ ramBytes: 64 * MiB }));
  const user = w.createAddressSpace()!;
  w.switchTo(user);
  return { w, user, frame: w.allocFrames(1)! };
}

describe("Whitix map arguments, by the shared rules, named by the call", () => {
  it("VirtMemMapPage: alignment, flags, split; Whitix's own PTE_PRESENT and reserved rules after them", () => {
    const { w, frame } = world();
    expect(refusal(w, () => w.VirtMemMapPage(0x0090_0001, frame, P | U))).toBe(
      "E_UNALIGNED | E_UNALIGNED: VirtMemMapPage: virtual address 0x00900001 is not page-aligned",
    );
    expect(refusal(w, () => w.VirtMemMapPage(0x0090_0000, frame + 8, P | U))).toBe(
      `E_UNALIGNED | E_UNALIGNED: VirtMemMapPage: physical address 0x${(frame + 8).toString(16).padStart(8, "0")} is not page-aligned`,
    );
    expect(refusal(w, () => w.VirtMemMapPage(0x0090_0000, frame, 0x1001))).toBe(
      "E_BAD_FLAGS | E_BAD_FLAGS: VirtMemMapPage: flags 0x00001001 go past the low 12 bits of a PTE",
    );
    expect(refusal(w, () => w.VirtMemMapPage(0xc800_0000, frame, P | W | U))).toBe(
      "E_USER_ON_KERNEL | E_USER_ON_KERNEL: VirtMemMapPage: PTE_USER on kernel address 0xc8000000",
    );
    expect(refusal(w, () => w.VirtMemMapPage(0x0090_0000, frame, P | G))).toMatch(
      /^E_GLOBAL_ON_USER \| E_GLOBAL_ON_USER: VirtMemMapPage: PTE_GLOBAL on user address 0x00900000: /,
    );
    expect(refusal(w, () => w.VirtMemMapPage(0x0090_0000, frame, W | U))).toBe(
      "E_BAD_FLAGS | E_BAD_FLAGS: VirtMemMapPage: flags 0x00000006 lack PTE_PRESENT: use unmap to remove mappings",
    );
    expect(refusal(w, () => w.VirtMemMapPage(0x0040_0000, frame, P | U))).toBe(
      "E_RESERVED_VA | E_RESERVED_VA: VirtMemMapPage: 0x00400000 is in the identity map of the first 8 MiB (user memory starts at 0x00800000)",
    );
    expect(refusal(w, () => w.VirtMemMapPage(-4096, frame, P | U))).toBe(
      "E_BAD_ARGUMENT | E_BAD_ARGUMENT: VirtMemMapPage: virt -4096 is not a non-negative integer",
    );
  });

  it("map and unmap: the count, the 4 GiB end and the split, each message naming the call", () => {
    const { w, user, frame } = world();
    expect(refusal(w, () => w.map(user, 0x0090_0000, frame, 0, P | U))).toBe(
      "E_BAD_ARGUMENT | E_BAD_ARGUMENT: map: page count 0 must be a positive integer",
    );
    expect(refusal(w, () => w.map(user, 0xbfff_f000, frame, 2, P | W))).toBe(
      "E_CROSSES_SPLIT | E_CROSSES_SPLIT: map: [0xbffff000, 0xc0001000) crosses the user/kernel split at 0xc0000000",
    );
    expect(refusal(w, () => w.unmap(null, 0xffff_f000, 2))).toBe(
      "E_WRAPS | E_WRAPS: unmap: [0xfffff000, +2 pages) runs past 4 GiB",
    );
    expect(refusal(w, () => w.unmap(user, 0x0090_0800, 1))).toBe(
      "E_UNALIGNED | E_UNALIGNED: unmap: virtual address 0x00900800 is not page-aligned",
    );
  });

  it("VirtMapPhysRange judges PTE_USER at the range's start, and names itself", () => {
    const { w } = world();
    expect(refusal(w, () => w.VirtMapPhysRange(0xc800_0000, 0xc801_0000, 1, P | U))).toBe(
      "E_USER_ON_KERNEL | E_USER_ON_KERNEL: VirtMapPhysRange: PTE_USER on kernel address 0xc8000000",
    );
    expect(refusal(w, () => w.VirtMapPhysRange(0xc800_0000, 0xc801_0000, 1, W))).toBe(
      "E_BAD_FLAGS | E_BAD_FLAGS: VirtMapPhysRange: flags 0x00000002 lack PTE_PRESENT: use unmap to remove mappings",
    );
  });
});
