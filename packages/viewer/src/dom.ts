/**
 * The page: plain DOM, no framework (the page is a few panels of grids and
 * lists; a library would weigh more than the code it saves).
 *
 * ```
 *  mountViewer(root)
 *   ┌ controls: design ▾  scenario ▾  seed  ◀ step n/N ▶   (←/→ keys, Home/End)
 *   ├ page directory 32×32 [data-pde=N]   ├ page table 32×32 [data-pte=N] (click a PDE)
 *   ├ TLB: hits, misses, entries (stale marked)
 *   ├ physical memory by owner   ├ buddy free lists per order   ├ heap blocks
 *   └ MMU timeline (walks, faults with error code and CR2, invlpg, CR3 loads)
 * ```
 *
 * Every change of design, scenario, seed or step is written to the URL
 * (`history.replaceState`), so a copied URL reopens the same state.
 *
 * @module
 */
import { LARGE_PAGE_SIZE, PAGE_SIZE, PF_ERROR, hex32 } from "@mm386/hw-i386";
import { VIEWER_ERROR, ViewerError } from "./errors.js";
import { type EntryView, OWNER, type StackView, tableView } from "./inspect.js";
import {
  SCENARIOS,
  Session,
  type SessionOptions,
  type StackFactory,
  type TimedEvent,
} from "./scenario.js";
import { DEFAULT_LOCATION, type ViewerLocation, formatLocation, parseLocation } from "./url.js";
import { designNames } from "@mm386/malloc";

/** Options of {@link mountViewer}. */
export interface MountOptions {
  /** Makes each stack (default: `createStack` of `@mm386/malloc`); the workbook passes the student's layers. */
  readonly makeStack?: StackFactory;
  /** The designs offered in the picker (default `designNames()`). */
  readonly designs?: readonly string[];
  /** Where to start (default: read from `location.search`). */
  readonly location?: ViewerLocation;
  /** Write each state to the URL (default true). */
  readonly syncUrl?: boolean;
  /** A title above the panels (default "mm386 viewer"). */
  readonly title?: string;
}

/** A mounted viewer. */
export interface MountedViewer {
  /** The session on show. */
  readonly session: Session;
  /** Go to a location (design, scenario, seed, step, open PDE). */
  go(loc: Partial<ViewerLocation>): void;
  /** Milliseconds the last step took: the steps run plus the inspection plus the render. */
  readonly lastRenderMs: number;
  /** Remove the viewer's listeners (the DOM under `root` stays). */
  destroy(): void;
}

/** How many recent events the timeline lists. */
const TIMELINE_EVENTS = 80;

