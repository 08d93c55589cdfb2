/**
 * The rows as a table a person reads: the parts of the combination, the
 * counters, the peaks, then the wall time apart (the one figure that is not
 * deterministic), and why a row stopped early.
 *
 * @module
 */
import pc from "picocolors";
import { NOT_APPLICABLE, type Row } from "./api.js";

/** The parts of a combination a row names, in combination order. */
export const COMBINATION_PARTS = ["design", "tlb", "ranges", "heap", "policy", "trace"] as const;

/** One of {@link COMBINATION_PARTS}. */
export type CombinationPart = (typeof COMBINATION_PARTS)[number];

/** The combination's parts a table or a chart shows: the design always, the others unless all "n/a". */
export function varyingParts(rows: readonly Row[]): CombinationPart[] {
  return COMBINATION_PARTS.filter(
    (p) => p === "design" || rows.some((r) => r[p] !== NOT_APPLICABLE),
  );
}

/** A number for the table: null as "n/a", rates as percentages, fractions with two decimals. */
function cell(v: number | null, kind: "count" | "percent" | "fraction" | "ms"): string {
  if (v === null) return NOT_APPLICABLE;
  if (kind === "percent") return `${(v * 100).toFixed(1)}%`;
  if (kind === "fraction") return v.toFixed(2);
  if (kind === "ms") return v < 10 ? v.toFixed(2) : v.toFixed(0);
  return String(v);
}

/** Format `rows` as an aligned text table; colours only when `color` is true. */
export function formatTable(rows: readonly Row[], color = false): string {
  const c = pc.createColors(color);
  const parts = varyingParts(rows);
  const columns: { head: string; get: (r: Row) => string; right: boolean }[] = [
    ...parts.map((p) => ({ head: p, get: (r: Row) => r[p], right: false })),
    { head: "accesses", get: (r) => cell(r.mmuAccesses, "count"), right: true },
    { head: "walks", get: (r) => cell(r.walks, "count"), right: true },
    { head: "misses", get: (r) => cell(r.tlbMisses, "count"), right: true },
    { head: "hit rate", get: (r) => cell(r.tlbHitRate, "percent"), right: true },
    { head: "cr3", get: (r) => cell(r.flushes.cr3, "count"), right: true },
    { head: "invlpg", get: (r) => cell(r.flushes.invlpg, "count"), right: true },
    { head: "full", get: (r) => cell(r.flushes.full, "count"), right: true },
    { head: "faults", get: (r) => cell(r.faults, "count"), right: true },
    { head: "pt pages", get: (r) => cell(r.pageTablePages, "count"), right: true },
    { head: "phys pages", get: (r) => cell(r.physicalPages, "count"), right: true },
    { head: "kvirt pages", get: (r) => cell(r.kernelVirtualPages, "count"), right: true },
    { head: "frag", get: (r) => cell(r.fragmentation, "fraction"), right: true },
    { head: "wall ms", get: (r) => cell(r.wallMs, "ms"), right: true },
  ];
  const cells = rows.map((r) => columns.map((col) => col.get(r)));
  const widths = columns.map((col, i) =>
    Math.max(col.head.length, ...cells.map((row) => row[i]!.length)),
  );
  // Wall time stands apart, after a bar: it is the one figure that is not deterministic.
  const line = (texts: string[]) => {
    const padded = texts.map((t, i) =>
      columns[i]!.right ? t.padStart(widths[i]!) : t.padEnd(widths[i]!),
    );
    return `${padded.slice(0, -1).join("  ")}  | ${padded.at(-1)!}`;
  };
  const out = [c.bold(line(columns.map((col) => col.head)))];
  rows.forEach((r, i) => {
    out.push(line(cells[i]!).replaceAll(NOT_APPLICABLE, c.dim(NOT_APPLICABLE)));
    if (r.error !== null) out.push(c.red(`  ^ ${r.outOfMemory ? "" : "error: "}${r.error}`));
  });
  return out.join("\n");
}
