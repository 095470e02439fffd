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
        fs.writeFileSync(manifest, JSON.stringify({ dependencies: { "@aws-sdk/client-s3": "1", ajv: "1", pg: "1", "playwright-core": "1" } }));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("excludes every dependency the function does not name, the AWS SDK included", () => {
        assert.deepEqual(lambdaCodePaths("fn", ["ajv"], manifest), { extraExcludePackages: ["@aws-sdk/client-s3", "pg", "playwright-core"] });
        assert.deepEqual(lambdaCodePaths("fn", [], manifest), { extraExcludePackages: ["@aws-sdk/client-s3", "ajv", "pg", "playwright-core"] });
    });

    it("refuses a package that is not a dependency, naming it and the fix", () => {
        assert.throws(() => lambdaCodePaths("fs-stg-dispatcher", ["ajv", "zod"], manifest), /^Error: fs-stg-dispatcher: package.json has no dependency zod, which the function needs; npm install --save-exact it$/);
    });

    it("refuses to package the SDK the runtime provides", () => {
        assert.throws(() => lambdaCodePaths("fn", ["@aws-sdk/client-s3"], manifest), /^Error: fn: @aws-sdk\/client-s3 comes with the Lambda runtime; remove it from the packaged list$/);
    });
});
