/**
 * Seeded scenarios and the session that steps through them.
 *
 * A scenario is a list of steps, each a function of the stack; the state
 * after step n is "boot, then steps 0..n-1". The simulation is
 * deterministic, so stepping back replays from boot rather than undoing
 * anything (nothing in the layers can be undone anyway).
 *
 * ```
 *  Session(design, scenario, seed)
 *    step 0     = createStack({ design }) just booted
 *    forward()  = run steps[n] on the live stack        (cheap)
 *    back()     = a fresh stack, replay steps[0..n-2]   (deterministic)
 *    events     = the MMU's events of each step, kept per step
 * ```
 *
 * @module
 */
import { PAGE_SIZE, PageFault, type MmuEvent, explainWalk, hex32 } from "@mm386/hw-i386";
import {
  type DesignStack,
  type DesignStackOptions,
  createStack,
  designNames,
  generateTrace,
  parseTrace,
} from "@mm386/malloc";
import { type AddressSpace, PTE_PRESENT, PTE_USER, PTE_WRITE } from "@mm386/paging";
import { VIEWER_ERROR, ViewerError } from "./errors.js";
import { extrasFor } from "./extras.js";
import { type StackView, type ViewerExtras, inspectStack, kernelFrames } from "./inspect.js";
import { showValue } from "@mm386/hw-i386";

/** What a step may keep between steps of one run (address spaces, pointers...). */
export type ScenarioState = Map<string, unknown>;

/** One step of a scenario. */
export interface ScenarioStep {
  /** What the step does, in a few words (shown beside the step counter). */
  readonly label: string;
  /** Do it. A `PageFault` the step expects should be caught by the step; anything thrown is a failed step. */
  run(stack: DesignStack, state: ScenarioState): void;
}

/** A named, seeded scenario. */
export interface Scenario {
  /** The name the URL carries. */
  readonly name: string;
  /** One line for the picker. */
  readonly summary: string;
  /** The steps for `seed` (the same seed gives the same steps). */
  steps(seed: number): readonly ScenarioStep[];
}

const USER_VA = 0x0804_8000;
const UNMAPPED_VA = 0x4000_0000;

/** Read at `va`, expecting a fault the scenario wants to show (the timeline has it). */
function touchExpectingFault(stack: DesignStack, va: number, cpl: 0 | 3): void {
  try {
    stack.design.read32(va, cpl);
  } catch (e) {
    // A design may resolve what it can and throw its own typed fault for the rest (Linux's
    // SegmentationFault carries the error code too): both are the fault this step shows.
    if (!(e instanceof PageFault) && typeof (e as { errorCode?: unknown }).errorCode !== "number")
      throw e;
  }
}

/**
 * The tour: the paging lessons of the workbook's tour, on any design through
 * `PagingDesign` only: a user space, a mapping and its first walk, a TLB
 * hit, a fault with its error code and CR2, the heap, a PTE changed without
 * invlpg (a stale TLB entry) and the invlpg that cures it, a second space
 * and the CR3 load of a switch.
 */
const tour: Scenario = {
  name: "tour",
  summary:
    "the tour: a user space, a walk, a TLB hit, a fault, the heap, a stale entry, invlpg, a CR3 switch",
  steps: () => {
    const space = (s: ScenarioState, k: string) => s.get(k) as AddressSpace;
    return [
      {
        label: "create a user address space A",
        run: (st, s) => s.set("A", st.design.createAddressSpace()),
      },
      { label: "switch to A (CR3 load)", run: (st, s) => st.design.switchTo(space(s, "A")) },
      {
        label: `map a user page at ${hex32(USER_VA)}`,
        run: (st, s) => {
          const f = st.design.allocFrames(2)!;
          s.set("frame", f);
          st.design.map(space(s, "A"), USER_VA, f, 1, PTE_PRESENT | PTE_WRITE | PTE_USER);
        },
      },
      {
        label: `write 0xCAFE at ${hex32(USER_VA)} from user mode: a miss, a walk`,
        run: (st) => st.design.write32(USER_VA, 0xcafe, 3),
      },
      {
        label: `read ${hex32(USER_VA)} again: a TLB hit`,
        run: (st) => void st.design.read32(USER_VA, 3),
      },
      {
        label: `read ${hex32(UNMAPPED_VA)}: nothing there, a page fault`,
        run: (st) => touchExpectingFault(st, UNMAPPED_VA, 3),
      },
      {
        label: "malloc 24, 200 and 3000 bytes",
        run: (st, s) =>
          s.set(
            "blocks",
            [24, 200, 3000].map((n) => st.heap.malloc(n)),
          ),
      },
      {
        label: "free the 200-byte block",
        run: (st, s) => st.heap.free((s.get("blocks") as number[])[1]!),
      },
      {
        label: `a bug: point the PTE of ${hex32(USER_VA)} at another frame, no invlpg`,
        run: (st, s) => {
          // Deliberately behind the design's back, as buggy kernel code would: the TLB keeps the old frame.
          const { mmu } = st.machine;
          const walk = explainWalk(mmu.ram, mmu, USER_VA);
          const other = (s.get("frame") as number) + PAGE_SIZE;
          if (walk.pteAddr !== null)
            mmu.ram.write32(walk.pteAddr, (other | (walk.pte! & 0xfff)) >>> 0);
        },
      },
      {
        label: `read ${hex32(USER_VA)}: the stale entry still hits the old frame`,
        run: (st) => void st.design.read32(USER_VA, 3),
      },
      { label: `invlpg ${hex32(USER_VA)}`, run: (st) => st.machine.mmu.invlpg(USER_VA) },
      {
        label: `read ${hex32(USER_VA)}: a walk finds the new frame`,
        run: (st) => void st.design.read32(USER_VA, 3),
      },
      {
        label: "create address space B and switch to it (CR3 load flushes)",
        run: (st, s) => {
          const b = st.design.createAddressSpace()!;
          s.set("B", b);
          st.design.switchTo(b);
        },
      },
      {
        label: `read ${hex32(USER_VA)} in B: not mapped here, a fault`,
        run: (st) => touchExpectingFault(st, USER_VA, 3),
      },
    ];
  },
};

