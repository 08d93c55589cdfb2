/**
 * Seeded practice questions. The same seed always gives the same question;
 * the answer is computed by running the reference layers, never stored.
 *
 * - `walk`: translate an address through printed PDE/PTE words (with the
 *   fault and its error code when there is one);
 * - `buddy`: the free lists after a list of calls;
 * - `pde`: which PDEs a new kernel page table changes;
 * - `tlb`: hits and misses of a sequence of accesses on a TLB of a given
 *   shape (entries, ways, LRU), with an invlpg or a CR3 load in between;
 * - `malloc`: the heap's blocks and free list after a few calls.
 *
 * Like OSTEP's homework simulators, the questions take parameters beside the
 * seed (`--ops`, `--sizes`, `--entries`, `--ways`): the same seed and
 * parameters, the same question.
 *
 * @module
 */
import { BuddyAllocator } from "@mm386/buddy";
import {
  CR0,
  CR4,
  PDE,
  PTE,
  SetAssociativeTlb,
  explainWalk,
  faultFor,
  hex32,
  pdeFlags,
  pteFlags,
} from "@mm386/hw-i386";
import { Malloc, addressOrderedFirstFit, createStack } from "@mm386/malloc";
import { PTE_PRESENT, PTE_WRITE } from "@mm386/paging";

/** The kinds of question. */
export const QUIZ_KINDS = ["walk", "buddy", "pde", "tlb", "malloc"] as const;

/** One of {@link QUIZ_KINDS}. */
export type QuizKind = (typeof QUIZ_KINDS)[number];

/** A question and its worked answer. */
export interface Question {
  /** Which kind. */
  readonly kind: QuizKind;
  /** The seed it came from. */
  readonly seed: number;
  /** The question, as lines of text. */
  readonly text: readonly string[];
  /** The answer, as lines of text (with the reasoning). */
  readonly answer: readonly string[];
}

/** Parameters that shape a question beside its seed (each kind uses those that make sense for it). */
export interface QuizParams {
  /** How many calls or accesses (buddy, tlb, malloc); at most 40. */
  readonly ops?: number;
  /** Request sizes in bytes that malloc calls draw from (1..4096 each). */
  readonly sizes?: readonly number[];
  /** TLB entries (tlb), a multiple of `ways`. */
  readonly entries?: number;
  /** TLB ways (entries per set). */
  readonly ways?: number;
}

/** Bad parameters for a question (`code` E_QUIZ_PARAMS), named in the message. */
export class QuizParamsError extends Error {
  /** Always "E_QUIZ_PARAMS". */
  readonly code = "E_QUIZ_PARAMS";
}

/** A small deterministic PRNG (mulberry32): the same seed, the same numbers. */
export function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) >>> 0;
  };
}

/** The question for `seed` and `params`; `kind` defaults to one chosen by the seed. */
export function makeQuestion(seed: number, kind?: QuizKind, params: QuizParams = {}): Question {
  const rand = seededRandom(seed);
  const k = kind ?? QUIZ_KINDS[rand(QUIZ_KINDS.length)]!;
  if (
    params.ops !== undefined &&
    (!Number.isSafeInteger(params.ops) || params.ops < 1 || params.ops > 40)
  )
    throw new QuizParamsError(`ops ${params.ops} must be an integer in 1..40`);
  if (k === "walk") return walkQuestion(seed, rand);
  if (k === "buddy") return buddyQuestion(seed, rand, params);
  if (k === "tlb") return tlbQuestion(seed, rand, params);
  if (k === "malloc") return mallocQuestion(seed, rand, params);
  return pdeQuestion(seed, rand);
}

