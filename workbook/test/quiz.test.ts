/**
 * Quiz answers checked independently: the walk question is replayed on a
 * real machine from the words its text prints; the buddy answer's free
 * units against a replay of its calls; the PDE answer names every pagedir;
 * the TLB answer against a plain set-associative LRU model; the malloc
 * answer against a plain first-fit model of boundary-tag blocks.
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

  it("tlb: hits, misses and what is held are what a plain set-associative LRU model says", () => {
    const shapes = [
      {},
      { entries: 4, ways: 4 },
      { entries: 8, ways: 2, ops: 20 },
      { entries: 2, ways: 1 },
    ];
    let hits = 0;
    let evictions = 0;
    for (const params of shapes)
      for (let seed = 0; seed < 15; seed++) {
        const q = makeQuestion(seed, "tlb", params);
        const [, e, w] = /A TLB of (\d+) entries, (\d+)-way/.exec(q.text[0]!)!;
        const sets = Number(e) / Number(w);
        // sets[i] = pages of set i, least recently used first.
        const model: number[][] = Array.from({ length: sets }, () => []);
        const said = q.answer.filter((l) => /^\s+\d+\. /.test(l));
        const steps = q.text.filter((l) => /^\s+\d+\. /.test(l));
        expect(said).toHaveLength(steps.length);
        steps.forEach((step, i) => {
          const read = /read 0x(\w+)/.exec(step);
          if (read) {
            const vpn = hex(read[1]!) >>> 12;
            const set = model[vpn % sets]!;
            const at = set.indexOf(vpn);
            if (at >= 0) {
              set.splice(at, 1);
              set.push(vpn);
              hits++;
              expect(said[i], `seed ${seed} step ${i + 1}`).toMatch(/: hit$/);
            } else {
              const victim = set.length === Number(w) ? set.shift() : undefined;
              set.push(vpn);
              if (victim !== undefined) evictions++;
              expect(said[i], `seed ${seed} step ${i + 1}`).toContain(
                victim === undefined ? ": miss" : `: miss, evicts page ${victim} `,
              );
            }
          } else if (/load CR3/.test(step)) for (const set of model) set.length = 0;
          else {
            const vpn = hex(/invlpg 0x(\w+)/.exec(step)![1]!) >>> 12;
            const set = model[vpn % sets]!;
            if (set.includes(vpn)) set.splice(set.indexOf(vpn), 1);
          }
        });
        const held = model.flat().sort((a, b) => a - b);
        expect(q.answer.at(-1), `seed ${seed}`).toMatch(
          new RegExp(`holds pages? ${held.length === 0 ? "none" : held.join(", ")}$`),
        );
      }
    expect(hits).toBeGreaterThan(20); // the questions are not all misses
    expect(evictions).toBeGreaterThan(20);
  });

  it("malloc: the blocks are what a plain first-fit model of boundary tags gives", () => {
    for (const params of [{}, { ops: 12, sizes: [1, 30, 60] }, { ops: 3 }])
      for (let seed = 0; seed < 15; seed++) {
        const q = makeQuestion(seed, "malloc", params);
        const blocks = q.answer
          .map((l) => /offset\s+(\d+):\s+(\d+) bytes, (free|allocated \((\w)\))/.exec(l))
          .filter((m) => m !== null)
          .map((m) => ({ off: Number(m[1]), size: Number(m[2]), name: m[4] ?? null }));
        const total = blocks.reduce((a, b) => a + b.size, 0);
        type Block = { off: number; size: number; name: string | null };
        let model: Block[] = [{ off: 0, size: total, name: null }];
        for (const call of q.text) {
          const m = /^ {2}(\w) = malloc\((\d+)\)$/.exec(call);
          const f = /^ {2}free\((\w)\)$/.exec(call);
          if (m) {
            const asize = Math.max(16, Math.ceil((Number(m[2]) + 4) / 8) * 8);
            const i = model.findIndex((b) => b.name === null && b.size >= asize);
            const b = model[i]!;
            if (b.size - asize >= 16)
              model.splice(
                i,
                1,
                { off: b.off, size: asize, name: m[1]! },
                {
                  off: b.off + asize,
                  size: b.size - asize,
                  name: null,
                },
              );
            else b.name = m[1]!;
          } else if (f) {
            model.find((b) => b.name === f[1])!.name = null;
            // Coalesce neighbours.
            model = model.reduce<Block[]>((out, b) => {
              const last = out.at(-1);
              if (last && last.name === null && b.name === null) last.size += b.size;
              else out.push({ ...b });
              return out;
            }, []);
          }
        }
        expect(blocks, `seed ${seed} ${JSON.stringify(params)}`).toEqual(model);
      }
  });
});
