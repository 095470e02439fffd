// ESLint flat config: typescript-eslint's recommended type-aware rules over every TypeScript file of the
// repository, plus the promise rules that matter most in a program full of async AWS and database calls.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    {
        ignores: [
            "node_modules/",
            "bin/",
            "**/dist/",
            "containers/runner/dist-*/",
            "test/runner/fixtures/",
            "**/*.js",
            "**/*.mjs",
            "**/*.gs",
        ],
    },
    eslint.configs.recommended,
    tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        rules: {
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-misused-promises": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        },
    },
);
