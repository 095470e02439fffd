import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
/** action-validator: SchemaStore's GitHub workflow schema compiled into a WASM validator, offline. */
import { validateWorkflow } from "@action-validator/core";

/** A workflow step, as far as these tests read it. */
interface Step {
    readonly uses?: string;
    readonly run?: string;
    readonly with?: Record<string, unknown>;
}

/** A workflow job, as far as these tests read it. */
interface Job {
    readonly steps?: Step[];
    readonly strategy?: { readonly matrix: Record<string, unknown> };
    readonly permissions?: Record<string, string>;
    readonly environment?: string;
    readonly if?: string;
    readonly concurrency?: Record<string, unknown>;
}

/** A workflow file, parsed. */
interface Workflow {
    readonly on: { readonly push?: { readonly branches?: string[] }; readonly [event: string]: unknown };
    readonly jobs: Record<string, Job>;
}

const DIR = path.resolve(__dirname, "..", "..", ".github", "workflows");
const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const load = (f: string) => parse(fs.readFileSync(path.join(DIR, f), "utf8")) as Workflow;
const steps = (job: Job): Step[] => job.steps ?? [];
const runs = (job: Job) =>
    steps(job)
        .map((s) => s.run ?? "")
        .join("\n");

describe("GitHub workflows", () => {
    it("has the pull-request and deploy workflows", () =>
        assert.deepEqual(files.sort(), ["deploy.yml", "pull-request.yml"]));

    for (const f of files) {
        it(`${f} validates against the GitHub Actions workflow schema`, () => {
            assert.deepEqual(validateWorkflow(fs.readFileSync(path.join(DIR, f), "utf8")).errors, []);
        });
    }

    it("the schema check rejects a broken workflow", () => {
        const broken =
            "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    stepz:\n      - run: npm test\n    timeout-minutes: soon\n";
        assert.ok(validateWorkflow(broken).errors.length > 0);
    });

    it("pull requests run the tests, the offline plan of both stacks and the cost report", () => {
        const wf = load("pull-request.yml");
        assert.ok("pull_request" in wf.on);
        assert.match(runs(wf.jobs.test), /apt-get install -y chromium/);
        assert.match(runs(wf.jobs.test), /^npm test$/m);
        const plan = runs(wf.jobs["offline-plan"]);
        assert.match(plan, /for stack in stg prd/);
        assert.match(plan, /npm run --silent plan -- --stack "\$stack"[\s\S]*GITHUB_STEP_SUMMARY/);
        assert.match(plan, /npm run --silent cost -- --stack "\$stack" --markdown/);
        assert.ok(
            steps(wf.jobs["offline-plan"]).some(
                (s) =>
                    String(s.uses).startsWith("marocchino/sticky-pull-request-comment") && s.with?.path === "cost.md",
            ),
        );
    });

    it("pull requests preview both stacks with the policy pack, commenting on the PR, via OIDC", () => {
        const job = load("pull-request.yml").jobs.preview;
        assert.deepEqual(job.strategy?.matrix.stack, ["stg", "prd"]);
        assert.equal(job.permissions?.["id-token"], "write");
        const pulumi = steps(job).find((s) => String(s.uses).startsWith("pulumi/actions@"));
        assert.deepEqual(
            [pulumi?.with?.command, pulumi?.with?.["comment-on-pr"], pulumi?.with?.policyPacks],
            ["preview", true, "policy"],
        );
        assert.ok(
            steps(job).some(
                (s) =>
                    String(s.uses).startsWith("aws-actions/configure-aws-credentials@") && s.with?.["role-to-assume"],
            ),
        );
        assert.ok(!JSON.stringify(job).includes("aws-access-key-id"), "no long-lived AWS keys");
    });

    it("pushes to main deploy stg; prd deploys only by hand behind the protected environment", () => {
        const wf = load("deploy.yml");
        assert.deepEqual(wf.on.push?.branches, ["main"]);
        assert.ok("workflow_dispatch" in wf.on);
        const up = (job: Job) => steps(job).find((s) => String(s.uses).startsWith("pulumi/actions@"))?.with;
        assert.deepEqual(
            [up(wf.jobs.stg)?.command, up(wf.jobs.stg)?.["stack-name"]],
            ["up", "${{ vars.PULUMI_ORG }}/ops-platform/stg"],
        );
        assert.equal(wf.jobs.prd.environment, "production");
        assert.match(wf.jobs.prd.if ?? "", /workflow_dispatch/);
        assert.equal(up(wf.jobs.prd)?.["stack-name"], "${{ vars.PULUMI_ORG }}/ops-platform/prd");
        for (const job of [wf.jobs.stg, wf.jobs.prd]) {
            assert.equal(job.permissions?.["id-token"], "write");
            assert.equal(job.concurrency?.["cancel-in-progress"], false);
        }
    });
});

describe("README deploy steps", () => {
    it("select the stack CI deploys and run preview and up with the policy pack CI passes", () => {
        const readme = fs.readFileSync(path.resolve(__dirname, "..", "..", "README.md"), "utf8");
        const block = /^## Deploying\n\n```\n([\s\S]*?)\n```/m.exec(readme)?.[1] ?? "";
        const commands = block.split("\n").map((l) => l.replace(/\s+#.*$/, ""));
        const up = steps(load("deploy.yml").jobs.stg).find((s) => String(s.uses).startsWith("pulumi/actions@"))?.with;
        // CI: `${{ vars.PULUMI_ORG }}/ops-platform/stg`; the README writes ORG for the variable's value.
        const stack = String(up?.["stack-name"]).replace("${{ vars.PULUMI_ORG }}", "ORG");
        assert.equal(stack, "ORG/ops-platform/stg");
        assert.ok(commands.includes(`pulumi stack select ${stack}`), block);
        assert.match(block, new RegExp(`first time: pulumi stack init ${stack}$`, "m"));
        assert.ok(commands.includes(`pulumi preview --policy-pack ${String(up?.policyPacks)}`), block);
        assert.ok(commands.includes(`pulumi up --policy-pack ${String(up?.policyPacks)}`), block);
        assert.ok(
            !commands.some((c) => /^pulumi (up|preview)$/.test(c)),
            "a bare pulumi up/preview skips the policies",
        );
    });
});
