/**
 * The weather service's stateful resources: protected in prd, and in stg free to be destroyed and created again at
 * once.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planFor } from "../harness";

/** The children that hold state: losing or replacing one loses images, the cache or the API keys. */
const STATEFUL: [string, string][] = [
    ["aws:ecr/repository:Repository", "weather-repo"],
    ["aws:efs/fileSystem:FileSystem", "weather-cache"],
    ["aws:efs/accessPoint:AccessPoint", "weather-cache-ap"],
    ["aws:secretsmanager/secret:Secret", "weather-api-keys"],
];

describe("weather stateful resources", function () {
    this.timeout(180000);

    // Pulumi resource option `protect` (https://www.pulumi.com/docs/iac/concepts/options/protect/): "A protected
    // resource cannot be deleted directly, and it will be an error to do a Pulumi deployment which tries to delete a
    // protected resource for any reason" (a replacement included).
    for (const [stack, protect] of [
        ["prd", true],
        ["stg", false],
    ] as const) {
        it(`${protect ? "protects" : "does not protect"} the ECR repository, EFS file system and access point and the API-keys secret in ${stack}`, async () => {
            // An existing app directory: the image is built, so the repository exists.
            const app = fs.mkdtempSync(path.join(os.tmpdir(), "weather-app-"));
            try {
                const plan = await planFor(stack, { config: { weatherAppPath: app } });
                for (const [type, name] of STATEFUL) {
                    assert.equal(plan.get(type, name).protect, protect, `${type} ${name}`);
                }
                // Nothing else of the component is protected: its other children are rebuilt from code.
                const others = plan.resources.filter(
                    (r) =>
                        r.parent?.includes("ops:weather:WeatherService::") &&
                        !STATEFUL.some(([type, name]) => r.type === type && r.name === name),
                );
                assert.ok(others.length > 40, `${others.length} other children`);
                assert.deepEqual(
                    others.filter((r) => r.protect).map((r) => `${r.type} ${r.name}`),
                    [],
                );
            } finally {
                fs.rmSync(app, { recursive: true, force: true });
            }
        });
    }

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
