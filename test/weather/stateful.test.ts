/**
 * The weather service's stateful resources: in stg free to be destroyed and created again at once.
 */
import { strict as assert } from "assert";
import { planFor } from "../harness";

describe("weather stateful resources", function () {
    this.timeout(180000);

    // Secrets Manager DeleteSecret (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html):
    // a deleted secret is scheduled for deletion for RecoveryWindowInDays (7-30) and its name cannot be reused until
    // then; ForceDeleteWithoutRecovery deletes it at once. @pulumi/aws secretsmanager.Secret recoveryWindowInDays:
    // "This value can be 0 to force deletion without recovery or range from 7 to 30 days"; the provider sends
    // ForceDeleteWithoutRecovery when it is 0 (hashicorp/terraform-provider-aws
    // internal/service/secretsmanager/secret.go, resourceSecretDelete).
    for (const [stack, days] of [
        ["stg", 0],
        ["prd", 30],
    ] as const) {
        it(`gives the API-keys secret a recovery window of ${days} days in ${stack}`, async () => {
            const plan = await planFor(stack);
            const secret = plan.inputs<{ name: string; recoveryWindowInDays: number }>(
                "aws:secretsmanager/secret:Secret",
                "weather-api-keys",
            );
            assert.equal(secret.name, `weather/${stack}/api-keys`);
            assert.equal(secret.recoveryWindowInDays, days);
        });
    }
});