function walkQuestion(seed: number, rand: (n: number) => number): Question {
  const cr3 = (0x0010_0000 + rand(64) * 0x1000) >>> 0;
  const pse = rand(2) === 1;
  const wp = rand(2) === 1;
  const regs = { cr0: (CR0.PE | CR0.PG | (wp ? CR0.WP : 0)) >>> 0, cr3, cr4: pse ? CR4.PSE : 0 };
  const va = ((rand(1024) << 22) | (rand(1024) << 12) | (rand(1024) * 4)) >>> 0;
  const large = pse && rand(3) === 0;
  const flags = (present: boolean) =>
    (present ? PTE.P : 0) |
    (rand(3) > 0 ? PTE.RW : 0) |
    (rand(3) > 0 ? PTE.US : 0) |
    (rand(2) ? PTE.A : 0);
  const memory = new Map<number, number>();
  const pdeAddr = (cr3 + ((va >>> 22) << 2)) >>> 0;
  const pdePresent = rand(8) > 0;
  let pde: number;
  if (large) {
    const frame = (rand(16) << 22) >>> 0;
    const reserved = rand(10) === 0 ? 1 << 13 : 0; // sometimes a reserved bit, for RSVD
    pde = (frame | reserved | flags(pdePresent) | PDE.PS) >>> 0;
  } else {
    const table = (0x0020_0000 + rand(256) * 0x1000) >>> 0;
    pde = (table | flags(pdePresent)) >>> 0;
    const pteAddr = (table + (((va >>> 12) & 0x3ff) << 2)) >>> 0;
    const pte = (((0x0040_0000 + rand(4096) * 0x1000) >>> 0) | flags(rand(6) > 0)) >>> 0;
    memory.set(pteAddr, pte);
  }
  memory.set(pdeAddr, pde);
  const access = { write: rand(2) === 1, cpl: rand(2) === 1 ? (3 as const) : (0 as const) };
  const ram = { read32: (pa: number) => memory.get(pa) ?? 0 };
  const w = explainWalk(ram, regs, va);
  const error = faultFor(w, regs, access);
  const text = [
    `CR0 = ${hex32(regs.cr0)} (PG=1, WP=${wp ? 1 : 0})   CR3 = ${hex32(cr3)}   CR4 = ${hex32(regs.cr4)} (PSE=${pse ? 1 : 0})`,
    `linear address ${hex32(va)}, a ${access.cpl === 3 ? "user (CPL 3)" : "supervisor (CPL 0)"} ${access.write ? "write" : "read"}`,
    "physical memory holds:",
    ...[...memory.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([a, v]) => `  [${hex32(a)}] = ${hex32(v)}`),
    "What physical address does the access reach, or which #PF error code does it raise?",
  ];
  const answer = [
    `directory index = ${hex32(va)} >> 22 = ${w.dirIndex}; the PDE is at CR3 + 4*${w.dirIndex} = ${hex32(w.pdeAddr)}: ${hex32(w.pde)} (${pdeFlags(w.pde)})`,
  ];
  if ((w.pde & PDE.P) === 0) answer.push("the PDE is not present: the walk stops here");
  else if (w.large) {
    answer.push("PS=1 and CR4.PSE=1: a 4 MiB page; bits 21:0 of the address are the offset");
    if (w.missing !== null)
      answer.push("but bits 21:13 of a 4 MiB PDE are reserved and one is set: RSVD");
  } else if (w.pteAddr !== null) {
    answer.push(
      `table index = (${hex32(va)} >> 12) & 0x3ff = ${w.tableIndex}; the PTE is at ${hex32(w.pde & 0xffff_f000)} + 4*${w.tableIndex} = ${hex32(w.pteAddr)}: ${hex32(w.pte!)} (${pteFlags(w.pte!)})`,
    );
    if ((w.pte! & PTE.P) === 0) answer.push("the PTE is not present");
  }
  if (w.missing === null)
    answer.push(
      `permissions over both levels: ${w.user ? "user" : "supervisor-only"}, ${w.writable ? "writable" : "read-only"}${!access.write ? "" : access.cpl === 0 ? (wp ? " (CR0.WP=1: supervisor writes obey R/W)" : " (CR0.WP=0: supervisor writes ignore R/W)") : ""}`,
    );
  if (error === null) answer.push(`answer: physical address ${hex32(w.pa!)}`);
  else {
    const bits = [
      `P=${error & 1} (${error & 1 ? "protection" : "not present"})`,
      `W/R=${(error >> 1) & 1}`,
      `U/S=${(error >> 2) & 1}`,
      `RSVD=${(error >> 3) & 1}`,
    ];
    answer.push(`answer: #PF with error code ${error} = ${bits.join(", ")}; CR2 = ${hex32(va)}`);
  }
  return { kind: "walk", seed, text, answer };
}

