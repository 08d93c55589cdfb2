import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { defaultClientConditions, defaultServerConditions } from "vite";

// The exercises' checks. Run by `pnpm workbook check|watch|verify`, which set
// MM386_IMPL and MM386_LAYERS; see workbook/src/kit.ts.
export default defineConfig({
  resolve: { conditions: ["source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  test: {
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["*/check.test.ts"],
    testTimeout: 60_000,
  },
});
