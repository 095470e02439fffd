import { strict as assert } from "assert";
import { exitCodeOf, formatReport } from "../../scripts/lib/preflight";
import { judgeRunnerKey, RUNNER_KEY_WARN_DAYS } from "../../scripts/lib/preflight/runnerKey";
import { FakeAccount } from "../support/aws/account";
import { NOW, PUBLISHABLE_KEY, RUNNER_KEY_ARN, RUNNER_KEY_NAME, runnerKeyValue } from "./fixtures";
import { preflight, Run } from "./harness";

const MINT =
    "SUPABASE_JWT_SECRET=… SUPABASE_PUBLISHABLE_KEY=… npm run -s mint-runner-key -- --days 90 | " +
    `aws secretsmanager put-secret-value --region us-east-1 --secret-id ${RUNNER_KEY_NAME} ` +
    "--secret-string file:///dev/stdin";

/** Neither the publishable key nor any part of the token reaches the report, as text or JSON. */
function assertNoKey(run: Run, token: string): void {
    const texts = [formatReport(run.report), JSON.stringify(run.report)];
    const [head, payload, signature] = token.split(".");
    for (const text of texts) {
        for (const secret of [PUBLISHABLE_KEY, token, head, payload, signature]) {
            assert.ok(!text.includes(secret), `the report contains part of the runner key: ${secret.slice(0, 12)}…`);
        }
    }
}

/** The runner key secret holds `value` (undefined: created by pulumi up, never minted). */
const withValue = (value: string | undefined) => (a: FakeAccount) => {
    a.secrets[RUNNER_KEY_ARN].value = value;
};