function buddyQuestion(seed: number, rand: (n: number) => number, params: QuizParams): Question {
  const count = rand(2) === 0 ? 16 : 32;
  const b = new BuddyAllocator({ base: 0, count });
  const held: [number, number][] = [];
  const calls: string[] = [];
  const drawn = 4 + rand(3);
  const steps = params.ops ?? drawn;
  for (let i = 0; i < steps; i++) {
    if (held.length > 0 && rand(3) === 0) {
      const [start, n] = held.splice(rand(held.length), 1)[0]!;
      b.free(start, n);
      calls.push(`free(${start}, ${n})`);
    } else if (rand(2) === 0) {
      const k = rand(3);
      const start = b.allocOrder(k);
      calls.push(`allocOrder(${k})${start === null ? " -> null" : ` -> ${start}`}`);
      if (start !== null) held.push([start, 1 << k]);
    } else {
      const n = 1 + rand(6);
      const start = b.alloc(n);
      calls.push(`alloc(${n})${start === null ? " -> null" : ` -> ${start}`}`);
      if (start !== null) held.push([start, n]);
    }
  }
  const lists = b.freeLists();
  const text = [
    `A buddy allocator over units [0, ${count}) (one free block of order ${Math.log2(count)} at the start).`,
    "alloc(n) takes the smallest block of at least n units and gives its unused tail back at once;",
    "free(start, n) gives back n units, coalescing with free buddies.",
    "The calls (with what they returned):",
    ...calls.map((c) => `  ${c}`),
    "What are the free lists, order by order (block start units, lowest first)?",
  ];
  const answer = [
    ...lists.map(
      (l, k) =>
        `  order ${k} (${String(1 << k).padStart(2)} units): ${l.length === 0 ? "-" : [...l].sort((x, y) => x - y).join(", ")}`,
    ),
    "the partition, block by block:",
    ...b
      .dump()
      .split("\n")
      .map((l) => `  ${l}`),
  ];
  return { kind: "buddy", seed, text, answer };
}

