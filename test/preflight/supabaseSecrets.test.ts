import { strict as assert } from "assert";
import { FORM_SENDER_REQUIRED_SECRETS, secretConfigured, unsetSecretWarnings } from "../../components/config";
import { exitCodeOf, formatReport } from "../../scripts/lib/preflight";
import { Clients } from "../../scripts/lib/preflight/accountChecks";
import { judgeSupabaseValue, supabaseSecretChecks } from "../../scripts/lib/preflight/supabaseSecrets";
import { planStack } from "../../scripts/lib/plan";
import { FakeAccount } from "../support/aws/account";
import { SERVICE_ROLE_KEY, SUPABASE_KEY_ARN, SUPABASE_KEY_NAME, SUPABASE_URL_ARN, SUPABASE_URL_NAME } from "./fixtures";
import { preflight, Run } from "./harness";

const URL_ID = "secret.formSenderSupabaseUrl";
const KEY_ID = "secret.formSenderSupabaseServiceRoleKey";
const SET_URL = "pulumi config set --secret formSenderSupabaseUrl https://<project-ref>.supabase.co --stack stg";
const SET_KEY = "pulumi config set --secret formSenderSupabaseServiceRoleKey <service-role-key> --stack stg";

/** The secret at `arn` holds `value` (undefined: created by pulumi up without a value). */
const withValue = (arn: string, value: string | undefined) => (a: FakeAccount) => {
    a.secrets[arn].value = value;
};

/** No report text or JSON contains `values`. */
function assertNotPrinted(run: Run, ...values: string[]): void {
    for (const text of [formatReport(run.report), JSON.stringify(run.report)]) {
        for (const v of values) assert.ok(!text.includes(v), `the report holds a secret value: ${v.slice(0, 12)}…`);
    }
}

