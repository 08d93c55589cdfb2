import { defineConfig } from "vitest/config";
import { defaultClientConditions, defaultServerConditions } from "vite";

// For `vitest` run inside workbook/ (turbo's per-package test task).
export default defineConfig({
  resolve: { conditions: ["source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  test: { include: ["test/**/*.test.ts"] },
});
