/**
 * The form sender's stateful resources: protected in prd, and in stg free to be destroyed and created again at once.
 */
import { strict as assert } from "assert";
import { planFor } from "../harness";

/** The children that hold state or identity: losing or replacing one loses data or breaks GAS. */
const STATEFUL: [string, string][] = [
    ["aws:s3/bucket:Bucket", "form-sender-configs"],
    ["aws:ecr/repository:Repository", "form-sender-runner"],
    ["aws:secretsmanager/secret:Secret", "form-sender-supabase-url"],
    ["aws:secretsmanager/secret:Secret", "form-sender-supabase-key"],
    ["aws:secretsmanager/secret:Secret", "form-sender-supabase-runner-key"],
    ["aws:iam/user:User", "form-sender-gas"],
    ["aws:iam/accessKey:AccessKey", "form-sender-gas"],
];

describe("form-sender stateful resources", function () {
    this.timeout(180000);

    // Pulumi resource option `protect` (https://www.pulumi.com/docs/iac/concepts/options/protect/): "A protected
    // resource cannot be deleted directly, and it will be an error to do a Pulumi deployment which tries to delete a
    // protected resource for any reason" (a replacement included).
    for (const [stack, protect] of [
        ["prd", true],
        ["stg", false],
    ] as const) {
        it(`${protect ? "protects" : "does not protect"} the bucket, repository, Supabase secrets and GAS user and key in ${stack}`, async () => {
            const plan = await planFor(stack);
            const all = plan.resources;
            for (const [type, name] of STATEFUL) assert.equal(plan.get(type, name).protect, protect, `${type} ${name}`);
            // Nothing else of the component is protected: its other children are rebuilt from code.
            const others = all.filter(
                (r) =>
                    r.urn.includes("ops:formsender:FormSenderBatch$") &&
                    !STATEFUL.some(([type, name]) => r.type === type && r.name === name),
            );
            assert.ok(others.length > 50);
            assert.deepEqual(
                others.filter((r) => r.protect).map((r) => r.urn),
                [],
            );
        });
    }

    // Secrets Manager DeleteSecret (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html):
    // a deleted secret is only scheduled for deletion for RecoveryWindowInDays (7-30), and its name cannot be reused
    // until then; ForceDeleteWithoutRecovery deletes at once. The provider sends the latter for recoveryWindowInDays 0
    // (@pulumi/aws secretsmanager.Secret: "This value can be 0 to force deletion without recovery or range from 7 to
    // 30 days").
    for (const [stack, days] of [
        ["stg", 0],
        ["prd", 7],
    ] as const) {
        it(`gives the Supabase secrets a recovery window of ${days} days in ${stack}`, async () => {
            const plan = await planFor(stack);
            for (const name of ["form-sender-supabase-url", "form-sender-supabase-key"])
                assert.equal(
                    plan.inputs<{ recoveryWindowInDays: number }>("aws:secretsmanager/secret:Secret", name)
                        .recoveryWindowInDays,
                    days,
                    name,
                );
        });
    }
});
