/**
 * Quiz answers checked independently: the walk question is replayed on a
 * real machine from the words its text prints; the buddy answer's free
 * units against a replay of its calls; the PDE answer names every pagedir.
 */
import { CR0, PageFault, createMachine } from "@mm386/hw-i386";
import { describe, expect, it } from "vitest";
import { makeQuestion, seededRandom } from "../src/quiz.js";

const hex = (s: string) => Number.parseInt(s, 16);

describe("quiz", () => {
  it("is deterministic per seed and varies across seeds", () => {
    expect(makeQuestion(7)).toEqual(makeQuestion(7));
    const texts = new Set(
      Array.from({ length: 20 }, (_, s) => makeQuestion(s, "walk").text.join("\n")),
    );
    expect(texts.size).toBeGreaterThan(15);
    const r = seededRandom(1);
    const r2 = seededRandom(1);
    expect(Array.from({ length: 5 }, () => r(100))).toEqual(
      Array.from({ length: 5 }, () => r2(100)),
    );
  });

  it("walk: the answer is what the simulated processor does with the printed words", () => {
    let faults = 0;
    for (let seed = 0; seed < 80; seed++) {
      const q = makeQuestion(seed, "walk");
      const text = q.text.join("\n");
      const [, cr0, cr3, cr4] = /CR0 = 0x(\w+).*CR3 = 0x(\w+)\s+CR4 = 0x(\w+)/.exec(text)!;
      const [, va, who, rw] = /linear address 0x(\w+), a (user|supervisor).* (read|write)/.exec(
        text,
      )!;
      const m = createMachine({ ramBytes: 64 * 1024 * 1024 });
      for (const [, a, v] of text.matchAll(/\[0x(\w+)\] = 0x(\w+)/g))
        m.ram.write32(hex(a!), hex(v!));
      m.mmu.loadCr4(hex(cr4!));
      m.mmu.loadCr3(hex(cr3!));
      m.mmu.loadCr0(hex(cr0!) | CR0.PE);
      let pa = -1;
      m.mmu.subscribe((e) => {
        if (e.type === "walk" && e.pa !== null) pa = e.pa;
      });
      const answer = q.answer.at(-1)!;
      try {
        const cpl = who === "user" ? 3 : 0;
        if (rw === "write") m.mmu.write8(hex(va!), 0, cpl);
        else m.mmu.read8(hex(va!), cpl);
        expect(answer, `seed ${seed}`).toBe(
          `answer: physical address 0x${pa.toString(16).padStart(8, "0")}`,
        );
      } catch (e) {
        if (!(e instanceof PageFault)) throw e;
        faults++;
        expect(answer, `seed ${seed}`).toContain(`#PF with error code ${e.errorCode} =`);
      }
    }
    expect(faults).toBeGreaterThan(10);
    expect(faults).toBeLessThan(75);
  });

  it("buddy: the free lists hold exactly the units the calls left free", () => {
    for (let seed = 0; seed < 40; seed++) {
      const q = makeQuestion(seed, "buddy");
      const count = Number(/units \[0, (\d+)\)/.exec(q.text[0]!)![1]);
      let held = 0;
      for (const line of q.text) {
        const order = /allocOrder\((\d+)\) -> \d+/.exec(line);
        const alloc = /alloc\((\d+)\) -> \d+/.exec(line);
        const free = /free\(\d+, (\d+)\)/.exec(line);
        if (order) held += 2 ** Number(order[1]);
        else if (alloc) held += Number(alloc[1]);
        else if (free) held -= Number(free[1]);
      }
      let listed = 0;
      for (const line of q.answer) {
        const m = /order (\d+) \(\s*\d+ units\): (.*)/.exec(line);
        if (m && m[2] !== "-") listed += m[2]!.split(", ").length * 2 ** Number(m[1]);
      }
      expect(listed, `seed ${seed}`).toBe(count - held);
    }
  });

  it("pde: the same kernel PDE changes in every pagedir", () => {
    for (let seed = 0; seed < 6; seed++) {
      const q = makeQuestion(seed, "pde");
      const dirs = /pagedirs: (.*) \(physical/.exec(q.text.join("\n"))![1]!.split(", ");
      const r = Number(/PDE 0x\w+ >> 22 = (\d+)/.exec(q.answer[0]!)![1]);
      for (const d of dirs)
        expect(
          q.answer.some((l) => l.includes(`pagedir at ${d}`) && l.includes(`PDE ${r} `)),
          `${d}`,
        ).toBe(true);
    }
  });
});
