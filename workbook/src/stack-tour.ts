/**
 * The third chapter of the guided tour: kernel memory on the same stack.
 * kvmalloc (frames that need not be consecutive behind consecutive kernel
 * pages), a few mallocs with the heap dump, and where to go next.
 *
 * @module
 */
import { hex32, PageFault } from "@mm386/hw-i386";
import { Malloc, type Stack } from "@mm386/malloc";
import { defaultStyle, type TourStyle } from "./hw-tour.js";

/** What the kernel-memory chapter observed, for tests. */
export interface StackTourResult {
  /** The address kvmalloc(3) returned. */
  readonly kvmallocVa: number;
  /** The frames behind its three pages. */
  readonly frames: readonly number[];
  /** The pointers malloc returned, in order. */
  readonly pointers: readonly number[];
  /** Error code of the read just past a kvfree'd allocation. */
  readonly freedFault: number;
}

/** Run the kernel-memory chapter on `stack` (the one the paging chapter booted). */
export function runStackTour(
  stack: Stack,
  write: (line: string) => void,
  style: TourStyle = defaultStyle(),
): StackTourResult {
  const s = style;
  const say = (line = "") => write(line);
  const { paging, kv, heap, mmu } = stack;
  say();
  say(s.title("mm386 · kernel memory (@mm386/kvmalloc, @mm386/malloc)"));
  // The machine is the one chapters 8-10 booted: say so, as every part does.
  say(
    `The same machine as chapters 8 to 10: ${mmu.ram.installedBytes / 1024 / 1024} MiB of RAM, the default stack, split at ${hex32(paging.split)}.`,
  );

  say();
  say(s.head("11. kvmalloc: consecutive kernel pages, any frames"));
  const kvmallocVa = kv.kvmalloc(3)!;
  const frames = [0, 1, 2].map((i) => paging.kernelPhysOf(kvmallocVa + i * 4096)!);
  say(
    `kvmalloc(3) = ${s.code(hex32(kvmallocVa))}: vpalloc gave 3 consecutive kernel pages, ppalloc the frames:`,
  );
  frames.forEach((f, i) => say(`  ${hex32(kvmallocVa + i * 4096)} -> frame ${hex32(f)}`));
  say(
    s.dim(
      "the frames need not be consecutive: kvmalloc takes runs with ppalloc(1, remaining) until it has 3.",
    ),
  );
  kv.kvfree(kvmallocVa, 3);
  let freedFault = -1;
  try {
    mmu.read32(kvmallocVa);
  } catch (e) {
    if (!(e instanceof PageFault)) throw e;
    freedFault = e.errorCode;
  }
  say(
    `kvfree unmapped them (invlpg included): read32(${hex32(kvmallocVa)}) now ${s.bad(`#PF error ${freedFault}`)}.`,
  );

  say();
  say(s.head("12. malloc: small objects in kvmalloc'd regions, headers in simulated memory"));
  const sizes = [24, 100, 24, 3000];
  const pointers = sizes.map((n) => heap.malloc(n)!);
  sizes.forEach((n, i) => say(`  malloc(${n}) = ${s.code(hex32(pointers[i]!))}`));
  heap.free(pointers[1]!);
  say(`  free(${hex32(pointers[1]!)})`);
  if (heap instanceof Malloc) {
    say("the heap, block by block (every header read through the MMU):");
    const dump = heap.dump();
    for (const line of dump.split("\n")) say(`  ${line}`);
    // The dump shows regions of blocks; the heap's control words sit at the start of the first.
    const held = Number(/(\d+) page\(s\) held/.exec(dump)?.[1] ?? 0);
    const inRegions = [...dump.matchAll(/^region .*\((\d+) page\(s\)\)/gm)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    say(
      s.dim(
        `${held} page(s) held, ${inRegions} in the regions shown: the heap's control words (the free lists' heads) sit at the start of the first region, before its first block, so a new heap holds one page${held > inRegions ? `; the other ${held - inRegions} hold large blocks or size-class slabs` : ""}.`,
      ),
    );
  }

  say();
  say(s.head("Where next"));
  say(`  build this stack yourself, layer by layer:   ${s.code("npx -y pnpm@12.21.0 workbook")}`);
  say(
    `  a practice question (same seed, same one):   ${s.code("npx -y pnpm@12.21.0 workbook quiz --seed 1")}`,
  );
  say(
    `  run malloc on a trace:                       ${s.code("npx -y pnpm@12.21.0 --silent malloc-trace packages/malloc/test/fixtures/tiny.rep")}`,
  );
  say(
    `  replay MMU steps from JSON:                  ${s.code("npx -y pnpm@12.21.0 --silent mmu-replay packages/hw-i386/test/fixtures/replay/basic.json")}`,
  );
  say(
    `  read how the layers fit:                     ${s.code("docs/architecture.md")}, ${s.code("docs/glossary.md")}`,
  );
  return { kvmallocVa, frames, pointers, freedFault };
}
