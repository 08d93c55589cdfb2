/**
 * Vitest global setup: build the package (and the layers it references)
 * once, before any test file runs. trace.test.ts and slab-trace.test.ts
 * spawn the built `malloc-trace`; when each built it in its own beforeAll,
 * two workers could run `tsc -b` on the same dist/ at once and one failed.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Build packages/malloc with `tsc -b`. */
export function setup(): void {
  const pkg = fileURLToPath(new URL("..", import.meta.url));
  execFileSync(process.execPath, [join(pkg, "../../node_modules/typescript/bin/tsc"), "-b", pkg]);
}
