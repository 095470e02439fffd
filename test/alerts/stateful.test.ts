/**
 * The Slack webhook secret of the alerts notifier: protected in prd, and in stg free to be destroyed and created
 * again at once.
 */
import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import { Alerts } from "../../components/alerts";
import { Plan, runComponent } from "../harness";

const REGION = "ap-northeast-1";
const WEBHOOK = "https://hooks.slack.com/services/T0STATEFUL/B0STATEFUL/statefulWebhookToken42";

/** The Alerts component of `environment` with a Slack webhook, under the mock engine. */
function alertsWithSlack(environment: string): Promise<Plan> {
    return runComponent(() => {
        const provider = new aws.Provider(`aws-${REGION}`, { region: REGION });
        new Alerts(
            `alerts-${REGION}`,
            { email: "ops@example.com", region: REGION, environment, slackWebhookUrl: WEBHOOK },
            { providers: [provider] },
        );
    }, environment);
}

describe("alerts stateful resources", function () {
    this.timeout(120000);

    // Pulumi resource option `protect` (https://www.pulumi.com/docs/iac/concepts/options/protect/): "A protected
    // resource cannot be deleted directly, and it will be an error to do a Pulumi deployment which tries to delete a
    // protected resource for any reason". The webhook secret holds a credential created outside AWS.
    for (const [environment, protect] of [
        ["prd", true],
        ["stg", false],
    ] as const) {
        it(`${protect ? "protects" : "does not protect"} the Slack webhook secret in ${environment}, and nothing else`, async () => {
            const plan = await alertsWithSlack(environment);
            const secret = plan.get("aws:secretsmanager/secret:Secret", `alerts-${REGION}-slack-webhook`);
            assert.equal(secret.protect, protect);
            assert.ok(plan.resources.length > 10, `${plan.resources.length} resources`);
            assert.deepEqual(
                plan.resources.filter((r) => r.protect && r !== secret).map((r) => `${r.type} ${r.name}`),
                [],
            );
        });
    }

    // Secrets Manager DeleteSecret (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html):
    // a deleted secret keeps its name for RecoveryWindowInDays (7-30); ForceDeleteWithoutRecovery frees it at once.
    // @pulumi/aws secretsmanager.Secret recoveryWindowInDays: "This value can be 0 to force deletion without recovery
    // or range from 7 to 30 days"; the provider sends ForceDeleteWithoutRecovery for 0 (hashicorp/terraform-provider-aws
    // internal/service/secretsmanager/secret.go, resourceSecretDelete).
    for (const [environment, days] of [
        ["stg", 0],
        ["prd", 7],
    ] as const) {
        it(`gives the Slack webhook secret a recovery window of ${days} days in ${environment}`, async () => {
            const plan = await alertsWithSlack(environment);
            const secret = plan.inputs<{ name: string; recoveryWindowInDays: number }>(
                "aws:secretsmanager/secret:Secret",
                `alerts-${REGION}-slack-webhook`,
            );
            assert.equal(secret.name, `ops-platform/${environment}/alerts/slack-webhook-${REGION}`);
            assert.equal(secret.recoveryWindowInDays, days);
        });
    }
});
