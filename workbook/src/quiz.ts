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
 * - `malloc`: the heap's blocks and free list after a few calls;
 * - `window`: the recursive page directory (Whitix's design): with the
 *   directory mapped into itself at PDE index R, where the PTE and the PDE
 *   of an address appear, and the reverse (which entry a window address is);
 * - `directmap`: Linux's `__va`/`__pa` arithmetic: PAGE_OFFSET, the 896 MiB
 *   low-memory limit, `high_memory`, and which addresses have no `__va` or
 *   `__pa` at all (highmem frames, vmalloc and user addresses).
 *
 * Like OSTEP's homework simulators, the questions take parameters beside the
 * seed (`--ops`, `--sizes`, `--entries`, `--ways`, `--window`, `--ram`,
 * `--page-offset`): the same seed and parameters, the same question.
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
import { LINUX_LAYOUT, linuxLayout, maxmemFor } from "@mm386/paging/linux";
import { WHITIX, windowPdeVa, windowPteVa } from "@mm386/paging/whitix";

/** The kinds of question. */
export const QUIZ_KINDS = ["walk", "buddy", "pde", "tlb", "malloc", "window", "directmap"] as const;

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
  /** window: the PDE index (0..1023) that points at the directory itself (Whitix: 1023). */
  readonly window?: number;
  /** directmap: MiB of RAM, 16..3840. */
  readonly ramMiB?: number;
  /** directmap: PAGE_OFFSET, one of {@link PAGE_OFFSETS} (default 0xC0000000, the 3 GiB/1 GiB split). */
  readonly pageOffset?: number;
}