/**
 * A malloc workload: the trace `generateTrace({ seed })` from `@mm386/malloc`
 * makes, one allocation, free or realloc per step, each new block's first
 * word written through the heap's pages.
 */
const workload: Scenario = {
  name: "workload",
  summary: "a seeded malloc workload (malloc's trace generator): malloc, free, realloc",
  steps: (seed) => {
    const trace = parseTrace(generateTrace({ seed, ops: 40 }), `workload ${seed}`);
    return trace.ops.map((op): ScenarioStep => {
      const ptrs = (s: ScenarioState) => {
        if (!s.has("ptrs")) s.set("ptrs", new Map<number, number>());
        return s.get("ptrs") as Map<number, number>;
      };
      if (op.kind === "a")
        return {
          label: `malloc(${op.size}) -> #${op.id}`,
          run: (st, s) => {
            const bp = st.heap.malloc(op.size);
            if (bp !== null) {
              ptrs(s).set(op.id, bp);
              st.design.write32(bp, op.id, 0);
            }
          },
        };
      if (op.kind === "f")
        return {
          label: `free #${op.id}`,
          run: (st, s) => {
            const bp = ptrs(s).get(op.id);
            if (bp !== undefined) st.heap.free(bp);
            ptrs(s).delete(op.id);
          },
        };
      return {
        label: `realloc #${op.id} to ${op.size}`,
        run: (st, s) => {
          const bp = st.heap.realloc(ptrs(s).get(op.id) ?? 0, op.size);
          if (bp !== null) ptrs(s).set(op.id, bp);
        },
      };
    });
  },
};

/** The scenarios the viewer offers, by name. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = { tour, workload };

/**
 * Makes a booted stack of the named design; the default is `createStack`
 * from `@mm386/malloc`. It must pass `options` on: the viewer sets the RAM
 * size and subscribes to the MMU in `options.beforeBoot` (a factory with a
 * `beforeBoot` of its own calls both).
 */
export type StackFactory = (design: string, options: DesignStackOptions) => DesignStack;

/** The stack factory the viewer uses unless told otherwise. */
export const defaultStackFactory: StackFactory = (design, options) =>
  createStack({ ...options, design });

/** What a {@link Session} runs: the URL's four values. */
export interface SessionOptions {
  /** A design name (default `"hobby"`). */
  readonly design?: string;
  /** A key of {@link SCENARIOS} (default `"tour"`). */
  readonly scenario?: string;
  /** The seed, a positive whole number below 2^32 (default 1). */
  readonly seed?: number;
  /** Makes the stack (default {@link defaultStackFactory}); the workbook passes the student's. */
  readonly makeStack?: StackFactory;
  /** The designs offered (default `designNames()` from `@mm386/malloc`). */
  readonly designs?: readonly string[];
  /** RAM of the simulated machine (default 32 MiB: every frame is shown). */
  readonly ramBytes?: number;
}

/** One MMU event and the step that caused it. */
export interface TimedEvent {
  /** The step (1-based: the event happened while going from step-1 to step). */
  readonly step: number;
  /** The event. */
  readonly event: MmuEvent;
  /** TLB hits are folded: how many hits on the same page in a row this entry stands for (1 for other events). */
  readonly count: number;
}

/** The most events a session keeps (the oldest are dropped first). */
export const MAX_EVENTS = 2000;

/** Check the session options and fill in the defaults; a bad value: E_BAD_ARGUMENT naming it. */
export function checkSessionOptions(
  options: SessionOptions,
): Required<Pick<SessionOptions, "design" | "scenario" | "seed">> {
  const designs = options.designs ?? designNames();
  const design = options.design ?? "hobby";
  if (typeof design !== "string" || !designs.includes(design))
    throw new ViewerError(
      VIEWER_ERROR.BAD_ARGUMENT,
      `design ${showValue(design)} is not one of ${designs.join(", ")}`,
    );
  const scenario = options.scenario ?? "tour";
  if (typeof scenario !== "string" || !Object.hasOwn(SCENARIOS, scenario))
    throw new ViewerError(
      VIEWER_ERROR.BAD_ARGUMENT,
      `scenario ${showValue(scenario)} is not one of ${Object.keys(SCENARIOS).join(", ")}`,
    );
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 1 || seed >= 2 ** 32)
    throw new ViewerError(
      VIEWER_ERROR.BAD_ARGUMENT,
      `seed ${showValue(seed)} is not a whole number from 1 to 4294967295`,
    );
  return { design, scenario, seed };
}

