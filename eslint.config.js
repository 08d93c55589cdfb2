import { defineConfig } from "eslint/config";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/dist-bench/**",
      "**/dist-web/**",
      "docs/**",
      "scripts/fixtures/**",
      "workbook/exercises/*/solution.ts",
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ["./tsconfig.check.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "Use named exports only." },
        { selector: "TSEnumDeclaration", message: "Use an `as const` object instead of an enum." },
      ],
    },
  },
  {
    files: ["**/*.{js,mjs,cjs}"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { console: "readonly", process: "readonly", module: "writable", URL: "readonly" },
    },
  },
  {
    // Config files must default-export; that is the tools' contract, not ours.
    files: ["**/*.config.ts", "**/*.config.mjs", "eslint.config.js"],
    rules: { "no-restricted-syntax": "off" },
  },
);
