/**
 * The command itself (`scripts/preflight.ts`, what `npm run preflight` runs) in a child process: its exit code,
 * its table and its --json report, with credentials and endpoint from the environment only.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { PreflightReport } from "../../scripts/lib/preflight";
import { startFakeAws } from "../support/aws/server";
import {
    ACCOUNT,
    healthyAccount,
    SUPABASE_KEY_ARN,
    SUPABASE_KEY_NAME,
    SUPABASE_URL_ARN,
    SUPABASE_URL_NAME,
    toolsDir,
} from "./fixtures";
import { awsEnv } from "./harness";

const ROOT = path.join(__dirname, "..", "..");

function runCli(
    args: string[],
    env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
    const merged: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete merged[k];
        else merged[k] = v;
    }
    return new Promise((resolve, reject) => {
        const child = spawn(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "scripts/preflight.ts", ...args],
            {
                cwd: ROOT,
                env: merged,
            },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

/** Pulumi.stg.yaml's own ARNs, so an account with its (placeholder) id holds exactly what the file names. */
const stgConfig = (
    parse(fs.readFileSync(path.join(ROOT, "Pulumi.stg.yaml"), "utf8")) as { config: Record<string, string> }
).config;

describe("the preflight command", function () {
    this.timeout(300_000);

    it("--json prints one report and exits 1 when a check fails (the committed stg has no weather build context)", async () => {
        const account = healthyAccount("000000000000");
        account.certificates = {
            [stgConfig["ops-platform:weatherCertificateArn"]]: {
                domainName: "weather.example.com",
                status: "ISSUED",
                notAfter: new Date("2027-01-01T00:00:00Z"),
            },
        };
        account.secrets = {
            [stgConfig["ops-platform:syncDbPasswordSecretArn"]]: { name: "db", value: '{"password":"x"}' },
            [stgConfig["ops-platform:syncYoutubeApiKeySecretArn"]]: { name: "yt", value: "k" },
            // The committed stg leaves formSenderSupabaseUrl/ServiceRoleKey empty: the operator put the values.
            [SUPABASE_URL_ARN.replace(ACCOUNT, "000000000000")]: { name: SUPABASE_URL_NAME, value: "https://x.co" },
            [SUPABASE_KEY_ARN.replace(ACCOUNT, "000000000000")]: { name: SUPABASE_KEY_NAME, value: "k" },
        };
        const fake = await startFakeAws(account);
        try {
            const out = await runCli(["--stack", "stg", "--json"], {
                ...awsEnv(fake.endpoint),
                PATH: `${toolsDir()}:${path.dirname(process.execPath)}`,
            });
            assert.equal(out.code, 1, out.stderr);
            const report = JSON.parse(out.stdout) as PreflightReport;
            assert.equal(report.stack, "stg");
            assert.equal(report.account, "000000000000");
            const failed = report.checks.filter((c) => c.status === "FAIL").map((c) => c.id);
            // Only the machine's missing weather checkout fails; every account check passes against this account.
            const expected = fs.existsSync(path.join(ROOT, "..", "weather-comment-generator"))
                ? []
                : ["config.weatherAppPath"];
            assert.deepEqual(failed, expected);
            assert.equal(report.summary.FAIL, expected.length);
            assert.ok(report.checks.some((c) => c.id === "quota.ec2-spot-vcpus" && c.status === "PASS"));
        } finally {
            await fake.close();
        }
    });

    it("prints the table and how to provide credentials, exit 1, when there are none", async () => {
        const out = await runCli(["--stack", "stg", "--skip-tooling"], { ...awsEnv("http://127.0.0.1:9", null) });
        assert.equal(out.code, 1, out.stderr);
        assert.match(out.stdout, /^STATUS\s+CHECK\s+REGION\s+RESULT$/m);
        assert.match(out.stdout, /^FAIL\s+identity\s+us-east-1\s+no AWS credentials/m);
        assert.match(out.stdout, /^\s+fix: provide AWS credentials the way the AWS CLI takes them/m);
        assert.match(out.stdout, /^SKIP\s+account\s/m);
    });

    it("refuses an unknown stack with the stacks it knows, exit 1", async () => {
        const out = await runCli(["--stack", "nope"], {});
        assert.equal(out.code, 1);
        assert.match(out.stderr, /unknown stack 'nope'.*stacks: prd, stg/);
    });
});
