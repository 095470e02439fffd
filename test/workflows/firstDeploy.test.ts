import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
const DIR = path.join(ROOT, ".github", "workflows");

interface Step {
    readonly uses?: string;
    readonly run?: string;
    readonly if?: string;
    readonly with?: Record<string, string | boolean | undefined>;
    readonly "working-directory"?: string;
}
interface Job {
    readonly steps?: Step[];
}
const workflow = (f: string) => parse(fs.readFileSync(path.join(DIR, f), "utf8")) as { jobs: Record<string, Job> };
const pulumiJobs = (): [string, Job][] =>
    ["pull-request.yml", "deploy.yml"].flatMap((f) =>
        Object.entries(workflow(f).jobs)
            .filter(([, job]) => (job.steps ?? []).some((s) => s.uses?.startsWith("pulumi/actions@")))
            .map(([name, job]): [string, Job] => [`${f} ${name}`, job]),
    );
const pkg = (p: string) =>
    JSON.parse(fs.readFileSync(path.join(ROOT, p), "utf8")) as {
        version: string;
        engines?: { node?: string };
        dependencies?: Record<string, string>;
    };

describe("workflows run the real CLI the way the program needs", () => {
    it("pins the Pulumi CLI to the SDK's version in .pulumi-version, and every pulumi job installs that file", () => {
        // pulumi/actions v7 src/config.ts: without pulumi-version(-file) it installs the newest '^3' CLI.
        const pinned = fs.readFileSync(path.join(ROOT, ".pulumi-version"), "utf8").trim();
        assert.match(pinned, /^\d+\.\d+\.\d+$/);
        assert.equal(pinned, pkg("package.json").dependencies?.["@pulumi/pulumi"]);
        assert.equal(pinned, pkg("node_modules/@pulumi/pulumi/package.json").version);
        const jobs = pulumiJobs();
        assert.equal(jobs.length, 3, jobs.map(([n]) => n).join(", "));
        for (const [name, job] of jobs) {
            const step = job.steps!.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
            assert.equal(step.with?.["pulumi-version-file"], `${step.with?.["work-dir"]}/.pulumi-version`, name);
        }
    });

    it("every job runs on a Node.js that @pulumi/pulumi supports (its engines field; Node 20 lacks fs.promises.glob)", () => {
        const engines = pkg("node_modules/@pulumi/pulumi/package.json").engines?.node ?? "";
        const minimum = Number(/>=\s*(\d+)/.exec(engines)?.[1]);
        assert.ok(minimum >= 22, engines);
        for (const f of ["pull-request.yml", "deploy.yml"]) {
            for (const [name, job] of Object.entries(workflow(f).jobs)) {
                for (const step of (job.steps ?? []).filter((s) => s.uses?.startsWith("actions/setup-node@"))) {
                    assert.ok(
                        Number(step.with?.["node-version"]) >= minimum,
                        `${f} ${name}: node ${step.with?.["node-version"]}`,
                    );
                }
            }
        }
    });

    it("checks the weather app out beside the project inside the workspace, where both stacks' weatherAppPath points", () => {
        // actions/checkout: `path` is relative to $GITHUB_WORKSPACE and cannot leave it; docker-build's context check
        // (pulumi-docker-build provider/internal/context.go) rejects a context that is not a directory.
        for (const [name, job] of pulumiJobs()) {
            const steps = job.steps!;
            const self = steps.find((s) => s.uses?.startsWith("actions/checkout@") && !s.with?.repository);
            const app = steps.find((s) => s.uses?.startsWith("actions/checkout@") && s.with?.repository);
            const workDir = String(steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!.with?.["work-dir"]);
            assert.equal(self?.with?.path, workDir, name);
            assert.equal(app?.with?.repository, "${{ vars.WEATHER_APP_REPOSITORY }}", name);
            assert.equal(app?.if, "vars.WEATHER_APP_REPOSITORY != ''", name);
            for (const stack of ["stg", "prd"]) {
                const config = (
                    parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
                        config: Record<string, unknown>;
                    }
                ).config;
                const appPath = config["ops-platform:weatherAppPath"];
                if (typeof appPath !== "string") continue;
                const resolved = path.posix.normalize(path.posix.join(workDir, appPath));
                assert.equal(resolved, app?.with?.path, `${name}: ${stack}'s weatherAppPath ${appPath}`);
            }
            const npmCi = steps.find((s) => s.run === "npm ci");
            assert.equal(npmCi?.["working-directory"], workDir, name);
        }
    });
});
