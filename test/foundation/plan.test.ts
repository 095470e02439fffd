import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import * as aws from "@pulumi/aws";
import { OfflineRun, planFor, runComponent } from "../harness";
import { formatPlanText } from "../../scripts/lib/plan";
import { nodeVersionWarning, readStackFile, runOffline } from "../../scripts/lib/offlineEngine";

const ROOT = path.resolve(__dirname, "..", "..");
const run = promisify(execFile);

/** Runs `npm run plan` as an operator would; resolves with exit code and output. */
async function planCli(
    args: string[],
    env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const { stdout, stderr } = await run(
            "node",
            ["-r", "ts-node/register/transpile-only", "scripts/plan.ts", ...args],
            {
                cwd: ROOT,
                env: { ...process.env, ...env },
                maxBuffer: 64 * 1024 * 1024,
            },
        );
        return { code: 0, stdout, stderr };
    } catch (e) {
        // execFile's error for a non-zero exit carries the exit code and both streams.
        const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string };
        return { code, stdout, stderr };
    }
}

/** Runs `npm run plan` on a temporary stack file next to Pulumi.yaml (Pulumi.<stack>.yaml), removed afterwards. */
async function planCliWith(
    stack: string,
    text: string,
    args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(file, text);
    try {
        return await planCli(["--stack", stack, ...args]);
    } finally {
        fs.rmSync(file, { force: true });
    }
}

const stgFile = () => fs.readFileSync(path.join(ROOT, "Pulumi.stg.yaml"), "utf8");

