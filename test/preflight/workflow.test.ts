import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

interface Step {
    readonly uses?: string;
    readonly run?: string;
    readonly with?: Record<string, string>;
    readonly "working-directory"?: string;
}

describe("the deploy workflow runs the preflight", () => {
    const wf = parse(
        fs.readFileSync(path.join(__dirname, "..", "..", ".github", "workflows", "deploy.yml"), "utf8"),
    ) as {
        jobs: Record<string, { steps: Step[] }>;
    };
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: npm run preflight for that stack after the AWS credentials and before pulumi up`, () => {
            const steps = wf.jobs[stack].steps;
            const creds = steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
            const pre = steps.findIndex((s) => s.run?.startsWith(`npm run preflight -- --stack ${stack}`));
            const up = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "up");
            assert.ok(creds >= 0 && pre > creds && up > pre, `credentials ${creds}, preflight ${pre}, up ${up}`);
            assert.equal(steps[pre]["working-directory"], steps[up].with?.["work-dir"]);
        });
    }
});
