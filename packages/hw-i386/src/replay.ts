/**
 * Replay: run JSON-described MMU cases step by step, for differential testing
 * against other x86 implementations.
 *
 * A case starts from zeroed physical memory and an empty unbounded TLB, puts
 * `writes` into memory, sets CR4 (PSE, PGE), CR3, then CR0 = PE | PG (| WP),
 * and runs its steps. Every step yields one output line; a page fault is a
 * result, not an error, and the case goes on.
 *
 * Numbers are JSON numbers or `"0x..."` strings. Everything is validated
 * before anything runs, so bad input produces no output but a
 * {@link ReplayInputError} naming the case and step.
 *
 * @module
 */
import { type AccessSize, CR0, CR4, type Cpl } from "./api.js";
import { PageFault, hex32 } from "./errors.js";
import { Mmu } from "./mmu.js";
import { PhysicalMemory } from "./ram.js";

/** `{"op":"read"}`: a linear read through the MMU. */
export interface ReplayRead {
  /** Discriminant. */
  readonly op: "read";
  /** Privilege level of the access. */
  readonly cpl: Cpl;
  /** Linear address. */
  readonly vaddr: number;
  /** Bytes read. */
  readonly size: AccessSize;
}

/** `{"op":"write"}`: a linear write through the MMU. */
export interface ReplayWrite {
  /** Discriminant. */
  readonly op: "write";
  /** Privilege level of the access. */
  readonly cpl: Cpl;
  /** Linear address. */
  readonly vaddr: number;
  /** Bytes written. */
  readonly size: AccessSize;
  /** Value written, below 2^(8 * size). */
  readonly value: number;
}

/** `{"op":"invlpg"}`: drop the TLB entry for a page. */
export interface ReplayInvlpg {
  /** Discriminant. */
  readonly op: "invlpg";
  /** Any linear address in the page. */
  readonly vaddr: number;
}

/** `{"op":"loadcr3"}`: MOV to CR3. */
export interface ReplayLoadCr3 {
  /** Discriminant. */
  readonly op: "loadcr3";
  /** The new CR3. */
  readonly value: number;
}

/** `{"op":"pread"}`: a 32-bit physical read, bypassing MMU and TLB. */
export interface ReplayPread {
  /** Discriminant. */
  readonly op: "pread";
  /** Physical address. */
  readonly paddr: number;
}

/** `{"op":"pwrite"}`: a 32-bit physical write; the TLB is not told. */
export interface ReplayPwrite {
  /** Discriminant. */
  readonly op: "pwrite";
  /** Physical address. */
  readonly paddr: number;
  /** Value written. */
  readonly value: number;
}

/** A step of a replay case, after validation. */
export type ReplayStep =
  ReplayRead | ReplayWrite | ReplayInvlpg | ReplayLoadCr3 | ReplayPread | ReplayPwrite;

/** A replay case, after validation. */
export interface ReplayCase {
  /** Names the case in every output line. */
  readonly name: string;
  /** CR0 bits besides PE and PG (which are always on). */
  readonly cr0: {
    /** CR0.WP. */
    readonly wp: boolean;
  };
  /** CR4 bits. */
  readonly cr4: {
    /** CR4.PSE: 4 MiB pages. */
    readonly pse: boolean;
    /** CR4.PGE: global pages. */
    readonly pge: boolean;
  };
  /** The initial CR3. */
  readonly cr3: number;
  /** Words put into physical memory before the steps run. */
  readonly writes: readonly {
    /** Physical address of the first word. */
    readonly paddr: number;
    /** Consecutive little-endian 32-bit words. */
    readonly u32: readonly number[];
  }[];
  /** The steps, in order. */
  readonly steps: readonly ReplayStep[];
}

/** Output line of a step that completed. */
export interface ReplayOkLine {
  /** The case's name. */
  readonly case: string;
  /** Index of the step, from 0. */
  readonly step: number;
  /** Always true. */
  readonly ok: true;
  /** For read and pread: the value, as `"0x%08x"`. */
  readonly value?: string;
}

/** Output line of a step that raised a page fault. */
export interface ReplayFaultLine {
  /** The case's name. */
  readonly case: string;
  /** Index of the step, from 0. */
  readonly step: number;
  /** Always `"PF"`. */
  readonly fault: "PF";
  /** The page-fault error code. */
  readonly errorCode: number;
  /** CR2, as `"0x%08x"`. */
  readonly cr2: string;
}