describe("offline plan", function () {
    this.timeout(120000);

    it("prints the JSON contract for prd with no credentials in the environment", async () => {
        const { code, stdout, stderr } = await planCli(["--stack", "prd", "--json"], {
            AWS_ACCESS_KEY_ID: "",
            AWS_SECRET_ACCESS_KEY: "",
            AWS_PROFILE: "",
        });
        assert.equal(code, 0, stderr);
        const doc = JSON.parse(stdout) as OfflineRun;
        assert.deepEqual(Object.keys(doc).sort(), ["outputs", "project", "resources", "stack"]);
        assert.equal(doc.project, "ops-platform");
        assert.equal(doc.stack, "prd");
        const urns = new Set<string | null>(doc.resources.map((r) => r.urn));
        for (const r of doc.resources) {
            assert.deepEqual(Object.keys(r), [
                "urn",
                "type",
                "name",
                "parent",
                "provider",
                "custom",
                "protect",
                "dependsOn",
                "ignoreChanges",
                "deleteBeforeReplace",
                "replaceOnChanges",
                "retainOnDelete",
                "aliases",
                "inputs",
            ]);
            assert.match(r.urn, /^urn:pulumi:prd::ops-platform::/);
            for (const flag of [r.custom, r.protect, r.deleteBeforeReplace, r.retainOnDelete])
                assert.equal(typeof flag, "boolean");
            for (const list of [r.ignoreChanges, r.replaceOnChanges])
                assert.ok(list.every((p) => typeof p === "string"));
            for (const urn of r.dependsOn) assert.ok(urns.has(urn), `${r.urn} depends on an unknown ${urn}`);
            for (const alias of r.aliases) assert.ok(alias.urn !== undefined || alias.type !== undefined || alias.name);
            if (r.type !== "pulumi:pulumi:Stack")
                assert.ok(urns.has(r.parent), `${r.urn} has an unknown parent ${r.parent}`);
            if (r.provider !== null) assert.ok(urns.has(r.provider), `${r.urn} has an unknown provider ${r.provider}`);
        }
        // Every AWS resource runs on an explicit regional provider, never the ambient default.
        const aws = doc.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
        assert.ok(aws.length > 40);
        for (const r of aws)
            assert.ok(r.provider?.includes("pulumi:providers:aws::aws-"), `${r.urn} uses the default provider`);
        assert.equal(doc.outputs.environment, "prd");
    });

    it("records each resource's options as the engine receives them", async () => {
        const plan = await planFor("prd");
        const service = plan.get("aws:ecs/service:Service", "weather-service");
        assert.deepEqual(service.ignoreChanges, ["desiredCount"]);
        // dependsOn: the listeners, the rule and the mount targets, none of which an input references.
        const named = (type: string, name: string) => plan.get(type, name).urn;
        assert.deepEqual(service.dependsOn.slice(0, 3), [
            named("aws:lb/listener:Listener", "weather-https"),
            named("aws:lb/listener:Listener", "weather-http"),
            named("aws:lb/listenerRule:ListenerRule", "weather-api-rule"),
        ]);
        // An input's resource is a dependency, not an explicit dependsOn.
        assert.ok(!service.dependsOn.includes(named("aws:ecs/cluster:Cluster", "weather-cluster")));
        assert.ok(plan.run.dependencies?.[service.urn].includes(named("aws:ecs/cluster:Cluster", "weather-cluster")));
        const bucket = plan.get("aws:s3/bucket:Bucket", "form-sender-configs");
        assert.equal(bucket.protect, true);
        // The provider SDK's own alias for the type it renamed.
        assert.deepEqual(bucket.aliases, [{ type: "aws:s3/bucketV2:BucketV2" }]);
        assert.equal((await planFor("stg")).get("aws:s3/bucket:Bucket", "form-sender-configs").protect, false);
        const unprotected = plan.get("aws:sns/topic:Topic", "alerts-us-east-1-topic");
        assert.deepEqual(
            [unprotected.protect, unprotected.dependsOn, unprotected.retainOnDelete, unprotected.deleteBeforeReplace],
            [false, [], false, false],
        );
    });

    it("marks protected resources in text mode", async () => {
        const text = formatPlanText((await planFor("prd")).run);
        assert.match(text, /├─ aws:s3\/bucket:Bucket {2}form-sender-configs {2}\[protected\] {2}bucketPrefix=/);
        assert.match(text, /├─ aws:ecr\/repository:Repository {2}form-sender-runner {2}\[protected\]/);
        assert.doesNotMatch(text, /weather-service {2}\[protected\]/);
        assert.doesNotMatch(formatPlanText((await planFor("stg")).run), /\[protected\]/);
    });

    it("prints a tree per component with counts, then outputs, in text mode", async () => {
        const { code, stdout } = await planCli(["--stack", "stg"]);
        assert.equal(code, 0);
        assert.match(stdout, /^Offline plan of ops-platform stack 'stg'/);
        assert.match(stdout, /^ops:weather:WeatherService {2}weather {2}\(\d+ resources\)/m);
        assert.match(
            stdout,
            /├─ aws:lb\/listener:Listener {2}weather-https {2}port=443 protocol=HTTPS sslPolicy=ELBSecurityPolicy-TLS13-1-2-2021-06/,
        );
        assert.match(stdout, /^Outputs:$/m);
    });

    it("fails with the list of stacks for an unknown stack", async () => {
        const { code, stderr, stdout } = await planCli(["--stack", "qa"]);
        assert.equal(code, 1);
        assert.equal(stdout, "");
        assert.match(stderr, /unknown stack 'qa': Pulumi\.qa\.yaml does not exist \(stacks: prd, stg\)/);
    });

    it("fails with the key, the value and the fix for invalid config", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
        const broken = fs
            .readFileSync(path.join(ROOT, "Pulumi.stg.yaml"), "utf8")
            .replace("weatherNatGateways: single", "weatherNatGateways: sometimes");
        // A temporary stack file next to Pulumi.yaml, removed afterwards.
        const file = path.join(ROOT, "Pulumi.plantest.yaml");
        fs.writeFileSync(file, broken.replace("environment: stg", "environment: stg"));
        try {
            const { code, stderr } = await planCli(["--stack", "plantest"]);
            assert.equal(code, 1);
            assert.match(
                stderr,
                /Invalid configuration for stack 'plantest' \(1 problem\):\n {2}- ops-platform:weatherNatGateways: expected one of single, perAz, got "sometimes"\. Fix: pulumi config set weatherNatGateways single --stack plantest/,
            );
        } finally {
            fs.rmSync(file, { force: true });
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("fails as the Pulumi CLI does when a stack lacks a key Pulumi.yaml declares without default", async () => {
        const { code, stdout, stderr } = await planCliWith(
            "plantest-missing",
            stgFile().replace(/^ {2}ops-platform:alertEmail:.*\n/m, ""),
        );
        assert.equal(code, 1);
        assert.equal(stdout, "");
        assert.equal(
            stderr,
            "Stack 'plantest-missing' is missing configuration value 'alertEmail'. Fix: set it with " +
                "`pulumi config set <key> <value> --stack plantest-missing` (`--secret` for secrets), or give the " +
                "declaration a default in Pulumi.yaml if it is optional.\n",
        );
    });

    it("refuses a secret written in plain text to the stack file, without printing it", async () => {
        const { code, stdout, stderr } = await planCliWith(
            "plantest-plain",
            `${stgFile().trimEnd()}\n  ops-platform:formSenderSupabaseServiceRoleKey: sb_secret_plain7c1e\n`,
        );
        assert.equal(code, 1);
        assert.equal(stdout, "");
        assert.equal(
            stderr,
            "Invalid configuration for stack 'plantest-plain' (1 problem):\n" +
                '  - ops-platform:formSenderSupabaseServiceRoleKey: expected a value set with --secret (encrypted in the stack file, never plain text), got "[secret]". ' +
                "Fix: pulumi config set --secret formSenderSupabaseServiceRoleKey <value> --stack plantest-plain (it replaces the plain-text value)\n",
        );
    });

    describe("a weather build context that is not a directory", () => {
        const missing = `../weather-app-missing-${process.pid}`;
        const withAppPath = (appPath: string) =>
            stgFile().replace(/^( {2}ops-platform:weatherAppPath:).*$/m, `$1 ${appPath}`);
        const problem =
            `ops-platform:weatherAppPath: expected a directory holding the weather app source, the image's build ` +
            `context (${path.resolve(ROOT, missing)} does not exist; a relative path starts at the project directory), ` +
            `got "${missing}". Fix: clone the app there, or pulumi config set weatherAppPath <directory> --stack stg, ` +
            "or build elsewhere and pulumi config set weatherImageUri <registry>/<repo>:<tag> --stack stg";

        it("fails the program as the Pulumi CLI runs it (no options)", async () => {
            const { config } = readStackFile("stg");
            const { default: program } = (await import(path.join(ROOT, "index.ts"))) as { default: () => unknown };
            await assert.rejects(
                runOffline(() => program(), {
                    stack: "stg",
                    config: { ...config, "ops-platform:weatherAppPath": missing },
                }),
                (e: Error) => {
                    assert.equal(e.message, `Invalid configuration for stack 'stg' (1 problem):\n  - ${problem}`);
                    return true;
                },
            );
        });

        it("is a loud warning in the offline plan: in the text, and on stderr with --json", async () => {
            const plan = await planFor("stg", { config: { weatherAppPath: missing } });
            const warning = `${problem} (\`pulumi preview\` and \`pulumi up\` stop here; the plan goes on)`;
            assert.ok(plan.run.warnings?.includes(warning), JSON.stringify(plan.run.warnings));
            assert.match(
                formatPlanText(plan.run),
                /^Offline plan of ops-platform stack 'stg'.*\n\n(!! WARNING: .*\n)+\n/,
            );
            assert.ok(formatPlanText(plan.run).includes(`!! WARNING: ${warning}\n`));
            const { code, stdout, stderr } = await planCliWith("stg-app-missing", withAppPath(missing), ["--json"]);
            assert.equal(code, 0, stderr);
            assert.ok(stderr.includes(`!! WARNING: ${problem.replace(/--stack stg/g, "--stack stg-app-missing")}`));
            assert.equal((JSON.parse(stdout) as OfflineRun).stack, "stg-app-missing");
            // A directory that exists (here one of this repository's) raises nothing.
            const present = await planFor("stg", { config: { weatherAppPath: "containers/web" } });
            assert.ok(!present.run.warnings?.some((w) => w.includes("weatherAppPath")));
        });
    });

    it("warns loudly when this Node is older than @pulumi/pulumi requires", async () => {
        const warning = nodeVersionWarning("v20.19.0");
        assert.match(
            warning ?? "",
            /^Node v20\.19\.0 is older than @pulumi\/pulumi 3\.\d+\.\d+ requires \(engines: node >=22\)\. .*`pulumi preview` and `pulumi up` will fail on this Node .*install Node 22 or later\.$/,
        );
        assert.equal(nodeVersionWarning("v22.12.0"), undefined);
        assert.equal(nodeVersionWarning("v24.1.0"), undefined);
        const plan = await planFor("stg");
        const expected = nodeVersionWarning();
        assert.deepEqual(
            plan.run.warnings?.filter((w) => w.startsWith("Node ")),
            expected === undefined ? [] : [expected],
        );
    });

    it("replaces secret values with [secret] in the plan and outputs", async () => {
        const secret = JSON.stringify({
            WXTECH_API_KEY: "wx-test-3f9a7c1e5b",
            OPENAI_API_KEY: "sk-test-3f9a7c1e5b",
            GEMINI_API_KEY: "gm-test-3f9a7c1e5b",
            ANTHROPIC_API_KEY: "sk-ant-test-3f9a7c1e5b",
        });
        const plan = await planFor("stg", { secrets: { weatherApiKeys: secret } });
        const version = plan.inputs("aws:secretsmanager/secretVersion:SecretVersion", "weather-api-keys");
        assert.equal(version.secretString, "[secret]");
        assert.ok(!JSON.stringify(plan.run).includes("3f9a7c1e5b"));
    });

    it("keeps source-mapped stack traces for errors the program throws, and restores the formatter", async () => {
        // Node's formatter hook, read as a value: it is compared, never called.
        const hook: { prepareStackTrace?: unknown } = Error;
        const before = hook.prepareStackTrace;
        const line =
            fs
                .readFileSync(__filename, "utf8")
                .split("\n")
                .findIndex((l) => l.endsWith("// THROWN" + "_HERE")) + 1;
        // Type-only lines vanish from the emitted JavaScript: only a source-mapped trace can
        // show the TypeScript line of the throw below them.
        type Emitted = {
            nothing: never;
        };
        let stack: string | Emitted | undefined;
        await runComponent(() => {
            new aws.sns.Topic("t", {});
            try {
                throw new Error("from the program"); // THROWN_HERE
            } catch (e) {
                stack = (e as Error).stack; // formatted now, while the program runs
            }
        }).catch(() => undefined);
        assert.ok(typeof stack === "string", "the program ran");
        assert.match(stack, new RegExp(`plan\\.test\\.ts:${line}:`), "the trace points at the TypeScript line");
        assert.equal(hook.prepareStackTrace, before);
    });
});