/**
 * One run of a scenario on one design, at some step. Going forward runs the
 * next step on the live stack; going back boots a fresh stack and replays.
 */
export class Session {
  /** The design name. */
  declare readonly design: string;
  /** The scenario name. */
  declare readonly scenario: string;
  /** The seed. */
  declare readonly seed: number;
  /** The scenario's steps for this seed. */
  declare readonly steps: readonly ScenarioStep[];
  readonly #makeStack: StackFactory;
  readonly #ramBytes: number;
  #stack!: DesignStack;
  #state!: ScenarioState;
  #step = 0;
  #events: TimedEvent[] = [];
  #hits = new Map<number, number>();
  #bootKernel = new Set<number>();
  #extras: ViewerExtras = {};
  #failure: string | null = null;

  /** Boot the stack (step 0). Bad options: E_BAD_ARGUMENT, nothing made. */
  constructor(options: SessionOptions = {}) {
    const o = checkSessionOptions(options);
    this.design = o.design;
    this.scenario = o.scenario;
    this.seed = o.seed;
    this.steps = SCENARIOS[o.scenario]!.steps(o.seed);
    this.#makeStack = options.makeStack ?? defaultStackFactory;
    this.#ramBytes = options.ramBytes ?? 32 * 1024 * 1024;
    this.#boot();
  }

  #boot(): void {
    this.#events = [];
    this.#hits = new Map();
    this.#state = new Map();
    this.#step = 0;
    this.#failure = null;
    const stack = this.#makeStack(this.design, {
      ramBytes: this.#ramBytes,
      // Subscribe before boot so that boot's own CR3 load is on the timeline (as step 0).
      beforeBoot: (m) =>
        m.mmu.subscribe((event) => {
          if (event.type === "tlb-hit") {
            const vpn = event.va >>> 12;
            this.#hits.set(vpn, (this.#hits.get(vpn) ?? 0) + 1);
            // Hits in a row on one page fold into one entry: listed one by one they would drown the timeline.
            const last = this.#events[this.#events.length - 1];
            if (
              last &&
              last.step === this.#step &&
              last.event.type === "tlb-hit" &&
              last.event.va >>> 12 === vpn
            ) {
              this.#events[this.#events.length - 1] = { ...last, count: last.count + 1 };
              return;
            }
          }
          this.#events.push({ step: this.#step, event, count: 1 });
          if (this.#events.length > MAX_EVENTS)
            this.#events.splice(0, this.#events.length - MAX_EVENTS);
        }),
    });
    this.#stack = stack;
    this.#bootKernel = kernelFrames(stack);
    this.#extras = extrasFor(stack);
  }

  /** The live stack (read it; changing it puts the session out of step with its scenario). */
  get stack(): DesignStack {
    return this.#stack;
  }

  /** The current step: 0 (just booted) to `steps.length`. */
  get step(): number {
    return this.#step;
  }

  /** What the last step threw, when it failed (the session stays at that step), else null. */
  get failure(): string | null {
    return this.#failure;
  }

  /** The MMU's events so far, oldest first (at most {@link MAX_EVENTS}; hits in a row on one page folded). */
  get events(): readonly TimedEvent[] {
    return this.#events;
  }

  /** Run the next step; false at the end. */
  forward(): boolean {
    if (this.#step >= this.steps.length) return false;
    const step = this.steps[this.#step]!;
    this.#step++;
    try {
      step.run(this.#stack, this.#state);
    } catch (e) {
      this.#failure = `step ${this.#step} (${step.label}): ${e instanceof Error ? e.message : String(e)}`;
    }
    return true;
  }

  /** Back one step (a fresh boot and a replay); false at step 0. */
  back(): boolean {
    if (this.#step === 0) return false;
    this.goTo(this.#step - 1);
    return true;
  }

  /**
   * Go to step `n` (0..steps.length): forward from here, or a fresh boot and
   * a replay when `n` is behind. A bad `n`: E_BAD_ARGUMENT, nothing changed.
   */
  goTo(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.steps.length)
      throw new ViewerError(
        VIEWER_ERROR.BAD_ARGUMENT,
        `step ${showValue(n)} is not a whole number from 0 to ${this.steps.length}`,
      );
    if (n < this.#step) this.#boot();
    while (this.#step < n) this.forward();
  }

  /** What the viewer shows now. */
  view(): StackView {
    return inspectStack(this.#stack, this.#extras, {
      bootKernel: this.#bootKernel,
      hits: this.#hits,
    });
  }
}
