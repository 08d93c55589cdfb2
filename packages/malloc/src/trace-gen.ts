/**
 * Seeded generator of realistic mixed malloc traces in `.rep` format: mostly
 * small objects, some medium and large ones, a few big buffers; lifetimes
 * from a few operations to the whole run; buffers that grow by realloc, as
 * string builders and vectors do. The same seed always gives the same trace.
 *
 * @module
 */

/** Options of {@link generateTrace}. */
export interface GenerateOptions {
  /** Seed of the pseudo-random sequence (a non-zero integer). */
  readonly seed: number;
  /** About how many operations (frees of what is still live at the end come on top). */
  readonly ops: number;
}

/** A trace as `.rep` text. */
export function generateTrace(options: GenerateOptions): string {
  let x = options.seed >>> 0 || 1;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const size = () => {
    const r = rand();
    if (r < 0.55) return between(1, 12) * 8 + between(0, 7); // small objects
    if (r < 0.85) return between(100, 1024);
    if (r < 0.97) return between(1025, 8192);
    return between(8193, 65536); // big buffers
  };
  const lines: string[] = [];
  const sizes = new Map<number, number>();
  const deaths = new Map<number, number[]>();
  let nextId = 0;
  let live = 0;
  let peak = 0;
  for (let t = 0; lines.length < options.ops; t++) {
    for (const id of deaths.get(t) ?? []) {
      if (!sizes.has(id)) continue;
      lines.push(`f ${id}`);
      live -= sizes.get(id)!;
      sizes.delete(id);
    }
    deaths.delete(t);
    const r = rand();
    if (r < 0.08 && sizes.size > 0) {
      // Grow (mostly) or shrink a live block.
      const ids = [...sizes.keys()];
      const id = ids[Math.floor(rand() * ids.length)]!;
      const old = sizes.get(id)!;
      const next = Math.max(
        1,
        Math.round(old * (rand() < 0.8 ? 1.2 + rand() : 0.5 + rand() * 0.4)),
      );
      lines.push(`r ${id} ${next}`);
      live += next - old;
      sizes.set(id, next);
    } else {
      const id = nextId++;
      const n = size();
      lines.push(`a ${id} ${n}`);
      sizes.set(id, n);
      live += n;
      const l = rand();
      const lifetime =
        l < 0.4 ? between(1, 20) : l < 0.8 ? between(20, 500) : between(500, options.ops * 2);
      const list = deaths.get(t + lifetime) ?? [];
      list.push(id);
      deaths.set(t + lifetime, list);
    }
    peak = Math.max(peak, live);
  }
  for (const id of sizes.keys()) lines.push(`f ${id}`);
  return [String(peak * 2), String(nextId), String(lines.length), "1", ...lines, ""].join("\n");
}
