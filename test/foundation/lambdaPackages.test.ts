import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lambdaCodePaths } from "../../components/lambdaPackages";

describe("Lambda packaging", () => {
    let dir: string;
    let manifest: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-packages-"));
        manifest = path.join(dir, "package.json");
        fs.writeFileSync(
            manifest,
            JSON.stringify({ dependencies: { "@aws-sdk/client-s3": "1", ajv: "1", pg: "1", "playwright-core": "1" } }),
        );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("excludes every dependency the function does not name, the AWS SDK included", () => {
        assert.deepEqual(lambdaCodePaths("fn", ["ajv"], manifest), {
            extraExcludePackages: ["@aws-sdk/client-s3", "pg", "playwright-core"],
        });
        assert.deepEqual(lambdaCodePaths("fn", [], manifest), {
            extraExcludePackages: ["@aws-sdk/client-s3", "ajv", "pg", "playwright-core"],
        });
    });

    it("treats the SDK clients and all they pull in as the runtime's, but packages another @aws-sdk package a function names, leaving its runtime-provided dependencies to the runtime", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-packages-tree-"));
        try {
            const pkg = (name: string, dependencies: Record<string, string> = {}) => {
                fs.mkdirSync(path.join(root, "node_modules", name), { recursive: true });
                fs.writeFileSync(
                    path.join(root, "node_modules", name, "package.json"),
                    JSON.stringify({ name, dependencies }),
                );
            };
            fs.writeFileSync(
                path.join(root, "package.json"),
                JSON.stringify({
                    dependencies: {
                        "@aws-sdk/client-s3": "1",
                        "@aws-sdk/s3-request-presigner": "1",
                        "@supabase/postgrest-js": "1",
                        pg: "1",
                    },
                }),
            );
            pkg("@aws-sdk/client-s3", { "@aws-sdk/core": "1", "@smithy/core": "1", tslib: "1" });
            pkg("@aws-sdk/core", { "@smithy/core": "1" });
            pkg("@smithy/core");
            pkg("tslib");
            pkg("@aws-sdk/s3-request-presigner", {
                "@aws-sdk/core": "1",
                "@smithy/core": "1",
                tslib: "1",
                "presigner-only": "1",
            });
            pkg("presigner-only");
            pkg("@supabase/postgrest-js", { tslib: "1" });
            pkg("pg", { "pg-types": "1" });
            const manifestPath = path.join(root, "package.json");
            // Only the presigner: its runtime-provided dependencies (tslib included) stay out; what the clients do not pull in is packaged.
            assert.deepEqual(lambdaCodePaths("fn", ["@aws-sdk/s3-request-presigner"], manifestPath), {
                extraExcludePackages: [
                    "@aws-sdk/client-s3",
                    "@aws-sdk/core",
                    "@smithy/core",
                    "@supabase/postgrest-js",
                    "pg",
                    "tslib",
                ],
            });
            // A non-SDK package keeps every dependency, even one the runtime happens to have.
            assert.deepEqual(lambdaCodePaths("fn", ["@supabase/postgrest-js"], manifestPath), {
                extraExcludePackages: [
                    "@aws-sdk/client-s3",
                    "@aws-sdk/core",
                    "@aws-sdk/s3-request-presigner",
                    "@smithy/core",
                    "pg",
                ],
            });
            assert.throws(
                () => lambdaCodePaths("fn", ["@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"], manifestPath),
                /^Error: fn: @aws-sdk\/client-s3 comes with the Lambda runtime; remove it from the packaged list$/,
            );
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    it("refuses a package that is not a dependency, naming it and the fix", () => {
        assert.throws(
            () => lambdaCodePaths("fs-stg-dispatcher", ["ajv", "zod"], manifest),
            /^Error: fs-stg-dispatcher: package.json has no dependency zod, which the function needs; npm install --save-exact it$/,
        );
    });

    it("refuses to package the SDK the runtime provides", () => {
        assert.throws(
            () => lambdaCodePaths("fn", ["@aws-sdk/client-s3"], manifest),
            /^Error: fn: @aws-sdk\/client-s3 comes with the Lambda runtime; remove it from the packaged list$/,
        );
    });
});
