/**
 * The workload that the MMU benchmarks share (mmu.bench.ts times it,
 * count.ts counts its instructions): the working set, the machine that maps
 * it, the random addresses, and the minimal reference design (the floor).
 *
 * Working set: 1 MiB of linear memory mapped by 256 4 KiB pages (A and D
 * already set), placed once at a low linear address and once in the kernel
 * half (addresses >= 2^31 are doubles to V8, which costs a little).
 */
import {
  CR0,
  Mmu,
  PAGE_SIZE,
  PhysicalMemory,
  PTE,
  SetAssociativeTlb,
  type Tlb,
  UnboundedTlb,
} from "../src/index.js";

/** Accesses in one pass of a task. */
export const N = 1 << 20;
/** Pages in the working set (1 MiB). */
export const PAGES = 256;
const PD = 0x0000_1000;
const PT = 0x0000_2000;
const FRAMES = 0x0100_0000;
/**
 * Two places for the working set: low linear addresses are small integers to
 * V8; kernel addresses (>= 2^31) are doubles, which costs a little more.
 */
export const BASES: [string, number][] = [
  ["low", 0x0040_0000],
  ["kernel", 0xc040_0000],
];

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** N word-aligned random byte offsets inside the first `pages` pages. */
export function offsets(pages: number, seed: number): Uint32Array {
  const r = rng(seed);
  const out = new Uint32Array(N);
  for (let i = 0; i < N; i++) out[i] = Math.floor(r() * pages * WORDS) * 4;
  return out;
}

/** 32-bit words in a page. */
const WORDS = PAGE_SIZE / 4;

/**
 * The TLBs measured: label, factory, and the pages that stay resident for
 * the hit tasks (the LRU TLB's hits stay within the 64 pages it holds).
 */
export const TLBS: [string, () => Tlb, number][] = [
  ["unbounded", () => new UnboundedTlb(), PAGES],
  ["64-entry 4-way LRU", () => new SetAssociativeTlb({ entries: 64, ways: 4 }), 64],
];

/** The loop bodies of the tasks, over `m`, `base`, `offs` and `i` (see {@link loop}). */
export const BODY = {
  readHit: "s += m.read32(base + offs[i]);",
  writeHit: "m.write32(base + offs[i], i);",
  miss: "const va = base + offs[i]; s += m.read32(va); m.invlpg(va);",
  invlpg: "m.invlpg(base + offs[i]);",
} as const;

/** One pass of a task over the machine `m` (an Mmu or a FloorWalk): what {@link loop} compiles. */
export type Loop<M = Mmu> = (m: M, base: number, offs: Uint32Array) => number;

/** A machine with the working set mapped at `base` (4 MiB aligned). */
export function machine(tlb: Tlb, base: number): Mmu {
  const ram = new PhysicalMemory();
  const mmu = new Mmu(ram, { tlb });
  ram.write32(PD + 4 * (base >>> 22), PT | PTE.P | PTE.RW | PTE.A);
  for (let i = 0; i < PAGES; i++) {
    ram.write32(PT + 4 * i, (FRAMES + i * PAGE_SIZE) | PTE.P | PTE.RW | PTE.A | PTE.D);
    ram.write32(FRAMES + i * PAGE_SIZE, i); // give every frame storage
  }
  mmu.loadCr3(PD);
  mmu.loadCr0(CR0.PE | CR0.PG);
  return mmu;
}

/** Touch every page once, as a write, so that the TLB holds dirty entries. */
export function warm(mmu: Mmu, base: number, pages: number): void {
  for (let i = 0; i < pages; i++) mmu.write32(base + i * PAGE_SIZE, i);
}

/**
 * A loop body compiled as its own function. Closures created in a loop share
 * V8's type feedback, so a task measured after another would inherit its
 * deoptimisations (small-integer addresses, then doubles, then another TLB
 * class); each task gets a fresh function instead.
 */
export function loop<M = Mmu>(body: string): Loop<M> {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(
    "m",
    "base",
    "offs",
    `let s = 0; for (let i = 0; i < ${N}; i++) { ${body} } return s;`,
  ) as Loop<M>;
}