/** One line of replay output, in the exact key order that is printed. */
export type ReplayLine = ReplayOkLine | ReplayFaultLine;

/** Bad replay input: the message names the case and, where there is one, the step. */
export class ReplayInputError extends Error {
  /** Always `"ReplayInputError"`. */
  override readonly name = "ReplayInputError";
  /** Always `"E_REPLAY_INPUT"`. */
  readonly code = "E_REPLAY_INPUT";
}

type Where = string;

function fail(where: Where, what: string): never {
  throw new ReplayInputError(`${where}: ${what}`);
}

/**
 * A value as the message should show it. JSON.stringify would print a number
 * that JSON.parse made Infinity (`1e400`) as `null`, and throws on a BigInt
 * or a cycle (parseReplay takes any value); numbers print as JavaScript
 * prints them, long values are cut.
 */
function shown(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "bigint") return `${String(v)}n`;
  if (typeof v === "symbol") return v.toString();
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = undefined;
  }
  if (text === undefined) return typeof v === "function" ? "a function" : String(typeof v);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: unknown, where: Where, field: string, max = 2 ** 32): number {
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && /^0x[0-9a-f]+$/i.test(v)) n = Number.parseInt(v.slice(2), 16);
  else if (v === undefined) fail(where, `missing field "${field}"`);
  else fail(where, `"${field}" must be a number or a "0x..." string, got ${shown(v)}`);
  if (!Number.isInteger(n) || n < 0)
    fail(where, `"${field}" must be a non-negative integer, got ${shown(v)}`);
  if (n >= max) {
    const limit =
      max === 2 ** 32 ? "past 4 GiB (0xffffffff is the last address)" : `not below ${hex32(max)}`;
    fail(where, `"${field}" ${shown(v)} is ${limit}`);
  }
  return n;
}

function bool(v: unknown, where: Where, field: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") fail(where, `"${field}" must be true or false, got ${shown(v)}`);
  return v;
}

function cplOf(v: unknown, where: Where): 0 | 3 {
  if (v === undefined) fail(where, `missing field "cpl"`);
  if (v !== 0 && v !== 3) fail(where, `"cpl" must be 0 or 3, got ${shown(v)}`);
  return v;
}

function sizeOf(v: unknown, where: Where): 1 | 2 | 4 {
  if (v === undefined) fail(where, `missing field "size"`);
  if (v !== 1 && v !== 2 && v !== 4) fail(where, `"size" must be 1, 2 or 4, got ${shown(v)}`);
  return v;
}

function parseStep(raw: unknown, where: Where): ReplayStep {
  if (!isObject(raw)) fail(where, "a step must be an object");
  switch (raw.op) {
    case "read":
      return {
        op: "read",
        cpl: cplOf(raw.cpl, where),
        vaddr: num(raw.vaddr, where, "vaddr"),
        size: sizeOf(raw.size, where),
      };
    case "write": {
      const size = sizeOf(raw.size, where);
      return {
        op: "write",
        cpl: cplOf(raw.cpl, where),
        vaddr: num(raw.vaddr, where, "vaddr"),
        size,
        value: num(raw.value, where, "value", 2 ** (8 * size)),
      };
    }
    case "invlpg":
      return { op: "invlpg", vaddr: num(raw.vaddr, where, "vaddr") };
    case "loadcr3":
      return { op: "loadcr3", value: num(raw.value, where, "value") };
    case "pread":
      return { op: "pread", paddr: num(raw.paddr, where, "paddr") };
    case "pwrite":
      return {
        op: "pwrite",
        paddr: num(raw.paddr, where, "paddr"),
        value: num(raw.value, where, "value"),
      };
    case undefined:
      return fail(where, `missing field "op"`);
    default:
      return fail(
        where,
        `unknown op ${shown(raw.op)} (read, write, invlpg, loadcr3, pread, pwrite)`,
      );
  }
}

