/**
 * `stack-snapshot [--design NAME] [--ram MIB] [--spaces N]`: boot a design's
 * whole stack, give it N user address spaces and a few kernel allocations,
 * and print one JSON object that `mmu-replay` accepts as a case (see
 * snapshot.ts for the format). A bad option: one line on stderr naming the
 * value, nothing on stdout, status 2. `--help`: the usage on stdout, status 0.
 * @module
 */
import { parseArgs } from "node:util";
import { populateStack, snapshotStack } from "./snapshot.js";
import { DESIGNS, createStack, designNames } from "./stack.js";

const MAX_SPACES = 256;
/** 3.75 GiB: the default memory map keeps the firmware hole below 4 GiB. */
const MAX_RAM_MIB = 3840;
const usage = `usage: stack-snapshot [--design ${designNames().join("|")}] [--ram MIB] [--spaces N]

  --design NAME  the kernel design to boot (default hobby)
${designNames()
  .map((n) => `                   ${n}: ${DESIGNS[n]!.summary}`)
  .join("\n")}
  --ram MIB      installed RAM in MiB, 4 to 3840 (3.75 GiB: the rest of 4 GiB is the firmware hole; default 64)
  --spaces N     user address spaces to make, 0 to ${MAX_SPACES} (default 2)`;

/** A whole decimal number in [min, max] from option `name`, or a message naming the value. */
function wholeNumber(name: string, raw: string, min: number, max: number): number | string {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  return Number.isSafeInteger(n) && n >= min && n <= max
    ? n
    : `--${name} ${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`;
}

/** Where the command writes: stdout and stderr, or buffers in a test. */
export interface CliOutput {
  /** Standard output. */
  out(text: string): void;
  /** Standard error. */
  err(text: string): void;
}

/** Run the command with `argv` (without node and the script); returns the exit status. */
export function stackSnapshotCli(argv: readonly string[], io: CliOutput): number {
  // "--spaces -1": parseArgs would take -1 for an option and say "ambiguous"
  // without the value; joined as "--spaces=-1" it reaches the range check,
  // whose message names it.
  const args = argv.flatMap((a, i) =>
    /^-\d/.test(argv[i + 1] ?? "") && /^--\w+$/.test(a)
      ? []
      : /^-\d/.test(a) && /^--\w+$/.test(argv[i - 1] ?? "")
        ? [`${argv[i - 1]}=${a}`]
        : [a],
  );
  let values: { design?: string; ram?: string; spaces?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        design: { type: "string" },
        ram: { type: "string" },
        spaces: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.err(`stack-snapshot: ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${usage}\n`);
    return 0;
  }
  const design = values.design ?? "hobby";
  if (!Object.hasOwn(DESIGNS, design)) {
    io.err(
      `stack-snapshot: --design ${JSON.stringify(design)} is not one of ${designNames().join(", ")}\n`,
    );
    return 2;
  }
  const ram = wholeNumber("ram", values.ram ?? "64", 4, MAX_RAM_MIB);
  const spaces = wholeNumber("spaces", values.spaces ?? "2", 0, MAX_SPACES);
  for (const v of [ram, spaces]) {
    if (typeof v === "string") {
      io.err(`stack-snapshot: ${v}\n`);
      return 2;
    }
  }
  let text: string;
  try {
    const stack = createStack({ design, ramBytes: (ram as number) * 1024 * 1024 });
    const made = populateStack(stack, spaces as number);
    text = JSON.stringify(snapshotStack(stack, made));
  } catch (e) {
    // A design that cannot boot or fill this machine (too little RAM...) names the reason.
    if (e instanceof Error && typeof (e as { code?: unknown }).code === "string") {
      io.err(`stack-snapshot: --design ${design} --ram ${ram} --spaces ${spaces}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  io.out(`${text}\n`);
  return 0;
}