/** Element helper: `el("div", { class: "x" }, child...)`. */
function el(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** The classes of a grid cell: what the entry is. */
function entryClass(e: EntryView, kind: "pde" | "pte"): string {
  if (!e.present) return `cell ${kind} absent`;
  const parts = ["cell", kind, "present", e.user ? "user" : "kernel"];
  if (e.large) parts.push("large");
  if (e.special) parts.push("special");
  return parts.join(" ");
}

/** The tooltip of a grid cell. */
function entryTitle(e: EntryView, kind: "pde" | "pte", pde?: number): string {
  const va =
    kind === "pde" ? e.index * LARGE_PAGE_SIZE : pde! * LARGE_PAGE_SIZE + e.index * PAGE_SIZE;
  const head = `${kind.toUpperCase()} ${e.index} (va ${hex32(va)}) = ${hex32(e.raw)}`;
  if (!e.present) return `${head}: not present`;
  const what = e.large ? "4 MiB page at" : kind === "pde" ? "page table at" : "frame";
  return `${head}: ${what} ${hex32(e.frame)}, ${e.user ? "user" : "kernel"}, ${e.writable ? "rw" : "ro"}${e.special ? `, ${e.special}` : ""}`;
}

/** One line of the timeline for an event. */
export function describeEvent(t: TimedEvent): string {
  const e = t.event;
  switch (e.type) {
    case "walk":
      return e.pa === null
        ? `walk ${hex32(e.va)}: no translation (PDE ${hex32(e.pde)})`
        : `walk ${hex32(e.va)} -> ${hex32(e.pa)} (PDE ${hex32(e.pde)}${e.pte === null ? ", 4 MiB" : `, PTE ${hex32(e.pte)}`})`;
    case "fault": {
      const bits = [
        e.errorCode & PF_ERROR.P ? "protection" : "not present",
        e.errorCode & PF_ERROR.W ? "write" : "read",
        e.errorCode & PF_ERROR.U ? "user" : "supervisor",
      ];
      return `#PF error ${e.errorCode} (${bits.join(", ")}) CR2=${hex32(e.cr2)}`;
    }
    case "flush":
      return e.reason === "cr3"
        ? `CR3 load: ${e.dropped} TLB entries dropped`
        : e.reason === "invlpg"
          ? `invlpg ${hex32(e.va)}: ${e.dropped} dropped`
          : `TLB flush (${e.reason}${e.va === null ? "" : ` ${hex32(e.va)}`}): ${e.dropped} dropped`;
    case "tlb-miss":
      return `TLB miss ${hex32(e.va)} (${e.write ? "write" : "read"}, CPL ${e.cpl})`;
    case "tlb-hit":
      return `TLB hit ${hex32(e.va)}${t.count > 1 ? ` ×${t.count}` : ""}`;
    case "ad-update":
      return `${e.level.toUpperCase()} at ${hex32(e.entryAddr)}: A/D ${hex32(e.before)} -> ${hex32(e.after)}`;
  }
}

/** One line of the timeline. */
export interface TimelineLine {
  /** The step it belongs to. */
  readonly step: number;
  /** The event type (`"tlb-hit"` for a step's hits summed up). */
  readonly type: string;
  /** CSS classes: the type, and the flush reason for flushes. */
  readonly kind: string;
  /** What it says. */
  readonly text: string;
}

/**
 * The timeline's lines: every event but TLB hits, which become one line per
 * step (the count and the pages), where the step's first hit was; hits one
 * by one would push the walks and faults out of sight.
 */
export function timelineLines(events: readonly TimedEvent[]): TimelineLine[] {
  const out: TimelineLine[] = [];
  const hitLine = new Map<number, { index: number; hits: number; pages: Set<number> }>();
  for (const t of events) {
    const e = t.event;
    if (e.type === "tlb-hit") {
      let h = hitLine.get(t.step);
      if (!h) {
        h = { index: out.length, hits: 0, pages: new Set() };
        hitLine.set(t.step, h);
        out.push({ step: t.step, type: "tlb-hit", kind: "tlb-hit", text: "" });
      }
      h.hits += t.count;
      h.pages.add(e.va >>> 12);
      continue;
    }
    out.push({
      step: t.step,
      type: e.type,
      kind: e.type === "flush" ? `flush ${e.reason}` : e.type,
      text: describeEvent(t),
    });
  }
  for (const [step, h] of hitLine) {
    const pages = [...h.pages].slice(0, 3).map((vpn) => hex32(vpn * 4096));
    out[h.index] = {
      step,
      type: "tlb-hit",
      kind: "tlb-hit",
      text: `${h.hits} TLB hit${h.hits === 1 ? "" : "s"} on ${h.pages.size} page${h.pages.size === 1 ? "" : "s"} (${pages.join(", ")}${h.pages.size > 3 ? ", …" : ""})`,
    };
  }
  return out;
}

/**
 * Render the viewer into `root` and start at `options.location` (or the
 * URL's). A location the viewer cannot show (an unknown design, a seed that
 * is not a number): the page says so and shows the default instead.
 */
export function mountViewer(root: HTMLElement, options: MountOptions = {}): MountedViewer {
  const designs = options.designs ?? designNames();
  const syncUrl = options.syncUrl ?? true;
  let loc: ViewerLocation;
  let notice = "";
  try {
    loc = options.location ?? parseLocation(window.location.search);
  } catch (e) {
    notice = e instanceof Error ? e.message : String(e);
    loc = DEFAULT_LOCATION;
  }
  const sessionOptions = (l: ViewerLocation): SessionOptions => ({
    design: l.design,
    scenario: l.scenario,
    seed: l.seed,
    designs,
    ...(options.makeStack ? { makeStack: options.makeStack } : {}),
  });
  let session: Session;
  try {
    session = new Session(sessionOptions(loc));
  } catch (e) {
    notice = e instanceof Error ? e.message : String(e);
    loc = { ...DEFAULT_LOCATION, design: designs[0] ?? "hobby" };
    session = new Session(sessionOptions(loc));
  }

  // --- static skeleton -----------------------------------------------------
  const designSel = el("select", { "data-testid": "design", "aria-label": "design" });
  for (const d of designs) designSel.append(el("option", { value: d }, d));
  const scenarioSel = el("select", { "data-testid": "scenario", "aria-label": "scenario" });
  for (const s of Object.values(SCENARIOS))
    scenarioSel.append(el("option", { value: s.name, title: s.summary }, s.name));
  const seedIn = el("input", {
    "data-testid": "seed",
    "aria-label": "seed",
    type: "number",
    min: "1",
    step: "1",
  }) as HTMLInputElement;
  const backBtn = el("button", { "data-testid": "back", title: "back (←)" }, "◀");
  const fwdBtn = el("button", { "data-testid": "forward", title: "forward (→)" }, "▶");
  const stepOut = el("span", { "data-testid": "step" });
  const labelOut = el("span", { "data-testid": "step-label", class: "label" });
  const noticeOut = el("div", { "data-testid": "notice", class: "notice" });
  const dirGrid = el("div", { class: "grid", "data-testid": "directory" });
  const dirCells: HTMLElement[] = [];
  for (let i = 0; i < 1024; i++) {
    const c = el("div", { "data-pde": String(i) });
    dirCells.push(c);
    dirGrid.append(c);
  }
  const tableHead = el("h3", {}, "page table");
  const tableGrid = el("div", { class: "grid", "data-testid": "table" });
  const tlbHead = el("div", { "data-testid": "tlb-counters" });
  const tlbBody = el("tbody");
  const physBar = el("div", { class: "bar", "data-testid": "physical" });
  const physLegend = el("ul", { class: "legend", "data-testid": "owners" });
  const buddyList = el("ul", { "data-testid": "buddy" });
  const heapBar = el("div", { class: "heap", "data-testid": "heap" });
  const timeline = el("ol", { class: "timeline", "data-testid": "timeline" });
  root.replaceChildren(
    el("h1", {}, options.title ?? "mm386 viewer"),
    el(
      "div",
      { class: "controls" },
      el("label", {}, "design ", designSel),
      el("label", {}, "scenario ", scenarioSel),
      el("label", {}, "seed ", seedIn),
      backBtn,
      stepOut,
      fwdBtn,
      labelOut,
    ),
    noticeOut,
    el(
      "div",
      { class: "panels" },
      el("section", {}, el("h3", {}, "page directory (CR3)"), dirGrid),
      el("section", {}, tableHead, tableGrid),
      el(
        "section",
        {},
        el("h3", {}, "TLB"),
        tlbHead,
        el(
          "table",
          { "data-testid": "tlb" },
          el(
            "thead",
            {},
            el("tr", {}, ...["page", "frame", "flags", "hits", ""].map((h) => el("th", {}, h))),
          ),
          tlbBody,
        ),
      ),
      el("section", {}, el("h3", {}, "MMU events"), timeline),
      el(
        "section",
        { class: "wide" },
        el("h3", {}, "physical memory by owner"),
        physBar,
        physLegend,
      ),
      el("section", {}, el("h3", {}, "buddy free lists (frames per order)"), buddyList),
      el("section", {}, el("h3", {}, "heap blocks"), heapBar),
    ),
  );

  let lastRenderMs = 0;

  function renderTable(view: StackView): void {
    tableGrid.replaceChildren();
    if (loc.pde === null) {
      tableHead.textContent = "page table (click a PDE)";
      return;
    }
    const pte = tableView(session.stack.machine, view.cr3, loc.pde);
    tableHead.textContent =
      pte === null
        ? `PDE ${loc.pde}: no page table (not present or a 4 MiB page)`
        : `page table of PDE ${loc.pde} (va ${hex32(loc.pde * LARGE_PAGE_SIZE)})`;
    tableGrid.dataset["pde"] = String(loc.pde);
    for (const e of pte ?? [])
      tableGrid.append(
        el("div", {
          "data-pte": String(e.index),
          class: entryClass(e, "pte"),
          title: entryTitle(e, "pte", loc.pde),
        }),
      );
  }

  function render(): void {
    const view = session.view();
    designSel.setAttribute("value", session.design);
    (designSel as HTMLSelectElement).value = session.design;
    (scenarioSel as HTMLSelectElement).value = session.scenario;
    seedIn.value = String(session.seed);
    stepOut.textContent = `step ${session.step} / ${session.steps.length}`;
    root.dataset["step"] = String(session.step);
    root.dataset["design"] = session.design;
    root.dataset["cr3"] = hex32(view.cr3);
    labelOut.textContent = session.step === 0 ? "booted" : session.steps[session.step - 1]!.label;
    noticeOut.textContent = session.failure ?? notice;
    for (const e of view.directory) {
      const c = dirCells[e.index]!;
      c.className = entryClass(e, "pde") + (loc.pde === e.index ? " open" : "");
      c.title = entryTitle(e, "pde");
      if (e.special) c.dataset["special"] = e.special;
      else delete c.dataset["special"];
    }
    renderTable(view);
    tlbHead.textContent = `${view.tlb.name}: ${view.tlb.hits} hits, ${view.tlb.misses} misses, ${view.tlb.entries.length} entries, ${view.tlb.entries.filter((e) => e.stale).length} stale`;
    tlbHead.dataset["hits"] = String(view.tlb.hits);
    tlbHead.dataset["misses"] = String(view.tlb.misses);
    tlbBody.replaceChildren(
      ...view.tlb.entries.map((e) =>
        el(
          "tr",
          { "data-vpn": String(e.vpn), class: e.stale ? "stale" : "" },
          el("td", {}, hex32(e.vpn * 4096)),
          el("td", {}, hex32(e.pfn * 4096)),
          el(
            "td",
            {},
            `${e.user ? "U" : "S"}${e.writable ? "W" : "R"}${e.global ? "G" : ""}${e.large ? "L" : ""}`,
          ),
          el("td", {}, String(e.hits)),
          el("td", {}, e.stale ? "stale" : ""),
        ),
      ),
    );
    const frames = view.physical.reduce((n, r) => n + r.frames, 0);
    physBar.replaceChildren(
      ...view.physical.map((r) =>
        el("span", {
          class: `seg ${r.owner}`,
          "data-owner": r.owner,
          "data-start": String(r.startPfn),
          "data-frames": String(r.frames),
          style: `flex-grow:${r.frames}`,
          title: `${r.owner}: ${r.frames} frames from ${hex32(r.startPfn * 4096)}`,
        }),
      ),
    );
    physLegend.replaceChildren(
      ...Object.values(OWNER).map((o) =>
        el(
          "li",
          { "data-owner": o, "data-count": String(view.ownerTotals[o]) },
          el("span", { class: `swatch ${o}` }),
          `${o}: ${view.ownerTotals[o]} (${((100 * view.ownerTotals[o]) / frames).toFixed(1)}%)`,
        ),
      ),
    );
    buddyList.replaceChildren(
      ...(view.buddy === null
        ? [el("li", {}, "this design's physical allocator is not a buddy the viewer can see")]
        : view.buddy.lists.map((l, k) =>
            el(
              "li",
              { "data-order": String(k), "data-count": String(l.length) },
              `order ${k} (${2 ** k} frames): ${l.length} free${
                l.length
                  ? ` — ${l
                      .slice(0, 4)
                      .map((f) => hex32(f * 4096))
                      .join(" ")}${l.length > 4 ? " …" : ""}`
                  : ""
              }`,
            ),
          )),
    );
    heapBar.replaceChildren(
      ...(view.heap.length === 0
        ? [el("p", {}, "no heap blocks")]
        : view.heap.map((b) =>
            el(
              "span",
              {
                class: `block ${b.allocated ? "allocated" : "free"}${b.large ? " large" : ""}`,
                "data-bp": hex32(b.bp),
                "data-size": String(b.size),
                title: `${b.allocated ? "allocated" : "free"} block at ${hex32(b.bp)}, ${b.size} bytes with its 4-byte header${b.large ? " (large)" : ""}`,
                style: `flex-grow:${Math.max(1, Math.log2(b.size))}`,
              },
              el("i", { class: "hdr" }),
            ),
          )),
    );
    timeline.replaceChildren(
      ...timelineLines(session.events)
        .slice(-TIMELINE_EVENTS)
        .map((line) =>
          el(
            "li",
            {
              class: `${line.kind}${line.step === session.step ? " now" : ""}`,
              "data-event": line.type,
              "data-step": String(line.step),
            },
            `${line.step}: ${line.text}`,
          ),
        ),
    );
    timeline.scrollTop = timeline.scrollHeight;
    if (syncUrl)
      window.history.replaceState(
        null,
        "",
        formatLocation({
          design: session.design,
          scenario: session.scenario,
          seed: session.seed,
          step: session.step,
          pde: loc.pde,
        }),
      );
  }

  function timed(f: () => void): void {
    const t0 = performance.now();
    try {
      f();
    } catch (e) {
      notice = e instanceof Error ? e.message : String(e);
    }
    render();
    lastRenderMs = performance.now() - t0;
    root.dataset["renderMs"] = lastRenderMs.toFixed(1);
  }

  function go(next: Partial<ViewerLocation>, keepNotice = false): void {
    timed(() => {
      if (!keepNotice) notice = "";
      const want = { ...loc, ...next };
      if (
        want.design !== session.design ||
        want.scenario !== session.scenario ||
        want.seed !== session.seed
      )
        session = new Session(sessionOptions(want)); // refused: the old session stays
      if (want.pde !== null && (!Number.isSafeInteger(want.pde) || want.pde < 0 || want.pde > 1023))
        throw new ViewerError(VIEWER_ERROR.BAD_ARGUMENT, `pde ${want.pde} is not from 0 to 1023`);
      session.goTo(Math.min(want.step, session.steps.length));
      loc = { ...want, step: session.step };
    });
  }

  const onKey = (ev: KeyboardEvent): void => {
    const t = ev.target as HTMLElement | null;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT")) return;
    if (ev.key === "ArrowRight" || ev.key === "l") go({ step: session.step + 1 });
    else if (ev.key === "ArrowLeft" || ev.key === "h") go({ step: Math.max(0, session.step - 1) });
    else if (ev.key === "Home") go({ step: 0 });
    else if (ev.key === "End") go({ step: session.steps.length });
    else return;
    ev.preventDefault();
  };
  document.addEventListener("keydown", onKey);
  backBtn.addEventListener("click", () => go({ step: Math.max(0, session.step - 1) }));
  fwdBtn.addEventListener("click", () => go({ step: session.step + 1 }));
  designSel.addEventListener("change", () =>
    go({ design: (designSel as HTMLSelectElement).value, step: 0, pde: null }),
  );
  scenarioSel.addEventListener("change", () =>
    go({ scenario: (scenarioSel as HTMLSelectElement).value, step: 0 }),
  );
  seedIn.addEventListener("change", () => go({ seed: Number(seedIn.value), step: 0 }));
  dirGrid.addEventListener("click", (ev) => {
    const cell = (ev.target as HTMLElement).closest<HTMLElement>("[data-pde]");
    if (cell) go({ pde: Number(cell.dataset["pde"]) });
  });

  go({ step: loc.step }, true); // keep what mounting had to say about the URL
  return {
    get session() {
      return session;
    },
    go: (next) => go(next),
    get lastRenderMs() {
      return lastRenderMs;
    },
    destroy: () => document.removeEventListener("keydown", onKey),
  };
}
