import { describe, expect, it } from "vitest";
import { linuxStory } from "../src/linux/index.js";

describe("the --design linux story", () => {
  it("tells the boot with the machine's real values (64 MiB, 4 KiB pages)", () => {
    const s = linuxStory();
    // Hand-worked: head.S's PDEs, the first bootmem table (page 1), the zones' counts.
    expect(s).toContain("PDE[0] = 0x00102067");
    expect(s).toContain("PDE[768] = 0x00102067");
    expect(s).toContain("PDE[770] = 0x00001067");
    expect(s).toContain("bootmem retired (a later call: E_BOOTMEM_RETIRED)");
    expect(s).toContain("free pages: DMA 3725, NORMAL 12288, HIGHMEM 0");
    expect(s).toContain("__va(0x00345678) = 0xc0345678");
    expect(s).toContain("the kernel reads 0x12345678");
    expect(s).toContain("3 minor faults, 1 zero-page map(s), 1 zero-page copy; 4 page(s) taken");
    expect(s).toContain("E_SEGV: segmentation fault at 0x20000000");
  });

  it("tells the PSE boot and highmem with 1 GiB", () => {
    const s = linuxStory({ ramMiB: 1024, pse: true });
    expect(s).toContain("PDE[769] = 0x004001e3");
    expect(s).toContain("highmem, no __va");
    expect(s).toContain("32768 pages into HIGHMEM");
  });

  it("refuses a RAM size it cannot boot", () => {
    expect(() => linuxStory({ ramMiB: 8 })).toThrow(/E_BAD_CONFIG/);
  });
});