function pdeQuestion(seed: number, rand: (n: number) => number): Question {
  const split = rand(2) === 0 ? 0xc000_0000 : 0x8000_0000;
  const s = createStack({ ramBytes: 32 * 1024 * 1024, split });
  const { paging, machine } = s;
  const spaces = 1 + rand(3);
  for (let i = 0; i < spaces; i++) paging.createAddressSpace();
  // A kernel region that has no page table yet.
  let r: number;
  do r = (split >>> 22) + 8 + rand(1024 - (split >>> 22) - 16);
  while (paging.kernelTablePhys(r) !== null);
  const va = ((r << 22) | (rand(1024) << 12)) >>> 0;
  const frame = paging.allocators.ppalloc(1, 1)!.start;
  const dirs = paging.pagedirs();
  const before = dirs.map((pd) =>
    Array.from({ length: 1024 }, (_, i) => machine.ram.read32(pd.phys + 4 * i)),
  );
  paging.mapMem(null, frame, va, 1, PTE_PRESENT | PTE_WRITE);
  const changes: string[] = [];
  dirs.forEach((pd, d) => {
    for (let i = 0; i < 1024; i++) {
      const now = machine.ram.read32(pd.phys + 4 * i);
      if (now !== before[d]![i])
        changes.push(
          `  pagedir at ${hex32(pd.phys)}${pd === paging.init ? " (the first)" : ""}: PDE ${i} at ${hex32(pd.phys + 4 * i)}: ${hex32(before[d]![i]!)} -> ${hex32(now)} (${pdeFlags(now)})`,
        );
    }
  });
  const text = [
    `The kernel's split is ${hex32(split)}: PDEs ${split >>> 22}..1023 are the kernel half, shared by every address space.`,
    `There are ${dirs.length} pagedirs: ${dirs.map((pd) => hex32(pd.phys)).join(", ")} (physical addresses).`,
    `mapMem(null, ${hex32(frame)}, ${hex32(va)}, 1, P RW) maps a kernel page in a 4 MiB region with no page table yet.`,
    "Which page-directory entries change, in which pagedirs, and why?",
  ];
  const answer = [
    `the region is PDE ${hex32(va)} >> 22 = ${r}; a new kernel table is made and its PDE written into EVERY pagedir,`,
    "so that every address space sees the same kernel half (otherwise a switch would lose the mapping):",
    ...changes,
    `the table then gets a kernel address of its own (kvpd[${r - (split >>> 22)}]), which may need further kernel PDEs;`,
    "any other PDE above that changed is such a table, installed the same way.",
  ];
  return { kind: "pde", seed, text, answer };
}

function tlbQuestion(seed: number, rand: (n: number) => number, params: QuizParams): Question {
  const ways = params.ways ?? [1, 2, 4][rand(3)]!;
  const entries = params.entries ?? ways * [2, 4][rand(2)]!;
  if (!Number.isSafeInteger(ways) || ways < 1 || !Number.isSafeInteger(entries) || entries < 1)
    throw new QuizParamsError(`entries ${entries} and ways ${ways} must be positive integers`);
  if (entries % ways !== 0 || entries > 64)
    throw new QuizParamsError(
      `entries ${entries} must be a multiple of ways ${ways}, and at most 64`,
    );
  const sets = entries / ways;
  const ops = params.ops ?? 10 + rand(5);
  // A few pages, reused: a small working set is what makes a TLB work, and miss.
  const pool = Array.from({ length: Math.max(2, entries + 2 - rand(3)) }, () => rand(64));
  const tlb = new SetAssociativeTlb({ entries, ways, replacement: "lru" });
  const steps: string[] = [];
  const answer: string[] = [];
  let hits = 0;
  let misses = 0;
  const flushAt = ops >= 6 ? 2 + rand(ops - 4) : -1;
  const flushKind = rand(2) === 0 ? "invlpg" : "cr3";
  const no = (i: number) => `  ${String(i + 1).padStart(2)}.`;
  for (let i = 0; i < ops; i++) {
    if (i === flushAt) {
      if (flushKind === "cr3") {
        tlb.flushNonGlobal();
        steps.push(`${no(i)} load CR3 (no global pages)`);
        answer.push(`${no(i)} load CR3: every entry dropped`);
      } else {
        const vpn = pool[rand(pool.length)]!;
        tlb.invalidatePage(vpn);
        steps.push(`${no(i)} invlpg ${hex32(vpn * 4096)}`);
        answer.push(`${no(i)} invlpg: page ${vpn} (set ${vpn % sets}) dropped if held`);
      }
      continue;
    }
    const vpn = pool[rand(pool.length)]!;
    const va = (vpn * 4096 + rand(1024) * 4) >>> 0;
    steps.push(`${no(i)} read ${hex32(va)}`);
    if (tlb.lookup(vpn)) {
      hits++;
      answer.push(`${no(i)} page ${vpn}, set ${vpn % sets}: hit`);
    } else {
      misses++;
      const evicted = tlb.insert({
        vpn,
        pfn: 0x100 + vpn,
        writable: true,
        user: false,
        dirty: false,
        global: false,
        large: false,
      });
      answer.push(
        `${no(i)} page ${vpn}, set ${vpn % sets}: miss${evicted ? `, evicts page ${evicted.vpn} (least recently used in the set)` : ""}`,
      );
    }
  }
  const held = tlb
    .entries()
    .map((e) => e.vpn)
    .sort((a, b) => a - b);
  const text = [
    `A TLB of ${entries} entries, ${ways}-way set associative (${sets} set${sets === 1 ? "" : "s"}; a page goes in set page mod ${sets}),`,
    "LRU replacement within a set, empty at the start. Pages are 4 KiB: the page of an address is address >> 12.",
    "The accesses, in order:",
    ...steps,
    "Which accesses hit and which miss? What does the TLB hold at the end?",
  ];
  return {
    kind: "tlb",
    seed,
    text,
    answer: [
      ...answer,
      `hits ${hits}, misses ${misses}; at the end it holds page${held.length === 1 ? "" : "s"} ${held.length === 0 ? "none" : held.join(", ")}`,
    ],
  };
}

