import { fileURLToPath } from "node:url";
import { defaultClientConditions, defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// The browser tests (`pnpm test:browser`): Chromium driven by playwright-core.
// Kept out of the README's `pnpm test`, which must not need a browser.
export default defineConfig({
  resolve: { conditions: ["source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  test: {
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["test-browser/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One browser, one server: the tests share them and run in order.
    fileParallelism: false,
  },
});
