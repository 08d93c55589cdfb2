import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { defaultClientConditions, defaultServerConditions } from "vite";

// Used by each package's own `test` script (turbo runs them one package at a
// time); the root `pnpm test` uses vitest.projects.config.ts instead.
export default defineConfig({
  resolve: { conditions: ["source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  test: {
    include: ["test/**/*.test.ts"],
    passWithNoTests: true,
    // Run from the package's folder: a package whose tests spawn its built CLI builds it once.
    globalSetup: existsSync("test/global-setup.ts") ? ["test/global-setup.ts"] : [],
  },
});
