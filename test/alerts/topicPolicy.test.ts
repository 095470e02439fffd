/**
 * The alerts topics' access policy: CloudWatch alarms of this account may publish, nothing may publish without TLS.
 */
import { strict as assert } from "assert";
import { json, planFor } from "../harness";

interface TopicPolicyStatement {
    Sid: string;
    Effect: string;
    Principal: unknown;
    Action: string;
    Resource: string;
    Condition?: Record<string, Record<string, string>>;
}

describe("alerts topic policy", function () {
    this.timeout(120000);

    // Amazon SNS, "Example cases for Amazon SNS access control"
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html): a statement for a service principal
    // publishing to a topic carries `"Condition": {"StringEquals": {"AWS:SourceAccount": "<account>"}}`, or any
    // account's resources of that service could publish through it (confused deputy). The policy's only other
    // statement is a Deny, which needs no condition; the Slack notifier's lambda:InvokeFunction permission for
    // sns.amazonaws.com is the function's policy, scoped by the topic ARN (sourceArn), not a statement of this one.
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: lets only this account's CloudWatch alarms publish to each region's topic, over TLS`, async () => {
            const plan = await planFor(stack);
            const policies = plan.ofType("aws:sns/topicPolicy:TopicPolicy").filter((p) => p.name.startsWith("alerts-"));
            assert.ok(policies.length >= 2, `topic policies: ${policies.map((p) => p.name).join(", ")}`);
            for (const p of policies) {
                const region = p.name.replace(/^alerts-|-policy$/g, "");
                const topic = `arn:aws:sns:${region}:123456789012:ops-platform-${stack}-alerts-${region}`;
                const { arn, policy } = p.inputs as { arn: string; policy: string };
                assert.equal(arn, topic);
                assert.deepEqual(json<{ Version: string; Statement: TopicPolicyStatement[] }>(policy), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AllowCloudWatchAlarms",
                            Effect: "Allow",
                            Principal: { Service: "cloudwatch.amazonaws.com" },
                            Action: "sns:Publish",
                            Resource: topic,
                            Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
                        },
                        {
                            Sid: "DenyInsecureTransport",
                            Effect: "Deny",
                            Principal: "*",
                            Action: "sns:Publish",
                            Resource: topic,
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                });
            }
        });
    }
});
