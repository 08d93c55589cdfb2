/**
 * The design quizzes checked against the machine and the designs: the
 * window answers by reading the named addresses through a real MMU whose
 * directory maps itself at the question's PDE index; the directmap answers
 * against a booted Linux's own `__va`, `__pa` and layout.
 */
import { CR0, PTE, createMachine } from "@mm386/hw-i386";
import { bootLinux, type LinuxPaging } from "@mm386/paging/linux";
import { describe, expect, it } from "vitest";
import { makeQuestion } from "../src/quiz.js";

const hex = (s: string) => Number.parseInt(s, 16);
const DIR = 0x1000;
const TABLE = 0x2000;

/** A machine with paging on, its directory at DIR mapping itself at PDE r. */
function selfMapped(r: number) {
  const m = createMachine({ ramBytes: 16 * 1024 * 1024 });
  m.ram.write32(DIR + 4 * r, DIR | PTE.P | PTE.RW);
  m.mmu.loadCr3(DIR);
  m.mmu.loadCr0(CR0.PE | CR0.PG);
  return m;
}

describe("quiz: the recursive window", () => {
  it("the PTE and PDE addresses of the answer are where the MMU finds them", () => {
    let forward = 0;
    let reverse = 0;
    for (let seed = 0; seed < 80; seed++) {
      const q = makeQuestion(seed, "window");
      const text = q.text.join("\n");
      const r = Number(/PDE (\d+) points at the directory itself/.exec(text)![1]);
      const m = selfMapped(r);
      const last = q.answer.at(-1)!;
      const ask = /PTE that maps 0x(\w+)/.exec(text);
      if (ask) {
        forward++;
        const va = hex(ask[1]!);
        const pde = TABLE | PTE.P | PTE.RW | PTE.US;
        const pte = 0x00abc000 | PTE.P;
        m.ram.write32(DIR + 4 * (va >>> 22), pde);
        m.ram.write32(TABLE + 4 * ((va >>> 12) & 0x3ff), pte);
        const [, pteVa, pdeVa] = /answer: PTE at 0x(\w+), PDE at 0x(\w+)/.exec(last)!;
        // The walk to the PTE went through PDE va>>22 as a PTE: the MMU set its accessed bit.
        expect(m.mmu.read32(hex(pteVa!)), `seed ${seed}: PTE of ${ask[1]}`).toBe(pte);
        expect(m.mmu.read32(hex(pdeVa!)) & ~PTE.A, `seed ${seed}: PDE of ${ask[1]}`).toBe(pde);
      } else {
        reverse++;
        const addr = hex(/reads the word at 0x(\w+)/.exec(text)![1]!);
        const marker = 0x00def000 | PTE.P;
        const pde = /answer: the PDE of 0x(\w+)/.exec(last);
        if (pde) {
          const at = hex(pde[1]!) >>> 22;
          if (at !== r) m.ram.write32(DIR + 4 * at, marker);
          expect(m.mmu.read32(addr) & ~PTE.A, `seed ${seed}`).toBe(
            at === r ? DIR | PTE.P | PTE.RW : marker,
          );
        } else {
          const va = hex(/answer: the PTE of 0x(\w+)/.exec(last)![1]!);
          m.ram.write32(DIR + 4 * (va >>> 22), TABLE | PTE.P | PTE.RW);
          m.ram.write32(TABLE + 4 * ((va >>> 12) & 0x3ff), marker);
          expect(m.mmu.read32(addr), `seed ${seed}: ${hex(String(addr))}`).toBe(marker);
        }
      }
    }
    expect(forward).toBeGreaterThan(15);
    expect(reverse).toBeGreaterThan(15);
  });

  it("takes the window's index as a parameter, and Whitix's 1023 gives its fixed addresses", () => {
    const q = makeQuestion(3, "window", { window: 1023 });
    expect(q.text.join("\n")).toContain("[0xffc00000, 0x100000000)");
    expect(q.answer.join("\n")).toContain("0xfffff000");
    expect(() => makeQuestion(3, "window", { window: 1024 })).toThrow(/window 1024/);
  });
});

describe("quiz: Linux's __va and __pa", () => {
  const booted = new Map<string, LinuxPaging>();
  const linux = (ramMiB: number, pageOffset: number) => {
    const key = `${ramMiB}/${pageOffset}`;
    if (!booted.has(key))
      booted.set(
        key,
        bootLinux(createMachine({ ramBytes: ramMiB * 1024 * 1024 }), { pageOffset, pse: true }),
      );
    return booted.get(key)!;
  };

  it("agrees with a booted Linux's __va, __pa and layout", () => {
    const invalid = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const offset = [undefined, 0x8000_0000, 0x4000_0000][seed % 3];
      const q = makeQuestion(seed, "directmap", offset === undefined ? {} : { pageOffset: offset });
      const text = q.text.join("\n");
      const answer = q.answer.join("\n");
      const ram = Number(/boots with (\d+) MiB/.exec(text)![1]);
      const po = hex(/PAGE_OFFSET is 0x(\w+)/.exec(text)![1]!);
      expect(po).toBe(offset ?? 0xc000_0000);
      const l = linux(ram, po);
      const [, hm, vs] = /high_memory = 0x(\w+); VMALLOC_START = 0x(\w+)/.exec(answer)!;
      expect(hex(hm!), `seed ${seed}`).toBe(l.layout.highMemory);
      expect(hex(vs!), `seed ${seed}`).toBe(l.layout.vmallocStart);
      const phys = hex(/__va\(0x(\w+)\)\?/.exec(text)![1]!);
      const va = /answer 2: __va\(0x\w+\) = .* = 0x(\w+)$/m.exec(answer);
      if (va) expect(hex(va[1]!), `seed ${seed}`).toBe(l.va(phys));
      else {
        expect(answer).toMatch(/answer 2: __va\(0x\w+\) is not valid \(highmem\)/);
        expect(() => l.va(phys)).toThrow();
        invalid.add("highmem");
      }
      const virt = hex(/__pa\(0x(\w+)\)\?/.exec(text)![1]!);
      const pa = /answer 3: __pa\(0x\w+\) = .* = 0x(\w+)$/m.exec(answer);
      if (pa) expect(hex(pa[1]!), `seed ${seed}`).toBe(l.pa(virt));
      else {
        const why = /answer 3: __pa\(0x\w+\) is not valid \((vmalloc|user)\)/.exec(answer)![1]!;
        expect(() => l.pa(virt)).toThrow();
        if (why === "vmalloc") {
          expect(virt).toBeGreaterThanOrEqual(l.layout.vmallocStart);
          expect(virt).toBeLessThan(l.layout.vmallocEnd);
        } else expect(virt).toBeLessThan(po);
        invalid.add(why);
      }
    }
    expect([...invalid].sort()).toEqual(["highmem", "user", "vmalloc"]);
  }, 120_000);

  it("refuses a RAM size or a PAGE_OFFSET it cannot boot, naming the value", () => {
    expect(() => makeQuestion(1, "directmap", { ramMiB: 8 })).toThrow(/ram 8 MiB/);
    expect(() => makeQuestion(1, "directmap", { pageOffset: 0xc040_0000 })).toThrow(/0xc0400000/);
  });
});
