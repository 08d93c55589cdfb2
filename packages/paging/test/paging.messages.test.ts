/**
 * The hobby paging's refusals, each with its code and a message that names
 * the bad value (addresses in hex), and its boundaries one step either side:
 * written from the mutation survivors of src/paging.ts (docs/quality.md).
 * Every expected message is spelled out here by hand.
 */
import { createMachine, hex32 } from "@mm386/hw-i386";
import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import {
  PTE_PRESENT as P,
  PTE_WRITE as W,
  PagingError,
  boot,
  createInitPagedir,
  startPaging,
} from "../src/index.js";

const PAGE = 4096;
const refused = (f: () => unknown, code: string, message: RegExp) =>
  void expectCode(f, code, { type: PagingError, message });
const fresh = () => startPaging(createMachine({ ramBytes: 16 * 1024 * 1024 }));

describe("paging's refusals name the bad value", () => {
  it("destroying the first pagedir or the loaded one", () => {
    const p = fresh();
    const init = p.reference;
    refused(
      () => p.destroyAddressSpace(init),
      "E_INIT_PAGEDIR",
      new RegExp(
        `^E_INIT_PAGEDIR: the first pagedir \\(${hex32(init.phys)}\\) holds the kernel half's template$`,
      ),
    );
    const a = p.createAddressSpace()!;
    p.switchTo(a);
    refused(
      () => p.destroyAddressSpace(a),
      "E_CURRENT",
      new RegExp(`pagedir ${hex32(a.phys)} is loaded in CR3; switch away first`),
    );
    p.switchTo(init);
    p.destroyAddressSpace(a);
    refused(
      () => p.switchTo(a),
      "E_DESTROYED",
      new RegExp(`pagedir ${hex32(a.phys)} was destroyed`),
    );
  });

  it("a user mapping without a pagedir, and map without PTE_PRESENT", () => {
    const p = fresh();
    const frame = p.allocFrames(1)!;
    refused(
      () => p.mapMem(null, frame, 0x0804_8000, 1, P | W),
      "E_NO_PAGEDIR",
      /user address 0x08048000 needs a pagedir/,
    );
    refused(
      () => p.map(null, 0xd000_0000, frame, 1, W),
      "E_BAD_FLAGS",
      /flags 0x00000002 lack PTE_PRESENT: use unmap to remove mappings/,
    );
  });

  it("a CPL other than 0 or 3, and a virtual address outside 4 GiB (0 and 2^32 - 4 are inside)", () => {
    const p = fresh();
    refused(() => p.read32(0xc000_0000, 1 as never), "E_BAD_ARGUMENT", /CPL 1 is not 0 or 3/);
    refused(() => p.write32(0xc000_0000, 0, 2 as never), "E_BAD_ARGUMENT", /CPL 2 is not 0 or 3/);
    refused(
      () => p.translate(2 ** 32),
      "E_BAD_ARGUMENT",
      /virtual address 0x100000000 is not inside 4 GiB/,
    );
    refused(() => p.translate(-1), "E_BAD_ARGUMENT", /virtual address -1 is not inside 4 GiB/);
    // The first and the last address are inside: translate explains them (not present).
    expect(p.translate(0).pa).toBeNull();
    expect(() => p.translate(2 ** 32 - 4)).not.toThrow();
  });

  it("kernel regions and PTE indexes out of range, one past each end", () => {
    const p = fresh();
    const first = 0xc000_0000 >>> 22; // 768: the first kernel region with the default split
    refused(
      () => p.kernelTablePhys(first - 1),
      "E_BAD_ARGUMENT",
      /767 is not a kernel region \(768\.\.1023\)/,
    );
    refused(
      () => p.kernelTablePhys(1024),
      "E_BAD_ARGUMENT",
      /1024 is not a kernel region \(768\.\.1023\)/,
    );
    refused(
      () => p.kernelPteVa(first, -1),
      "E_BAD_ARGUMENT",
      /-1 is not a page-table index \(0\.\.1023\)/,
    );
    refused(
      () => p.kernelPteVa(first, 1024),
      "E_BAD_ARGUMENT",
      /1024 is not a page-table index \(0\.\.1023\)/,
    );
    // Both ends are legal: region 1023 may have no table (null), index 1023 of region 768 is a word of its table.
    expect(() => p.kernelTablePhys(1023)).not.toThrow();
    expect(p.kernelPteVa(first, 1023)! % PAGE).toBe(1023 * 4);
  });

  it("the window takes only the physical address of a frame below 4 GiB", () => {
    const p = fresh();
    for (const [bad, shown] of [
      [-PAGE, "-4096"],
      [PAGE + 4, "0x00001004"],
      [2 ** 32, "0x100000000"],
    ] as const)
      refused(
        () => p.window(bad),
        "E_BAD_ARGUMENT",
        new RegExp(`window: (${shown}) is not the physical address of a frame`),
      );
    // Frame 0 and the last frame below 4 GiB are frames.
    expect(p.window(0) % PAGE).toBe(0);
    expect(p.window(2 ** 32 - PAGE) % PAGE).toBe(0);
  });

  it("freeUserTable of a region without a table names region and pagedir", () => {
    const p = fresh();
    const a = p.createAddressSpace()!;
    refused(
      () => p.freeUserTable(a, 32),
      "E_BAD_ARGUMENT",
      new RegExp(`user region 32 of pagedir ${hex32(a.phys)} has no page table`),
    );
    refused(() => p.freeUserTable(a, 768), "E_BAD_ARGUMENT", /user region 768 of pagedir/);
  });

  it("startPaging's options and createInitPagedir's boot info of the wrong shape: E_BAD_CONFIG naming them", () => {
    // createInitPagedir checks its options itself (startPaging refuses null before it gets there).
    const m = createMachine({ ramBytes: 16 * 1024 * 1024 });
    const bootInfo = boot(m);
    refused(
      () => createInitPagedir(m, bootInfo, {} as never, null as never),
      "E_BAD_CONFIG",
      /^E_BAD_CONFIG: paging options null is not usable$/,
    );
    refused(
      () => startPaging(createMachine({ ramBytes: 16 * 1024 * 1024 }), { mapMem: 5 as never }),
      "E_BAD_CONFIG",
      /^E_BAD_CONFIG: mapMem \(an object with a map method\) 5 is not usable$/,
    );
    refused(
      () => startPaging(createMachine({ ramBytes: 16 * 1024 * 1024 }), { pageSource: 5 as never }),
      "E_BAD_CONFIG",
      /^E_BAD_CONFIG: pageSource \(a function of the paging\) 5 is not usable$/,
    );
    const m2 = createMachine({ ramBytes: 16 * 1024 * 1024 });
    refused(
      () => createInitPagedir(m2, null as never, {} as never),
      "E_BAD_CONFIG",
      /^E_BAD_CONFIG: boot info null is not what boot returned$/,
    );
  });
});