function mallocQuestion(seed: number, rand: (n: number) => number, params: QuizParams): Question {
  const sizes = params.sizes ?? [8, 16, 24, 40, 64, 100, 200];
  if (sizes.length === 0 || sizes.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 4096))
    throw new QuizParamsError(`sizes ${sizes.join(",")} must each be 1..4096 bytes`);
  const ops = params.ops ?? 6 + rand(4);
  // Address-ordered first fit: the policy a student can follow by hand.
  const s = createStack({
    ramBytes: 16 * 1024 * 1024,
    malloc: (kv) => new Malloc(kv, { policy: addressOrderedFirstFit }),
  });
  const heap = s.heap as Malloc;
  const live: { name: string; bp: number }[] = [];
  const calls: string[] = [];
  let next = 0;
  for (let i = 0; i < ops; i++) {
    if (live.length > 0 && rand(3) === 0) {
      const [b] = live.splice(rand(live.length), 1);
      heap.free(b!.bp);
      calls.push(`  free(${b!.name})`);
    } else {
      const n = sizes[rand(sizes.length)]!;
      const name = String.fromCharCode(97 + (next++ % 26));
      const bp = heap.malloc(n);
      if (bp === null) calls.push(`  ${name} = malloc(${n}) -> null`);
      else {
        live.push({ name, bp });
        calls.push(`  ${name} = malloc(${n})`);
      }
    }
  }
  const blocks = heap.blocks().filter((b) => !b.large);
  const base = Math.min(...blocks.map((b) => b.bp));
  const nameOf = (bp: number) => live.find((l) => l.bp === bp)?.name;
  const text = [
    "A heap with boundary tags, address-ordered first fit, 8-byte alignment. An allocated block is a 4-byte",
    "header and the payload, rounded up to a multiple of 8 and at least 16 bytes (only a FREE block needs a",
    "footer: a bit in the next block's header says whether the previous one is free). A free block is split",
    "when the rest would be at least 16 bytes; a freed block coalesces with free neighbours at once.",
    "The heap starts as one chunk of pages whose first block's payload is at offset 0 below.",
    "The calls:",
    ...calls,
    "List the chunk's blocks in address order (payload offset, size with its header, free or which",
    "pointer); which blocks are on the free list?",
  ];
  const answer = [
    ...blocks.map(
      (b) =>
        `  offset ${String(b.bp - base).padStart(5)}: ${String(b.size).padStart(5)} bytes, ${b.allocated ? `allocated (${nameOf(b.bp) ?? "?"})` : "free"}`,
    ),
    `free list (address order): ${
      blocks
        .filter((b) => !b.allocated)
        .map((b) => `${b.bp - base} (${b.size})`)
        .join(", ") || "empty"
    }`,
  ];
  return { kind: "malloc", seed, text, answer };
}