/**
 * The baseline: a plain 1 MiB `Uint32Array` of the working set's size, and
 * one pass of N random reads from it, compiled as the tasks are.
 */
export function baseline(): {
  words: Uint32Array;
  pass: (a: Uint32Array, offs: Uint32Array) => number;
} {
  const words = new Uint32Array(PAGES * WORDS);
  for (let i = 0; i < words.length; i++) words[i] = i;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const pass = new Function(
    "a",
    "offs",
    `let s = 0; for (let i = 0; i < ${N}; i++) s += a[offs[i] >>> 2]; return s;`,
  ) as (a: Uint32Array, offs: Uint32Array) => number;
  return { words, pass };
}

/**
 * The floor of a faithful miss, for reference (as buddy's bench has a plain
 * reference buddy): the least a walk can do in JavaScript, written inline over
 * a flat RAM laid out like the machine's, with nothing else: no argument
 * checks, no counters, no events, no hints, a one-slot-per-page TLB.
 * read32 reads the PDE and the PTE, tests P, and the A bits (already set, so
 * no write), fills the TLB slot and reads the word; invlpg clears the slot.
 * What the MMU's miss costs above this is overhead, not the walk itself.
 * Why the gap is large: the cost follows the instructions. count.ts counts
 * them with valgrind, per miss + invlpg: 154-158 for this floor, 337 for the
 * MMU at low addresses and 356 at kernel ones (about 1,300 before the fast
 * path, 530-600 with its first walk); the MMU's miss over the floor's
 * is 2.2x by count and 2.2-2.5x by `pnpm bench`'s times. With the working set
 * cut to 16 pages, which the caches hold, both got only 15-20% cheaper, so the
 * final load of the word is not what the time goes on. The hw-i386 README
 * ("the miss") says where the instructions go.
 */
export class FloorWalk {
  private readonly tlb = new Int32Array(1 << 20);
  constructor(
    private readonly mem: Uint32Array,
    private readonly cr3: number,
  ) {}
  read32(va: number): number {
    const vpn = va >>> 12;
    let e = this.tlb[vpn]!;
    if (e === 0) {
      const pdeAt = (this.cr3 >>> 2) + (va >>> 22);
      const pde = this.mem[pdeAt]!;
      if ((pde & PTE.P) === 0) throw new Error("PDE not present");
      if ((pde & PTE.A) === 0) this.mem[pdeAt] = pde | PTE.A;
      const pteAt = ((pde >>> 12) << 10) + (vpn & 0x3ff);
      const pte = this.mem[pteAt]!;
      if ((pte & PTE.P) === 0) throw new Error("PTE not present");
      if ((pte & PTE.A) === 0) this.mem[pteAt] = pte | PTE.A;
      e = ((pte >>> 12) << 12) | PTE.P | (pde & pte & (PTE.RW | PTE.US));
      this.tlb[vpn] = e;
    }
    return this.mem[((e >>> 12) << 10) | ((va & 0xfff) >>> 2)]!;
  }
  invlpg(va: number): void {
    this.tlb[va >>> 12] = 0;
  }
}

/**
 * A {@link FloorWalk} over its own 32 MiB of flat RAM, mapped as {@link machine}
 * maps, its TLB filled by a read at each of `warmWith` (if given).
 */
export function floorMachine(base: number, warmWith?: Uint32Array): FloorWalk {
  const mem = new Uint32Array((FRAMES + PAGES * PAGE_SIZE) / 4);
  mem[PD / 4 + (base >>> 22)] = PT | PTE.P | PTE.RW | PTE.A;
  for (let i = 0; i < PAGES; i++) {
    mem[PT / 4 + i] = (FRAMES + i * PAGE_SIZE) | PTE.P | PTE.RW | PTE.A | PTE.D;
    for (let w = 0; w < WORDS; w++) mem[(FRAMES + i * PAGE_SIZE) / 4 + w] = w; // real memory, not zero pages
  }
  const floor = new FloorWalk(mem, PD);
  if (warmWith !== undefined) for (const off of warmWith) floor.read32(base + off);
  return floor;
}
