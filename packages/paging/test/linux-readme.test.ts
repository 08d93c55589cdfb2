/** The README's Linux example runs as printed. */
import { createMachine } from "@mm386/hw-i386";
import { expect, it } from "vitest";
import { bootLinux, PROT } from "../src/linux/index.js";

it("runs the README's Linux example", () => {
  const linux = bootLinux(createMachine({ ramBytes: 64 * 1024 * 1024 }));
  const mm = linux.createAddressSpace()!;
  linux.switchTo(mm);
  linux.mmap(mm, 0x0804_8000, 4096, PROT.READ | PROT.WRITE);
  linux.write32(0x0804_8000, 42, 3);
  expect(linux.read32(0x0804_8000, 3)).toBe(42);
  expect(linux.stats.minorFaults).toBe(1);
});
