/**
 * stack-snapshot: the runs a design reports and the page tables it prints must
 * agree, checked with the hardware's own walk over the printed frames only
 * (a fresh PhysicalMemory holding nothing but `writes`), and by counting the
 * present PTEs in those frames, both independent of the design's dump.
 */
import { CR0, CR4, PDE, PTE, PhysicalMemory, explainWalk, parseReplay } from "@mm386/hw-i386";
import { describe, expect, it } from "vitest";
import { stackSnapshotCli } from "../src/snapshot-cli.js";
import { type StackSnapshot, populateStack, snapshotStack } from "../src/snapshot.js";
import { createStack, designNames } from "../src/stack.js";

const num = (h: string) => Number.parseInt(h, 16);

/** Check `snap` against its own frames; returns the number of runs checked. */
function checkAgainstTables(snap: StackSnapshot): number {
  const ram = new PhysicalMemory();
  for (const w of snap.writes) w.u32.forEach((v, i) => ram.write32(num(w.paddr) + 4 * i, num(v)));
  const regs = (cr3: string) => ({
    cr0: CR0.PE | CR0.PG | (snap.cr0.wp ? CR0.WP : 0),
    cr3: num(cr3),
    cr4: (snap.cr4.pse ? CR4.PSE : 0) | (snap.cr4.pge ? CR4.PGE : 0),
  });
  let checked = 0;
  const check = (cr3: string, runs: StackSnapshot["kernel"]) => {
    for (const r of runs) {
      const flags = num(r.flags);
      for (const page of new Set([0, r.pages >> 1, r.pages - 1])) {
        const va = num(r.virt) + page * 4096;
        const w = explainWalk(ram, regs(cr3), va + 0x10);
        const want = [
          num(r.phys) + page * 4096 + 0x10,
          (flags & PTE.US) !== 0,
          (flags & PTE.RW) !== 0,
        ];
        const got = [w.pa, w.user, w.writable];
        if (got.some((x, i) => x !== want[i]))
          expect(got, `${va.toString(16)} in ${cr3}`).toEqual(want);
      }
      checked++;
    }
  };
  for (const s of snap.spaces) check(s.cr3, s.user);
  check(snap.reference, snap.kernel);
  return checked;
}

/** Present 4 KiB PTEs of directory `cr3` in [fromPde, toPde), counted in the printed frames. */
function presentPages(snap: StackSnapshot, cr3: string, fromPde: number, toPde: number): number {
  const frames = new Map(snap.writes.map((w) => [num(w.paddr), w.u32.map(num)]));
  const dir = frames.get(num(cr3));
  expect(dir, `directory ${cr3} is in writes`).toBeDefined();
  let n = 0;
  for (let r = fromPde; r < toPde; r++) {
    const pde = dir![r]!;
    if ((pde & PDE.P) === 0) continue;
    // A recursive PDE (Whitix's 1023) maps the tables, not memory: the runs leave it out.
    if ((pde & 0xffff_f000) >>> 0 === num(cr3)) continue;
    if (snap.cr4.pse && (pde & PDE.PS) !== 0) {
      n += 1024;
      continue;
    }
    const table = frames.get((pde & 0xffff_f000) >>> 0);
    expect(table, `table of PDE ${r}`).toBeDefined();
    n += table!.filter((pte) => (pte & PTE.P) !== 0).length;
  }
  return n;
}

describe("stack snapshot of the hobby design", () => {
  const stack = createStack({ ramBytes: 32 * 1024 * 1024 });
  const made = populateStack(stack, 3);
  const snap = snapshotStack(stack, made);
  const pages = (runs: StackSnapshot["kernel"]) => runs.reduce((a, r) => a + r.pages, 0);

  it("is an mmu-replay case, loaded in the first user space", () => {
    const [c] = parseReplay(JSON.parse(JSON.stringify(snap)));
    expect(c!.cr3).toBe(made[0]!.cr3);
    expect(c!.steps).toEqual([]);
    expect(snap.reference).toBe(`0x${stack.paging.init.phys.toString(16).padStart(8, "0")}`);
    expect(snap.spaces.map((s) => num(s.cr3))).toEqual(made.map((s) => s.cr3));
  });

  it("gives each user space its image at 0x08048000 and a stack page below the split, as the design mapped them", () => {
    for (const s of snap.spaces) {
      expect(pages(s.user)).toBe(4);
      const flagsAt = (va: number) =>
        s.user.find((r) => num(r.virt) <= va && va < num(r.virt) + r.pages * 4096)?.flags;
      expect([0x0804_8000, 0x0804_9000, 0x0804_a000, 0xbfff_f000].map(flagsAt)).toEqual([
        "0x005",
        "0x005",
        "0x007",
        "0x007",
      ]);
    }
  });

  it("prints tables that make the MMU agree with every run", () => {
    expect(checkAgainstTables(snap)).toBeGreaterThan(10);
  });

  it("has runs for every present PTE and nothing more", () => {
    for (const s of snap.spaces) expect(pages(s.user)).toBe(presentPages(snap, s.cr3, 0, 768));
    expect(pages(snap.kernel)).toBe(presentPages(snap, snap.reference, 768, 1024));
  });

  it("prints every directory and page-table frame, whole, and nothing else", () => {
    const addrs = snap.writes.map((w) => num(w.paddr));
    expect(new Set(addrs).size).toBe(addrs.length);
    expect(snap.writes.every((w) => w.u32.length === 1024)).toBe(true);
    const dirs = [snap.reference, ...snap.spaces.map((s) => s.cr3)].map(num);
    const wanted = new Set(dirs);
    const frames = new Map(snap.writes.map((w) => [num(w.paddr), w.u32.map(num)]));
    for (const d of dirs)
      for (const pde of frames.get(d)!) if (pde & PDE.P) wanted.add((pde & 0xffff_f000) >>> 0);
    expect(new Set(addrs)).toEqual(wanted);
    // By hand: 4 directories, the kernel tables shared by all, two user tables per space.
    const kernelTables = frames
      .get(dirs[0]!)!
      .slice(768)
      .filter((pde) => pde & PDE.P).length;
    expect(addrs).toHaveLength(4 + kernelTables + 3 * 2);
  });
});