function parseCase(raw: unknown, index: number): ReplayCase {
  const anon = `case #${index}`;
  if (!isObject(raw)) fail(anon, "a case must be an object");
  if (typeof raw.name !== "string")
    fail(anon, raw.name === undefined ? `missing field "name"` : `"name" must be a string`);
  const where = `case "${raw.name}"`;
  const cr0 = raw.cr0 === undefined ? {} : raw.cr0;
  const cr4 = raw.cr4 === undefined ? {} : raw.cr4;
  if (!isObject(cr0)) fail(where, `"cr0" must be an object like {"wp": true}`);
  if (!isObject(cr4)) fail(where, `"cr4" must be an object like {"pse": true, "pge": false}`);
  const writesRaw = raw.writes === undefined ? [] : raw.writes;
  if (!Array.isArray(writesRaw)) fail(where, `"writes" must be an array`);
  const writes = writesRaw.map((w: unknown, i) => {
    const at = `${where}, writes[${i}]`;
    if (!isObject(w)) fail(at, "a write must be an object");
    const paddr = num(w.paddr, at, "paddr");
    if (!Array.isArray(w.u32))
      fail(at, w.u32 === undefined ? `missing field "u32"` : `"u32" must be an array`);
    const u32 = w.u32.map((v: unknown, j) => num(v, `${at}, u32[${j}]`, "u32"));
    if (paddr + 4 * u32.length > 2 ** 32) fail(at, `the words run past 4 GiB`);
    return { paddr, u32 };
  });
  if (!Array.isArray(raw.steps))
    fail(where, raw.steps === undefined ? `missing field "steps"` : `"steps" must be an array`);
  const steps = raw.steps.map((s: unknown, i) => parseStep(s, `${where}, step ${i}`));
  return {
    name: raw.name,
    cr0: { wp: bool(cr0.wp, where, "cr0.wp") },
    cr4: { pse: bool(cr4.pse, where, "cr4.pse"), pge: bool(cr4.pge, where, "cr4.pge") },
    cr3: num(raw.cr3, where, "cr3"),
    writes,
    steps,
  };
}

/** Validate replay input (one case or an array of cases, already JSON-parsed). */
export function parseReplay(input: unknown): ReplayCase[] {
  const list = Array.isArray(input) ? input : [input];
  return list.map((c, i) => parseCase(c, i));
}

/**
 * Parse the text of a replay file; bad JSON is a {@link ReplayInputError}
 * too. Every error's message starts with `source` (once: callers print it
 * as it is).
 */
export function parseReplayText(text: string, source = "input"): ReplayCase[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ReplayInputError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return parseReplay(json);
  } catch (e) {
    if (e instanceof ReplayInputError)
      throw new ReplayInputError(`${source}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Run one validated case on a fresh machine; one output line per step. */
export function runReplayCase(c: ReplayCase): ReplayLine[] {
  const ram = new PhysicalMemory();
  const mmu = new Mmu(ram);
  for (const w of c.writes) w.u32.forEach((v, i) => ram.write32(w.paddr + 4 * i, v));
  mmu.loadCr4((c.cr4.pse ? CR4.PSE : 0) | (c.cr4.pge ? CR4.PGE : 0));
  mmu.loadCr3(c.cr3);
  mmu.loadCr0(CR0.PE | CR0.PG | (c.cr0.wp ? CR0.WP : 0));
  return c.steps.map((s, step): ReplayLine => {
    const head = { case: c.name, step };
    try {
      switch (s.op) {
        case "read":
          return { ...head, ok: true, value: hex32(mmu.read(s.vaddr, s.size, s.cpl)) };
        case "write":
          mmu.write(s.vaddr, s.size, s.value, s.cpl);
          return { ...head, ok: true };
        case "invlpg":
          mmu.invlpg(s.vaddr);
          return { ...head, ok: true };
        case "loadcr3":
          mmu.loadCr3(s.value);
          return { ...head, ok: true };
        case "pread":
          return { ...head, ok: true, value: hex32(ram.read32(s.paddr)) };
        case "pwrite":
          ram.write32(s.paddr, s.value);
          return { ...head, ok: true };
      }
    } catch (e) {
      if (e instanceof PageFault)
        return { ...head, fault: "PF", errorCode: e.errorCode, cr2: hex32(e.cr2) };
      throw e;
    }
  });
}

/** Run every case; the lines of all cases in order. */
export function runReplay(cases: readonly ReplayCase[]): ReplayLine[] {
  return cases.flatMap(runReplayCase);
}
