/**
 * Linux's vmalloc through the kvmalloc contract: the conformance suite on
 * 4 KiB pages, PSE and no PGE, and with highmem (frames from HIGHMEM first).
 */
import { createMachine, PAGE_SIZE } from "@mm386/hw-i386";
import { expectCode } from "@mm386/hw-i386/testing";
import { bootLinux } from "@mm386/paging/linux";
import { describe, expect, it } from "vitest";
import {
  describeKernelPageAllocatorConformance,
  linuxKvmallocHarness,
} from "../src/conformance.js";
import { LinuxVmalloc } from "../src/linux.js";

describeKernelPageAllocatorConformance(
  "Linux vmalloc",
  (l) => new LinuxVmalloc(l),
  linuxKvmallocHarness(),
);
describeKernelPageAllocatorConformance(
  "Linux vmalloc, PSE, no PGE",
  (l) => new LinuxVmalloc(l),
  linuxKvmallocHarness({ pse: true, pge: false }),
);

describe("LinuxVmalloc", () => {
  it("takes highmem frames when there are some", () => {
    const l = bootLinux(createMachine({ ramBytes: 1024 * 1024 * 1024 }));
    const kv = new LinuxVmalloc(l);
    const va = kv.kvmalloc(4)!;
    for (let i = 0; i < 4; i++)
      expect(l.translate(va + i * PAGE_SIZE).pa! >= 896 * 1024 * 1024).toBe(true);
    kv.kvfree(va, 4);
  });

  it("refuses what is not a LinuxPaging", () => {
    expectCode(() => new LinuxVmalloc({} as never), "E_BAD_ARGUMENT", { message: /LinuxPaging/ });
  });
});

describe("LinuxVmalloc exhaustion", () => {
  it("answers null for counts beyond the area, however large", () => {
    const kv = new LinuxVmalloc(bootLinux(createMachine({ ramBytes: 16 * 1024 * 1024 })));
    expect(kv.kvmalloc(2 ** 52)).toBeNull();
    expect(kv.kvmalloc(Number.MAX_SAFE_INTEGER)).toBeNull();
    expect(kv.paging.vmRegions()).toEqual([]);
  });
});
