import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { defaultClientConditions, defaultServerConditions } from "vite";
import { LAYER_NAMES, layerDir } from "./layers.mjs";

// One run for the whole monorepo. The "source" export condition makes every
// workspace package resolve to its TypeScript sources, so no build is needed.
// A project per package, in layer order (the list is layers.mjs's).
const here = fileURLToPath(new URL(".", import.meta.url));
const layers = LAYER_NAMES.filter((name) => name !== "workbook");

export default defineConfig({
  resolve: { conditions: ["source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  test: {
    // Vitest keeps one core for itself by default: on these 2-core machines that is one
    // worker, and the run takes half again as long (128 s against 85 s, measured).
    maxWorkers: Math.max(2, availableParallelism()),
    // Vitest's 5 s default fails property tests that take 1-2 s alone when the shared machine
    // runs several suites at once (seen at load 15-20); a test that hangs still fails.
    testTimeout: 20_000,
    projects: [
      ...layers.map((name) => ({
        extends: true as const,
        test: {
          name,
          root: layerDir(name),
          include: ["test/**/*.test.ts"],
          // A package whose tests spawn its built CLI builds it once here (see its file).
          globalSetup: existsSync(join(here, layerDir(name), "test/global-setup.ts"))
            ? ["test/global-setup.ts"]
            : [],
          // A worker runs many of a package's files in one module graph instead of a fresh
          // process and graph per file: the packages are loaded once, not 70 times. Their
          // tests build their own machines and keep no global state (spies are restored).
          // The workbook and the repo checks stay isolated: they set process.env before
          // importing modules that read it at load time.
          isolate: false,
        },
      })),
      {
        extends: true,
        test: { name: "workbook", root: "workbook", include: ["test/**/*.test.ts"] },
      },
      { extends: true, test: { name: "repo", root: "scripts", include: ["test/**/*.test.ts"] } },
    ],
  },
});