describe("preflight: the form-sender runner's own Supabase key (secret.formSenderRunnerKey)", function () {
    this.timeout(120_000);

    describe("judgeRunnerKey", () => {
        const cases: { name: string; value: string; status: string; message: RegExp }[] = [
            {
                name: "a key minted for 90 days passes, naming the expiry date",
                value: runnerKeyValue().value,
                status: "PASS",
                message:
                    /^a runner key for role fs_runner, expires on 2027-02-25 \(in 90 days; signature not checked\)$/,
            },
            {
                name: `one that expires within ${RUNNER_KEY_WARN_DAYS} days warns`,
                value: runnerKeyValue({ issuedDaysAgo: 80 }).value,
                status: "WARN",
                message: /expires on 2026-12-07T12:00:00.000Z \(in 10 days, under 14\)/,
            },
            {
                name: "exactly 14 days left passes",
                value: runnerKeyValue({ days: 14 }).value,
                status: "PASS",
                message: /in 14 days/,
            },
            {
                name: "an expired one fails",
                value: runnerKeyValue({ issuedDaysAgo: 91 }).value,
                status: "FAIL",
                message: /token expired on 2026-11-26T12:00:00.000Z/,
            },
            {
                name: "a token for another role fails, naming the role",
                value: runnerKeyValue({ role: "service_role" }).value,
                status: "FAIL",
                message: /role is "service_role"; the runner's token must name fs_runner/,
            },
            {
                name: "a plain API key (the service-role key) fails",
                value: "sb_secret_NotARunnerKey",
                status: "FAIL",
                message: /plain API key, not the runner key JSON/,
            },
            {
                name: "JSON without access_token fails with the runner's own message",
                value: JSON.stringify({ apikey: PUBLISHABLE_KEY }),
                status: "FAIL",
                message: /the runner cannot read it: .*access_token is missing or empty/,
            },
            {
                name: "an access_token that is not a JWT fails",
                value: JSON.stringify({ apikey: PUBLISHABLE_KEY, access_token: "not-a-jwt" }),
                status: "FAIL",
                message: /access_token is not a JWT/,
            },
        ];
        for (const c of cases) {
            it(c.name, () => {
                const verdict = judgeRunnerKey(c.value, NOW);
                assert.equal(verdict.status, c.status, verdict.message);
                assert.match(verdict.message, c.message);
            });
        }

        it("a token without exp fails", () => {
            const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
            const token = `${b64({ alg: "HS256" })}.${b64({ role: "fs_runner" })}.c2ln`;
            const verdict = judgeRunnerKey(JSON.stringify({ apikey: PUBLISHABLE_KEY, access_token: token }), NOW);
            assert.equal(verdict.status, "FAIL");
            assert.match(verdict.message, /no numeric exp claim/);
        });
    });

    describe("against the account", () => {
        it("a secret the first pulumi up has not created yet is a SKIP with the mint step, not a FAIL", async () => {
            const run = await preflight({
                checkSecretKeys: true,
                account: (a) => delete a.secrets[RUNNER_KEY_ARN],
            });
            const c = run.check("secret.formSenderRunnerKey", "us-east-1");
            assert.equal(c.status, "SKIP");
            assert.match(c.message, /does not exist yet: the first pulumi up creates it without a value/);
            assert.equal(c.fix, `after pulumi up --stack stg: ${MINT}`);
            assert.ok(!run.report.checks.some((x) => x.id === "secret.formSenderRunnerKey.token"));
            assert.equal(exitCodeOf(run.report), 0);
        });

        it("fails a secret scheduled for deletion, with the restore command", async () => {
            const run = await preflight({
                account: (a) => (a.secrets[RUNNER_KEY_ARN].deletedDate = new Date("2026-11-20T00:00:00Z")),
            });
            const c = run.check("secret.formSenderRunnerKey");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /scheduled for deletion \(2026-11-20T00:00:00.000Z\)/);
            assert.equal(c.fix, `aws secretsmanager restore-secret --secret-id ${RUNNER_KEY_NAME} --region us-east-1`);
        });

        it("without --check-secret-keys the value is not read", async () => {
            const run = await preflight({ account: withValue(undefined) });
            assert.equal(run.check("secret.formSenderRunnerKey").status, "PASS");
            const token = run.check("secret.formSenderRunnerKey.token");
            assert.equal(token.status, "SKIP");
            assert.match(token.message, /not read without --check-secret-keys/);
            assert.ok(!run.account.calls.some((c) => c.startsWith("secretsmanager:GetSecretValue@us-east-1")));
            // Found by its name: the program knows the name, not the ARN with its random suffix.
            assert.ok(run.account.calls.includes("secretsmanager:DescribeSecret@us-east-1"));
        });

        it("fails a secret without a value (AWSCURRENT not found) with the exact mint command", async () => {
            const run = await preflight({ checkSecretKeys: true, account: withValue(undefined) });
            assert.equal(run.check("secret.formSenderRunnerKey").status, "PASS");
            const c = run.check("secret.formSenderRunnerKey.token");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /has no value yet \(no AWSCURRENT version\); a form-sender job started now stops/);
            assert.equal(c.fix, MINT);
            assert.equal(exitCodeOf(run.report), 1);
        });

        it("fails a token for another role, and never prints the key", async () => {
            const key = runnerKeyValue({ role: "service_role" });
            const run = await preflight({ checkSecretKeys: true, account: withValue(key.value) });
            const c = run.check("secret.formSenderRunnerKey.token");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /role is "service_role"/);
            assert.equal(c.fix, MINT);
            assertNoKey(run, key.token);
        });

        it("fails an expired token, and never prints the key", async () => {
            const key = runnerKeyValue({ issuedDaysAgo: 100 });
            const run = await preflight({ checkSecretKeys: true, account: withValue(key.value) });
            const c = run.check("secret.formSenderRunnerKey.token");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /expired on 2026-11-17T12:00:00.000Z/);
            assertNoKey(run, key.token);
        });

        it("warns a token that expires within 14 days, and never prints the key", async () => {
            const key = runnerKeyValue({ issuedDaysAgo: 85 });
            const run = await preflight({ checkSecretKeys: true, account: withValue(key.value) });
            const c = run.check("secret.formSenderRunnerKey.token");
            assert.equal(c.status, "WARN");
            assert.match(c.message, /expires on 2026-12-02T12:00:00.000Z \(in 5 days/);
            assert.equal(c.fix, MINT);
            assert.equal(exitCodeOf(run.report), 0);
            assertNoKey(run, key.token);
        });

        it("passes a valid runner key, naming its expiry, and never prints the key", async () => {
            const key = runnerKeyValue({ days: 60 });
            const run = await preflight({ checkSecretKeys: true, account: withValue(key.value) });
            const c = run.check("secret.formSenderRunnerKey.token", "us-east-1");
            assert.equal(c.status, "PASS");
            assert.equal(
                c.message,
                `${RUNNER_KEY_NAME}: a runner key for role fs_runner, expires on 2027-01-26 ` +
                    "(in 60 days; signature not checked)",
            );
            assert.ok(run.account.calls.includes("secretsmanager:GetSecretValue@us-east-1"));
            assertNoKey(run, key.token);
        });

        it("reports a denied GetSecretValue as could-not-check, never PASS", async () => {
            const run = await preflight({
                checkSecretKeys: true,
                account: (a) => a.denied.push("secretsmanager:GetSecretValue"),
            });
            const c = run.check("secret.formSenderRunnerKey.token");
            assert.equal(c.status, "WARN");
            assert.match(c.message, /could not check \/fs-runner\/stg\/supabase\/runner-key/);
        });
    });
});