describe("preflight: the form-sender's Supabase URL and service-role key secrets", function () {
    this.timeout(120_000);

    describe("judgeSupabaseValue", () => {
        type Key = "formSenderSupabaseUrl" | "formSenderSupabaseServiceRoleKey";
        const table: [Key, string, string, RegExp][] = [
            ["formSenderSupabaseUrl", "https://abcdefghijklmnopqrst.supabase.co", "PASS", /<project-ref>\.supabase/],
            ["formSenderSupabaseUrl", "https://db.example.com", "PASS", /an https URL, not <project-ref>/],
            ["formSenderSupabaseUrl", "http://abcdefghijklmnopqrst.supabase.co", "FAIL", /http: URL, not https/],
            ["formSenderSupabaseUrl", "abcdefghijklmnopqrst.supabase.co", "FAIL", /is set but is not a URL/],
            ["formSenderSupabaseUrl", "https://x.supabase.co\n", "FAIL", /leading or trailing whitespace/],
            ["formSenderSupabaseUrl", "", "FAIL", /^its value is empty$/],
            ["formSenderSupabaseServiceRoleKey", "   ", "FAIL", /^its value is empty$/],
            ["formSenderSupabaseServiceRoleKey", "sb_secret_x", "PASS", /^its value is set$/],
        ];
        for (const [key, value, status, message] of table) {
            it(`${key} ${JSON.stringify(value)} is ${status}`, () => {
                const verdict = judgeSupabaseValue(key, value);
                assert.equal(verdict.status, status, verdict.message);
                assert.match(verdict.message, message);
                if (value.trim() !== "") assert.ok(!verdict.message.includes(value.trim()));
            });
        }
    });

    describe("secretConfigured and the offline plan's warnings", () => {
        it('reads encrypted keys as set, plain `""` and absence as unset', () => {
            const q = "ops-platform:formSenderSupabaseUrl";
            assert.equal(secretConfigured({}, [q], "formSenderSupabaseUrl"), true);
            assert.equal(secretConfigured({}, [], "formSenderSupabaseUrl"), false);
            assert.equal(secretConfigured({ [q]: "" }, [q], "formSenderSupabaseUrl"), false);
            assert.equal(secretConfigured({ [q]: "https://a.supabase.co" }, [], "formSenderSupabaseUrl"), true);
        });

        it("warns for each unset key with the secret and the exact command, none when both are encrypted", () => {
            const warnings = unsetSecretWarnings("stg", {}, []);
            assert.equal(warnings.length, 2);
            assert.equal(
                warnings[0],
                "ops-platform:formSenderSupabaseUrl is empty: pulumi up creates /fs-runner/stg/supabase/url " +
                    "without a value, and the form-sender API answers 500 to every call until it has one. Fix: " +
                    `${SET_URL} (or put the value into the secret yourself; ` +
                    "npm run preflight -- --stack stg checks it)",
            );
            assert.ok(warnings[1].startsWith("ops-platform:formSenderSupabaseServiceRoleKey is empty: pulumi up "));
            assert.ok(warnings[1].includes(`Fix: ${SET_KEY} (`));
            const both = FORM_SENDER_REQUIRED_SECRETS.map((s) => `ops-platform:${s.key}`);
            assert.deepEqual(unsetSecretWarnings("prd", {}, both), []);
        });

        it("the stg plan carries the warnings (it does not refuse) and names the stack's secrets", async () => {
            const plan = await planStack("stg");
            for (const w of unsetSecretWarnings("stg", {}, [])) assert.ok(plan.warnings?.includes(w), w);
            const names = plan.resources
                .filter((r) => r.type === "aws:secretsmanager/secret:Secret")
                .map((r) => r.inputs.name);
            for (const s of FORM_SENDER_REQUIRED_SECRETS) assert.ok(names.includes(s.secretName("stg")), s.key);
            // Set with --secret: no warning.
            const set = await planStack("stg", {
                config: {
                    "ops-platform:formSenderSupabaseUrl": "https://abcdefghijklmnopqrst.supabase.co",
                    "ops-platform:formSenderSupabaseServiceRoleKey": "sb_secret_x",
                },
                secretKeys: ["ops-platform:formSenderSupabaseUrl", "ops-platform:formSenderSupabaseServiceRoleKey"],
            });
            assert.ok(!set.warnings?.some((w) => w.includes("formSenderSupabase")), JSON.stringify(set.warnings));
        });
    });

    describe("against the account", () => {
        it("passes values put outside Pulumi without reading them", async () => {
            const run = await preflight();
            for (const id of [URL_ID, KEY_ID]) {
                const c = run.check(id, "us-east-1");
                assert.equal(c.status, "PASS", c.message);
                assert.match(c.message, /is empty \(the Pulumi\.yaml default\).*value put outside Pulumi/);
            }
            assert.ok(!run.account.calls.includes("secretsmanager:GetSecretValue@us-east-1"));
        });

        it("fails a secret without a value, naming the key, the secret and the exact command", async () => {
            const run = await preflight({ account: withValue(SUPABASE_URL_ARN, undefined) });
            const c = run.check(URL_ID);
            assert.equal(c.status, "FAIL");
            assert.equal(
                c.message,
                `config formSenderSupabaseUrl is empty (the Pulumi.yaml default), so pulumi up writes no value to ` +
                    `${SUPABASE_URL_NAME}, and the secret has no value (no AWSCURRENT version): the form-sender API ` +
                    "answers 500 to every call",
            );
            assert.equal(c.fix, SET_URL);
            assert.equal(run.check(KEY_ID).status, "PASS");
            assert.equal(exitCodeOf(run.report), 1);
        });

        it("fails before the first pulumi up when the key is empty and the secret does not exist", async () => {
            const run = await preflight({ account: (a) => delete a.secrets[SUPABASE_KEY_ARN] });
            const c = run.check(KEY_ID);
            assert.equal(c.status, "FAIL");
            assert.match(
                c.message,
                new RegExp(`writes no value to ${SUPABASE_KEY_NAME}, and the secret does not exist`),
            );
            assert.equal(c.fix, SET_KEY);
        });

        it("with --check-secret-keys fails an http URL and a key with a newline, printing neither", async () => {
            const url = "http://abcdefghijklmnopqrst.supabase.co";
            const run = await preflight({
                checkSecretKeys: true,
                account: (a) => {
                    withValue(SUPABASE_URL_ARN, url)(a);
                    withValue(SUPABASE_KEY_ARN, `${SERVICE_ROLE_KEY}\n`)(a);
                },
            });
            const u = run.check(URL_ID);
            assert.equal(u.status, "FAIL");
            assert.match(u.message, /its value is set but is a http: URL, not https/);
            assert.equal(u.fix, SET_URL);
            const k = run.check(KEY_ID);
            assert.equal(k.status, "FAIL");
            assert.match(k.message, /leading or trailing whitespace/);
            assertNotPrinted(run, url, "abcdefghijklmnopqrst", SERVICE_ROLE_KEY);
        });

        it("with --check-secret-keys passes good values without printing them", async () => {
            const run = await preflight({ checkSecretKeys: true });
            assert.match(run.check(URL_ID).message, /its value is set: a https:\/\/<project-ref>\.supabase\.co URL$/);
            assert.match(run.check(KEY_ID).message, /and its value is set$/);
            assert.equal(run.check(KEY_ID).status, "PASS");
            assertNotPrinted(run, "abcdefghijklmnopqrst", SERVICE_ROLE_KEY);
        });

        it("reports a denied DescribeSecret as could-not-check, never PASS", async () => {
            const run = await preflight({ account: (a) => a.denied.push("secretsmanager:DescribeSecret") });
            assert.equal(run.check(URL_ID).status, "WARN");
            assert.match(run.check(URL_ID).message, /could not check \/fs-runner\/stg\/supabase\/url/);
        });

        it("passes keys the stack file sets (encrypted) without calling AWS", async () => {
            const clients = new Clients(() => Promise.reject(new Error("no AWS call expected")));
            try {
                const checks = await supabaseSecretChecks(clients, {
                    stack: "prd",
                    environment: "prd",
                    region: "us-east-1",
                    configured: { formSenderSupabaseUrl: true, formSenderSupabaseServiceRoleKey: true },
                    checkSecretKeys: true,
                });
                assert.deepEqual(
                    checks.map((c) => [c.id, c.status, c.message]),
                    [
                        [
                            URL_ID,
                            "PASS",
                            "config formSenderSupabaseUrl is set (encrypted in the stack file); pulumi up writes it " +
                                "to /fs-runner/prd/supabase/url",
                        ],
                        [
                            KEY_ID,
                            "PASS",
                            "config formSenderSupabaseServiceRoleKey is set (encrypted in the stack file); pulumi up " +
                                "writes it to /fs-runner/prd/supabase/key",
                        ],
                    ],
                );
            } finally {
                clients.destroy();
            }
        });
    });
});
