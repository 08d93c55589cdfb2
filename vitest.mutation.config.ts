import { fileURLToPath } from "node:url";
import { defineConfig, mergeConfig } from "vitest/config";
import packageConfig from "./vitest.package.config.js";

// Used by Stryker (stryker.config.mjs): the package config with a longer
// timeout, since instrumented code with per-test coverage runs several times
// slower and the property tests would otherwise hit vitest's 5 s default; and
// with fast-check's runs capped (see vitest.mutation.setup.ts).
export default mergeConfig(
  packageConfig,
  defineConfig({
    test: {
      testTimeout: 60_000,
      setupFiles: [fileURLToPath(new URL("./vitest.mutation.setup.ts", import.meta.url))],
    },
  }),
);
