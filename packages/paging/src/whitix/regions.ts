/**
 * The kernel regions allocKernelRegion handed out and that are not all
 * mapped yet: sorted, disjoint, merged intervals of addresses.
 *
 * Whitix itself has no such list: its page tables are the record of what
 * is taken (a present PTE), which VirtMapPhysRange scans. The design
 * interface adds "reserve n pages now, map them later", and a reserved page
 * has no PTE yet, so the reservation lives here, in TypeScript, as allocator
 * bookkeeping the source keeps outside the managed memory would (DESIGN.md
 * §2). Its size grows with the number of regions, not with the heap.
 *
 * @module
 */

/** Sorted, disjoint, never-touching half-open intervals `[start, end)`. */
export class RegionSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Number of intervals (after merging). */
  get size(): number {
    return this.starts.length;
  }

  /** Index of the first interval whose end is after `a` (the one holding `a`, or the next one). */
  private firstEndingAfter(a: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! <= a) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The interval holding `a`, or the first one after it, as `[start, end)`; null if none. */
  atOrAfter(a: number): readonly [number, number] | null {
    const i = this.firstEndingAfter(a);
    return i < this.starts.length ? [this.starts[i]!, this.ends[i]!] : null;
  }

  /** True if every address of `[start, end)` is in the set. */
  covers(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start);
    return i < this.starts.length && this.starts[i]! <= start && end <= this.ends[i]!;
  }

  /** True if some address of `[start, end)` is in the set. */
  overlaps(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start);
    return i < this.starts.length && this.starts[i]! < end;
  }

  /** Add `[start, end)`, which must not overlap the set (the caller found it free). */
  add(start: number, end: number): void {
    const i = this.firstEndingAfter(start);
    // Merge with a neighbour that touches it on either side.
    const left = i > 0 && this.ends[i - 1] === start;
    const right = i < this.starts.length && this.starts[i] === end;
    if (left && right) {
      this.ends[i - 1] = this.ends[i]!;
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (left) this.ends[i - 1] = end;
    else if (right) this.starts[i] = start;
    else {
      this.starts.splice(i, 0, start);
      this.ends.splice(i, 0, end);
    }
  }

  /** Remove `[start, end)`, which {@link RegionSet.covers} must have accepted. */
  remove(start: number, end: number): void {
    const i = this.firstEndingAfter(start);
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    const pieces: [number, number][] = [];
    if (s < start) pieces.push([s, start]);
    if (end < e) pieces.push([end, e]);
    this.starts.splice(i, 1, ...pieces.map((p) => p[0]));
    this.ends.splice(i, 1, ...pieces.map((p) => p[1]));
  }

  /** The intervals, for tests and inspection. */
  intervals(): [number, number][] {
    return this.starts.map((s, i) => [s, this.ends[i]!]);
  }
}