describe.each(designNames())("stack snapshot of every design: %s", (design) => {
  const stack = createStack({ design, ramBytes: 64 * 1024 * 1024 });
  const made = populateStack(stack, 2);
  const snap = snapshotStack(stack, made);
  const pages = (runs: StackSnapshot["kernel"]) => runs.reduce((a, r) => a + r.pages, 0);
  const userStart = stack.design.userStart;
  const split = stack.design.split;

  it("prints tables that make the MMU agree with every run", () => {
    expect(snap.spaces).toHaveLength(2);
    expect(checkAgainstTables(snap)).toBeGreaterThan(4);
  });

  it("has runs for every present PTE of the user region and of the kernel half, and nothing more", () => {
    for (const s of snap.spaces)
      expect(pages(s.user)).toBe(presentPages(snap, s.cr3, userStart >>> 22, split >>> 22));
    expect(pages(snap.kernel)).toBe(presentPages(snap, snap.reference, split >>> 22, 1024));
  });

  it("maps each space's image at 0x08048000 and a stack page below the split, user-accessible", () => {
    for (const s of snap.spaces) {
      const flagsAt = (va: number) =>
        s.user.find((r) => num(r.virt) <= va && va < num(r.virt) + r.pages * 4096)?.flags;
      expect([0x0804_8000, 0x0804_9000, 0x0804_a000, split - 4096].map(flagsAt)).toEqual([
        "0x005",
        "0x005",
        "0x007",
        "0x007",
      ]);
    }
  });
});

describe("stack snapshot of Linux with highmem (2 GiB)", () => {
  it("gives user pages and user page tables frames above the direct map (HIGHPTE), and has the pkmap table", () => {
    const stack = createStack({ design: "linux", ramBytes: 2048 * 1024 * 1024 });
    const made = populateStack(stack, 2);
    const snap = snapshotStack(stack, made);
    const lowEnd = 896 * 1024 * 1024; // max_low_pfn with the default split
    for (const s of snap.spaces) {
      for (const r of s.user) expect(num(r.phys), r.virt).toBeGreaterThanOrEqual(lowEnd);
      const dir = snap.writes.find((w) => w.paddr === s.cr3)!.u32.map(num);
      const userTables = dir.slice(0, 768).filter((pde) => pde & PDE.P);
      expect(userTables.length).toBeGreaterThan(0);
      for (const pde of userTables)
        expect((pde & 0xffff_f000) >>> 0).toBeGreaterThanOrEqual(lowEnd);
    }
    // PKMAP_BASE's table: a present kernel PDE in the top 128 MiB besides the fixmap's.
    const ref = snap.writes.find((w) => w.paddr === snap.reference)!.u32.map(num);
    const top = ref.slice(1024 - 32).filter((pde) => pde & PDE.P).length;
    expect(top).toBeGreaterThanOrEqual(2);
    expect(checkAgainstTables(snap)).toBeGreaterThan(4);
  });
});

describe("the stack-snapshot command", () => {
  const cli = (args: string[]) => {
    let stdout = "";
    let stderr = "";
    const status = stackSnapshotCli(args, {
      out: (t) => (stdout += t),
      err: (t) => (stderr += t),
    });
    return { status, stdout, stderr };
  };
  it("prints one JSON object whose tables agree with its runs", () => {
    const r = cli(["--design", "hobby", "--ram", "16", "--spaces", "1"]);
    expect(r.status).toBe(0);
    const snap = JSON.parse(r.stdout) as StackSnapshot;
    expect(snap.spaces).toHaveLength(1);
    expect(checkAgainstTables(snap)).toBeGreaterThan(3);
  });

  it("refuses bad options with a message naming the value, exit 2 and nothing on stdout", () => {
    for (const [args, named] of [
      [["--design", "hobbit"], '"hobbit"'],
      [["--ram", "3"], '"3"'],
      [["--ram", "1e3"], '"1e3"'],
      [["--spaces", "-1"], '"-1"'],
      [["--spaces", "257"], '"257"'],
      [["--frob"], "--frob"],
      [["extra"], "extra"],
    ] as const) {
      const r = cli([...args]);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(named);
    }
    const help = cli(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: stack-snapshot/);
  });
});
