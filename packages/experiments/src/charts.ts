/**
 * Charts a person can open: one self-contained SVG bar chart per figure
 * (no script, no external font or style), and one HTML file holding them
 * all with the table of rows.
 *
 * ```
 *  walks                          <- the figure
 *  hobby 64:4:lru  |██████████ 1234
 *  hobby unbounded |████ 512      <- one bar per row, labelled by the parts that vary
 * ```
 *
 * @module
 */
import { NOT_APPLICABLE, type Row } from "./api.js";
import { COMBINATION_PARTS, type CombinationPart, varyingParts } from "./table.js";

/** The figures charted, in the order the report shows them. */
export const CHARTED_FIGURES = [
  "mmuAccesses",
  "walks",
  "tlbMisses",
  "tlbHitRate",
  "cr3Loads",
  "invlpg",
  "pageTablePages",
  "physicalPages",
  "kernelVirtualPages",
  "fragmentation",
  "wallMs",
] as const;

/** One of the {@link CHARTED_FIGURES}. */
export type ChartedFigure = (typeof CHARTED_FIGURES)[number];

/** How a chart reads one figure. */
export interface ChartSpec {
  /** The chart's title. */
  readonly title: string;
  /** The figure in a row; null where the row has none. */
  readonly get: (row: Row) => number | null;
}

/** Each charted figure: its title and how to read it from a row. */
export const CHARTED: Readonly<Record<ChartedFigure, ChartSpec>> = {
  mmuAccesses: { title: "MMU accesses", get: (r) => r.mmuAccesses },
  walks: { title: "page walks", get: (r) => r.walks },
  tlbMisses: { title: "TLB misses", get: (r) => r.tlbMisses },
  tlbHitRate: { title: "TLB hit rate", get: (r) => r.tlbHitRate },
  cr3Loads: { title: "CR3 loads", get: (r) => r.flushes.cr3 },
  invlpg: { title: "invlpg", get: (r) => r.flushes.invlpg },
  pageTablePages: { title: "page-table pages (peak)", get: (r) => r.pageTablePages },
  physicalPages: { title: "physical pages (peak)", get: (r) => r.physicalPages },
  kernelVirtualPages: { title: "kernel virtual pages (peak)", get: (r) => r.kernelVirtualPages },
  fragmentation: {
    title: "fragmentation (1 - largest free run / free)",
    get: (r) => r.fragmentation,
  },
  wallMs: { title: "wall time, ms (median; not deterministic)", get: (r) => r.wallMs },
};

/** `text` safe inside XML. */
function esc(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The label of a row in a chart: the combination's parts that vary. */
export function rowLabel(row: Row, parts: readonly CombinationPart[]): string {
  return parts
    .map((p) => row[p])
    .filter((v) => v !== NOT_APPLICABLE)
    .join(" ");
}

/** A number as the chart prints it. */
function show(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/** The parts that tell the rows apart in a chart (the design when none differ). */
export function labelParts(rows: readonly Row[]): CombinationPart[] {
  const differ = COMBINATION_PARTS.filter((p) => new Set(rows.map((r) => r[p])).size > 1);
  return differ.length > 0 ? differ : ["design"];
}

/** One horizontal bar chart of `figure` over `rows`, as a standalone SVG document. */
export function chartSvg(rows: readonly Row[], figure: ChartedFigure): string {
  const { title, get } = CHARTED[figure];
  const parts = labelParts(rows);
  const labels = rows.map((r) => rowLabel(r, parts));
  const values = rows.map(get);
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const labelWidth = Math.max(60, ...labels.map((l) => l.length * 7 + 10));
  const barWidth = 360;
  const rowHeight = 20;
  const width = labelWidth + barWidth + 90;
  const height = 34 + rows.length * rowHeight + 8;
  const bars = rows.map((_, i) => {
    const y = 34 + i * rowHeight;
    const v = values[i] ?? null;
    const w = v === null || max === 0 ? 0 : Math.max(1, (v / max) * barWidth);
    return [
      `<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${esc(labels[i]!)}</text>`,
      v === null
        ? `<text x="${labelWidth + 4}" y="${y + 14}" fill="#888">${NOT_APPLICABLE}</text>`
        : `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="#4878a8"/>` +
          `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + 14}">${show(v)}</text>`,
    ].join("");
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...bars,
    `</svg>`,
  ].join("\n");
}

/** One self-contained HTML page: the command, every chart and the rows as a table. */
export function reportHtml(rows: readonly Row[], command: string): string {
  const parts = varyingParts(rows);
  const head = [
    ...parts,
    "accesses",
    "walks",
    "misses",
    "hit rate",
    "cr3",
    "invlpg",
    "full",
    "faults",
    "pt pages",
    "phys pages",
    "kvirt pages",
    "frag",
    "wall ms",
    "error",
  ];
  const num = (v: number | null, digits = 0) => (v === null ? NOT_APPLICABLE : v.toFixed(digits));
  const body = rows.map((r) => [
    ...parts.map((p) => r[p]),
    String(r.mmuAccesses),
    String(r.walks),
    String(r.tlbMisses),
    num(r.tlbHitRate, 3),
    String(r.flushes.cr3),
    String(r.flushes.invlpg),
    String(r.flushes.full),
    String(r.faults),
    num(r.pageTablePages),
    num(r.physicalPages),
    num(r.kernelVirtualPages),
    num(r.fragmentation, 3),
    num(r.wallMs, 2),
    r.error ?? "",
  ]);
  const table = [
    `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`,
    ...body.map((cells) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`),
    `</table>`,
  ].join("\n");
  const charts = CHARTED_FIGURES.map((f) => `<figure>${chartSvg(rows, f)}</figure>`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mm386 experiment</title>
<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}figure{display:inline-block;margin:4px}</style>
</head><body>
<h1>mm386 experiment</h1>
<p><code>${esc(command)}</code></p>
${table}
${charts}
</body></html>
`;
}
