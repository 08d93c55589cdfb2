/**
 * Errors of the hw-i386 layer. Two different things:
 *
 * - {@link HwError}: the caller asked for something the machine cannot do (an
 *   address past 4 GiB, a size of 3, a reserved CR4 bit). The machine is left
 *   exactly as it was.
 * - {@link PageFault}: the simulated processor raised #PF (vector 14). This is
 *   not a bug in the caller's use of the API; it is the machine's answer.
 *
 * @module
 */

/** Codes carried by {@link HwError}. */
export const HW_ERROR = {
  /** An address that is not an integer in [0, 2^32). */
  BAD_ADDRESS: "E_BAD_ADDRESS",
  /** An access size other than 1, 2 or 4. */
  BAD_SIZE: "E_BAD_SIZE",
  /** A CPL other than 0 or 3. */
  BAD_CPL: "E_BAD_CPL",
  /** A value that does not fit the access size. */
  BAD_VALUE: "E_BAD_VALUE",
  /** A control-register value the processor would refuse with #GP. */
  GENERAL_PROTECTION: "E_GP",
  /** A TLB or machine configuration that makes no sense. */
  BAD_CONFIG: "E_BAD_CONFIG",
} as const;

/** One of the {@link HW_ERROR} codes. */
export type HwErrorCode = (typeof HW_ERROR)[keyof typeof HW_ERROR];

/** Bad input to the machine. State is unchanged when one is thrown. */
export class HwError extends Error {
  /** Always `"HwError"`. */
  override readonly name = "HwError";
  constructor(
    /** Machine-readable reason. */
    readonly code: HwErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * Format `n` as `0x` and at least eight hex digits (an address, or the end of
 * a range past 4 GiB); anything that is not a non-negative integer is printed
 * as given.
 */
export function hex32(n: unknown): string {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0
    ? `0x${n.toString(16).padStart(8, "0")}`
    : showValue(n);
}

/**
 * A short printable form of any value, for error messages: `10n`, `Symbol(x)`,
 * `"10"`, `-0`, `null`, `{"a":1}`. Never throws (a template literal would on a
 * Symbol).
 */
export function showValue(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol" || typeof v === "function") return String(v);
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "undefined";
  if (
    typeof v === "object" &&
    v !== null &&
    Object.hasOwn(v, "valueOf") &&
    typeof (v as { valueOf?: unknown }).valueOf === "function"
  ) {
    try {
      return `{ valueOf: () => ${showValue((v as { valueOf(): unknown }).valueOf())} }`;
    } catch {
      return "{ valueOf: [throws] }";
    }
  }
  try {
    return JSON.stringify(v) ?? Object.prototype.toString.call(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * The page-fault exception (#PF, vector 14), as the processor reports it:
 * an error code and the faulting linear address, which is also loaded into CR2.
 */
export class PageFault extends Error {
  /** Always `"PageFault"`. */
  override readonly name = "PageFault";
  /** Interrupt vector of #PF. */
  readonly vector = 14;
  constructor(
    /** The linear address that could not be accessed (the value of CR2). */
    readonly cr2: number,
    /** Bit 0 protection (1) vs not-present (0), bit 1 write, bit 2 CPL 3, bit 3 reserved bit. */
    readonly errorCode: number,
  ) {
    super(`#PF at ${hex32(cr2)}, error code ${errorCode} (${describeErrorCode(errorCode)})`);
  }
}

/** Spell out a page-fault error code, e.g. `"protection, write, user"`. */
export function describeErrorCode(errorCode: number): string {
  const parts = [
    errorCode & 1 ? "protection" : "not present",
    errorCode & 2 ? "write" : "read",
    errorCode & 4 ? "user" : "supervisor",
  ];
  if (errorCode & 8) parts.push("reserved bit set");
  return parts.join(", ");
}