/** The PAGE_OFFSETs the directmap question takes: Linux's VMSPLIT_1G, 2G and 3G (the default). */
export const PAGE_OFFSETS = [0x4000_0000, 0x8000_0000, LINUX_LAYOUT.PAGE_OFFSET] as const;

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
  if (k === "window") return windowQuestion(seed, rand, params);
  if (k === "directmap") return directMapQuestion(seed, rand, params);
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
  // Address-ordered first fit, every free merging at once (no quick lists):
  // boundary tags as a student follows them by hand.
  const s = createStack({
    ramBytes: 16 * 1024 * 1024,
    malloc: (kv) => new Malloc(kv, { policy: addressOrderedFirstFit, quickLists: false }),
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

const MiB = 1024 * 1024;
const FOUR_MIB = 4 * MiB;

/** An address range in hex, half-open. */
const span = (start: number, end: number) => `[${hex32(start)}, ${hex32(end)})`;

function windowQuestion(seed: number, rand: (n: number) => number, params: QuizParams): Question {
  // Whitix's own index one time in three, so its constants show up; any index otherwise.
  const drawn = rand(3) === 0 ? WHITIX.SELF_PDE : rand(1024);
  const r = params.window ?? drawn;
  if (!Number.isSafeInteger(r) || r < 0 || r > 1023)
    throw new QuizParamsError(`window ${r} must be a PDE index in 0..1023`);
  const base = (r * FOUR_MIB) >>> 0;
  const dirVa = (base + r * 4096) >>> 0;
  const reverse = rand(2) === 1;
  const setup = [
    `The page directory's PDE ${r} points at the directory itself (present, writable, supervisor):`,
    `the recursive window. The MMU then walks the directory as if it were the page table of the`,
    `4 MiB region ${span(base, base + FOUR_MIB)}, so every page table of the current address space`,
    "shows up in that region, and so does the directory.",
  ];
  const steps = [
    `the window is the region of PDE ${r}: it starts at ${r} * 4 MiB = ${r} << 22 = ${hex32(base)}`,
    `page i of the window is what PDE i points at: page table i at ${hex32(base)} + i * 4096;`,
    `page ${r} is the directory itself (PDE ${r} points at it), at ${hex32(base)} + ${r} * 4096 = ${hex32(dirVa)}`,
  ];
  if (!reverse) {
    // An address outside the window, so that its PTE is a PTE (not a PDE seen as one).
    let d: number;
    do d = rand(1024);
    while (d === r);
    const va = ((d << 22) | (rand(1024) << 12) | (rand(1024) * 4)) >>> 0;
    const t = (va >>> 12) & 0x3ff;
    const pteVa = (base + (va >>> 12) * 4) >>> 0;
    const pdeVa = (dirVa + d * 4) >>> 0;
    const answer = [
      ...steps,
      `${hex32(va)}: directory index ${hex32(va)} >> 22 = ${d}, table index (${hex32(va)} >> 12) & 0x3ff = ${t}`,
      `its PTE is entry ${t} of page table ${d}: ${hex32(base)} + ${d} * 4096 + ${t} * 4`,
      `  = ${hex32(base)} + (${hex32(va)} >> 12) * 4 = ${hex32(pteVa)}`,
      `its PDE is entry ${d} of the directory: ${hex32(dirVa)} + ${d} * 4 = ${hex32(pdeVa)}`,
      `(a read of the PTE's address faults if PDE ${d} is not present: there is no page table ${d} to show)`,
    ];
    if (r === WHITIX.SELF_PDE)
      answer.push(
        `Whitix's own window (PDE ${WHITIX.SELF_PDE}): windowPteVa(${hex32(va)}) = ${hex32(windowPteVa(va))}, windowPdeVa(${hex32(va)}) = ${hex32(windowPdeVa(va))}`,
      );
    answer.push(`answer: PTE at ${hex32(pteVa)}, PDE at ${hex32(pdeVa)}`);
    return {
      kind: "window",
      seed,
      text: [
        ...setup,
        `At what virtual address does the kernel read the PTE that maps ${hex32(va)}? And its PDE?`,
      ],
      answer,
    };
  }
  // The reverse: a word in the window; one time in four it is in the directory's own page.
  const i = rand(4) === 0 ? r : rand(1024);
  const j = rand(1024);
  const addr = (base + i * 4096 + j * 4) >>> 0;
  const off = (addr - base) >>> 0;
  const answer = [
    ...steps,
    `${hex32(addr)} - ${hex32(base)} = ${hex32(off)}: page ${hex32(off)} >> 12 = ${i} of the window, entry (${hex32(off)} & 0xfff) / 4 = ${j}`,
  ];
  if (i === r) {
    const from = (j * FOUR_MIB) >>> 0;
    answer.push(
      `page ${i} is the directory, so this is PDE ${j}: it maps the 4 MiB region ${span(from, from + FOUR_MIB)}`,
      `(seen as a PTE it maps page ${i} of the window, ${hex32(base + j * 4096)}: page table ${j} itself)`,
      `answer: the PDE of ${hex32(from)} (directory entry ${j})`,
    );
  } else {
    const va = ((i << 22) | (j << 12)) >>> 0;
    answer.push(
      `page ${i} is page table ${i}, so this is its entry ${j}: the PTE of the page (${i} << 22) | (${j} << 12) = ${hex32(va)}`,
      `  (the same as (${hex32(addr)} - ${hex32(base)}) / 4 * 4096: the window is the PTEs of all pages in order)`,
      `answer: the PTE of ${hex32(va)} (page table ${i}, entry ${j})`,
    );
  }
  return {
    kind: "window",
    seed,
    text: [
      ...setup,
      `The kernel reads the word at ${hex32(addr)}. Which entry is it: the PTE of which page, or the PDE of which region?`,
    ],
    answer,
  };
}

function directMapQuestion(
  seed: number,
  rand: (n: number) => number,
  params: QuizParams,
): Question {
  const ramMiB = params.ramMiB ?? [32, 64, 128, 512, 1024, 2048, 3072][rand(7)]!;
  if (!Number.isSafeInteger(ramMiB) || ramMiB < 16 || ramMiB > 3840)
    throw new QuizParamsError(`ram ${ramMiB} MiB must be 16..3840`);
  const pageOffset = params.pageOffset ?? LINUX_LAYOUT.PAGE_OFFSET;
  if (!(PAGE_OFFSETS as readonly number[]).includes(pageOffset))
    throw new QuizParamsError(
      `page offset ${hex32(pageOffset)} must be one of ${PAGE_OFFSETS.map(hex32).join(", ")}`,
    );
  const ram = ramMiB * MiB;
  const maxmem = maxmemFor(pageOffset);
  const low = Math.min(ram, maxmem);
  const layout = linuxLayout(pageOffset, low / 4096);
  const page = (n: number) => n * 4096 + rand(1024) * 4;
  // __va of a physical address: a low one, or a highmem one when there is highmem.
  const highmem = ram > low;
  const phys =
    highmem && rand(2) === 0 ? low + page(rand((ram - low) / 4096)) : page(rand(low / 4096));
  // __pa of a virtual address: in the direct map, in the vmalloc area, or a user address.
  const which = rand(3);
  const virt =
    which === 0
      ? pageOffset + page(rand(low / 4096))
      : which === 1
        ? layout.vmallocStart + page(rand((layout.vmallocEnd - layout.vmallocStart) / 4096))
        : page(rand(pageOffset / 4096));
  const mib = (n: number) => `${n / MiB} MiB`;
  const text = [
    `Linux on i386 (no PAE) boots with ${ramMiB} MiB of RAM; PAGE_OFFSET is ${hex32(pageOffset)}.`,
    "The direct map maps low memory at PAGE_OFFSET: __va(p) = p + PAGE_OFFSET and __pa(v) = v - PAGE_OFFSET,",
    `and the top ${mib(LINUX_LAYOUT.VMALLOC_RESERVE)} of the kernel half are kept for vmalloc, kmap and the fixmap.`,
    "1. How much RAM does the direct map cover, and what is high_memory? Where does the vmalloc area start?",
    `2. What is __va(${hex32(phys)})?`,
    `3. What is __pa(${hex32(virt)})?`,
  ];
  const answer = [
    `1. MAXMEM = 4 GiB - PAGE_OFFSET - ${mib(LINUX_LAYOUT.VMALLOC_RESERVE)} = ${mib(maxmem)}: the most RAM the direct map can cover`,
    `   low memory = min(RAM, MAXMEM) = min(${ramMiB} MiB, ${mib(maxmem)}) = ${mib(low)} (max_low_pfn = ${low / 4096})${highmem ? `; the other ${mib(ram - low)} are highmem` : ""}`,
    `   high_memory = PAGE_OFFSET + ${mib(low)} = ${hex32(pageOffset)} + ${hex32(low)} = ${hex32(layout.highMemory)}`,
    `   VMALLOC_START = high_memory + ${mib(LINUX_LAYOUT.VMALLOC_OFFSET)} (a gap that catches overruns), rounded up to ${mib(LINUX_LAYOUT.VMALLOC_OFFSET)} = ${hex32(layout.vmallocStart)}`,
    `answer 1: ${mib(low)}; high_memory = ${hex32(layout.highMemory)}; VMALLOC_START = ${hex32(layout.vmallocStart)}`,
  ];
  if (phys < low)
    answer.push(
      `2. ${hex32(phys)} < ${hex32(low)}: low memory, so it is in the direct map`,
      `answer 2: __va(${hex32(phys)}) = ${hex32(phys)} + ${hex32(pageOffset)} = ${hex32(pageOffset + phys)}`,
    );
  else
    answer.push(
      `2. ${hex32(phys)} >= ${hex32(low)}: a highmem frame (ZONE_HIGHMEM). It has no permanent kernel address:`,
      phys + pageOffset >= 2 ** 32
        ? `   the sum ${hex32(phys)} + PAGE_OFFSET wraps past 4 GiB to ${hex32((phys + pageOffset) >>> 0)}, a user address, not a mapping of it.`
        : `   the sum ${hex32(phys)} + PAGE_OFFSET = ${hex32(phys + pageOffset)} is past high_memory (vmalloc, kmap or fixmap space), not a mapping of it.`,
      "   The kernel maps such a frame for a moment with kmap() or kmap_atomic().",
      `answer 2: __va(${hex32(phys)}) is not valid (highmem)`,
    );
  if (virt >= pageOffset && virt < layout.highMemory)
    answer.push(
      `3. ${hex32(virt)} is in the direct map ${span(pageOffset, layout.highMemory)}`,
      `answer 3: __pa(${hex32(virt)}) = ${hex32(virt)} - ${hex32(pageOffset)} = ${hex32(virt - pageOffset)}`,
    );
  else if (virt >= pageOffset)
    answer.push(
      `3. ${hex32(virt)} is at or above high_memory (${hex32(layout.highMemory)}): a vmalloc address ${span(layout.vmallocStart, layout.vmallocEnd)}.`,
      `   __pa only subtracts; ${hex32(virt - pageOffset)} is not the frame behind it: vmalloc maps any frames, page by page.`,
      "   The frame is found by walking the page tables (vmalloc_to_page).",
      `answer 3: __pa(${hex32(virt)}) is not valid (vmalloc)`,
    );
  else
    answer.push(
      `3. ${hex32(virt)} < PAGE_OFFSET: a user address. Its frame, if any, depends on the process's page tables.`,
      `answer 3: __pa(${hex32(virt)}) is not valid (user)`,
    );
  return { kind: "directmap", seed, text, answer };
}
